// libFuzzer target for the job-YAML reader and the YAML → JSON converter (conda and
// deployment files): any text is a spec or InvalidArgument, never an exception, a crash or an
// unbounded expansion; a spec read from YAML survives the trip through JSON the server makes.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "jobs/job_spec.h"
#include "jobs/yaml_json.h"

namespace {
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "job_spec_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = gantry::jobs::YamlToJson(text, "conda.yml");
  if (!json.has_value()) {
    Require(json.error().code() == gantry::StatusCode::kInvalidArgument, "YamlToJson: bad code");
  }
  auto spec = gantry::jobs::ParseJobYaml(text, "job.yml");
  if (!spec.has_value()) {
    Require(spec.error().code() == gantry::StatusCode::kInvalidArgument, "ParseJobYaml: bad code");
    return 0;
  }
  auto back = gantry::jobs::JobSpec::FromJson(spec->ToJson());
  Require(back.has_value(), "FromJson(ToJson(spec)) refuses a spec the YAML reader accepted");
  Require(back->ToJson() == spec->ToJson(), "FromJson(ToJson(spec)) differs from spec");
  return 0;
}
