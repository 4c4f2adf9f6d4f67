// libFuzzer target for the model server's simdjson fast paths: any body gives numbers with a
// consistent shape, NotFound, or InvalidArgument, never a crash or a deep recursion; as an
// Open Inference v2 request, inputs whose values fill their shapes, or NotFound.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "serving/fast_json.h"

namespace {
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fast_json_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (std::string_view field : {"", "data", "instances"}) {
    auto rows = gantry::serving::ParseNumberArray(body, field);
    if (!rows.has_value()) {
      auto code = rows.error().code();
      Require(code == gantry::StatusCode::kInvalidArgument || code == gantry::StatusCode::kNotFound,
              "unexpected error code");
      continue;
    }
    size_t count = 1;
    for (int64_t d : rows->shape) count *= static_cast<size_t>(d);
    Require(count == rows->data.size(), "shape does not match the number of values");
  }
  auto v2 = gantry::serving::ParseV2Request(body);
  if (!v2.has_value()) {
    Require(v2.error().code() == gantry::StatusCode::kNotFound, "v2: unexpected error code");
  } else {
    Require(!v2->inputs.empty(), "v2: a request without inputs");
    for (const auto& in : v2->inputs) {
      size_t count = 1;
      for (int64_t d : in.shape) {
        Require(d >= 0, "v2: a negative dimension");
        count *= static_cast<size_t>(d);
      }
      Require(count == in.data.size(), "v2: shape does not match the number of values");
    }
  }
  return 0;
}
