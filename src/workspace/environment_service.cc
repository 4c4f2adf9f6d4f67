#include "workspace/environment_service.h"

#include <algorithm>

#include "common/hashing.h"
#include "common/names.h"
#include "jobs/yaml_json.h"

namespace gantry::workspace {

using store::EnvironmentRecord;

namespace {
EnvironmentRecord Curated(const std::string& name, const std::string& description, Json spec) {
  Json normalized = *EnvironmentService::NormalizeSpec(spec);
  return EnvironmentRecord{
      name, 1, description, normalized, EnvironmentService::SpecHash(normalized), 0};
}

bool StartsWithNoCase(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), s.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

// TensorFlow from the package index, with tf-keras so that TF_USE_LEGACY_KERAS=1 makes
// tf.keras Keras 2.
Json TensorFlowSpec() {
  const std::string v = kTensorFlowVersion;
  return {{"python", {{"interpreter_path", "/usr/bin/python3"}}},
          {"pip", {"tensorflow-cpu==" + v, "tf-keras==" + v}},
          {"requires_modules", {"tensorflow"}}};
}
}  // namespace

const std::vector<EnvironmentRecord>& CuratedEnvironments() {
  static const std::vector<EnvironmentRecord> kCurated = {
      Curated("Gantry-Python3", "The machine's python3, with its installed packages.",
              {{"python", {{"interpreter_path", "python3"}, {"user_managed_dependencies", true}}}}),
      Curated("Gantry-PyTorch-Debian",
              "Debian's PyTorch: /usr/bin/python3 with python3-torch and python3-numpy "
              "(apt-get install python3-torch).",
              {{"python",
                {{"interpreter_path", "/usr/bin/python3"}, {"user_managed_dependencies", true}}},
               {"requires_modules", {"torch", "numpy"}},
               {"environment_variables", {{"OMP_NUM_THREADS", "1"}}}}),
      Curated(CuratedTensorFlowEnvironment(),
              std::string("TensorFlow ") + kTensorFlowVersion +
                  " (tensorflow-cpu and tf-keras from the package index) in a venv of "
                  "/usr/bin/python3; built on a node's first use, then reused. tf.keras is "
                  "Keras 3; set TF_USE_LEGACY_KERAS=1 for Keras 2.",
              TensorFlowSpec()),
  };
  return kCurated;
}

namespace {
std::string Lowered(const std::string& s) {
  std::string out = s;
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "1.13" of "1.13-gpu", "2.11" of "2.11-cuda11"; "" when the name has no version there.
std::string LeadingVersion(const std::string& s) {
  size_t end = s.find_first_not_of("0123456789.");
  std::string v = s.substr(0, end);
  while (!v.empty() && v.back() == '.') v.pop_back();
  return v;
}

const EnvironmentRecord* CuratedNamed(const std::string& name) {
  for (const auto& c : CuratedEnvironments()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}
}  // namespace

std::optional<StandIn> StandInFor(const std::string& azure_name) {
  const std::string n = Lowered(azure_name);
  const std::string tf_major_minor = std::string(kTensorFlowVersion).substr(0, 4);
  for (const std::string prefix : {"azureml-tensorflow-", "azureml-acpt-tensorflow-"}) {
    if (n.rfind(prefix, 0) != 0) continue;
    std::string asked = LeadingVersion(n.substr(prefix.size()));
    std::string why;
    if (asked.empty()) {
      why = "this server builds one TensorFlow";
    } else if (asked.rfind("1.", 0) == 0 ||
               (asked.rfind("2.", 0) == 0 && std::atoi(asked.c_str() + 2) < 12)) {
      why = "TensorFlow " + asked + " does not install on Python 3.11 or later";
    } else {
      why = "this server builds one TensorFlow, " + tf_major_minor;
    }
    return StandIn{"Gantry-TensorFlow-" + tf_major_minor + "-CPU",
                   azure_name + ": " + why + "; TensorFlow " + kTensorFlowVersion +
                       " (CPU build) stands in, with Keras 2 as tf.keras as in Azure's "
                       "TensorFlow 2.x environments (TF_USE_LEGACY_KERAS=1)"};
  }
  for (const std::string prefix : {"azureml-pytorch-", "azureml-acpt-pytorch-"}) {
    if (n.rfind(prefix, 0) != 0) continue;
    return StandIn{"Gantry-PyTorch-Debian",
                   azure_name +
                       ": this server builds no PyTorch of its own; Debian's "
                       "(python3-torch) stands in"};
  }
  if (n == "azureml-minimal" || n == "azureml-tutorial" || n.rfind("azureml-sklearn", 0) == 0) {
    return StandIn{"Gantry-Python3",
                   azure_name + ": the machine's python3 with its installed packages stands in"};
  }
  return std::nullopt;
}

EnvironmentService::EnvironmentService(store::MetadataStore* store, Clock* clock)
    : store_(store), clock_(clock) {}

bool EnvironmentService::IsReservedName(const std::string& name) {
  return StartsWithNoCase(name, "AzureML-") || StartsWithNoCase(name, "Gantry-");
}

Result<Json> EnvironmentService::NormalizeSpec(const Json& spec) {
  if (!spec.is_object()) return Err(InvalidArgumentError("an environment spec must be an object"));
  static const std::vector<std::string> kKnown = {"python", "pip", "docker",
                                                  "environment_variables", "requires_modules"};
  Json out = Json::object();
  for (const auto& [key, value] : spec.items()) {
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end()) {
      return Err(InvalidArgumentError("unknown environment field '" + key + "'"));
    }
    if (value.is_null()) continue;
    out[key] = value;
  }
  if (out.contains("python") && out["python"].is_object() &&
      out["python"].contains("conda_dependencies") &&
      out["python"]["conda_dependencies"].is_string()) {
    // The SDK sends a conda file as it was written; the server parses it once, here.
    ASSIGN_OR_RETURN(out["python"]["conda_dependencies"],
                     jobs::YamlToJson(out["python"]["conda_dependencies"].get<std::string>(),
                                      "conda_dependencies"));
  }
  if (out.contains("python")) {
    const Json& p = out["python"];
    if (!p.is_object()) return Err(InvalidArgumentError("field 'python' must be an object"));
    for (const auto& [key, value] : p.items()) {
      if (key == "interpreter_path" && !value.is_string()) {
        return Err(InvalidArgumentError("field 'python.interpreter_path' must be a string"));
      } else if (key == "user_managed_dependencies" && !value.is_boolean()) {
        return Err(
            InvalidArgumentError("field 'python.user_managed_dependencies' must be true or false"));
      } else if (key == "conda_dependencies" && !value.is_object() && !value.is_null()) {
        return Err(InvalidArgumentError("field 'python.conda_dependencies' must be an object"));
      } else if (key != "interpreter_path" && key != "user_managed_dependencies" &&
                 key != "conda_dependencies") {
        return Err(InvalidArgumentError("unknown environment field 'python." + key + "'"));
      }
    }
  }
  for (const char* list : {"pip", "requires_modules"}) {
    if (!out.contains(list)) continue;
    if (!out[list].is_array())
      return Err(InvalidArgumentError(std::string("field '") + list + "' must be a list"));
    for (const auto& v : out[list]) {
      if (!v.is_string())
        return Err(InvalidArgumentError(std::string("field '") + list + "' must hold strings"));
    }
  }
  if (out.contains("docker") && !out["docker"].is_object()) {
    return Err(InvalidArgumentError("field 'docker' must be an object"));
  }
  if (out.contains("environment_variables")) {
    if (!out["environment_variables"].is_object()) {
      return Err(InvalidArgumentError("field 'environment_variables' must be an object"));
    }
    for (auto& [k, v] : out["environment_variables"].items()) {
      if (!v.is_string()) v = v.dump();
    }
  }
  return out;
}

std::string EnvironmentService::SpecHash(const Json& normalized_spec) {
  // nlohmann::json objects are ordered by key, so dump() is canonical.
  return Sha256Hex(normalized_spec.dump());
}

Result<EnvironmentRecord> EnvironmentService::Register(const std::string& name, const Json& spec,
                                                       const std::string& description) {
  RETURN_IF_ERROR(ValidateName("environment name", name));
  if (IsReservedName(name)) {
    return Err(
        PermissionDeniedError("environment names starting with 'AzureML-' or 'Gantry-' "
                              "are reserved for curated environments; clone it under a "
                              "new name"));
  }
  ASSIGN_OR_RETURN(Json normalized, NormalizeSpec(spec));
  std::string hash = SpecHash(normalized);
  std::lock_guard<std::mutex> lock(register_mu_);
  auto latest = store_->environments().GetEnvironment(name, 0);
  if (latest.has_value() && latest->hash == hash) return *latest;
  EnvironmentRecord e{name, 0, description, normalized, hash, clock_->NowMillis()};
  RETURN_IF_ERROR(store_->environments().CreateEnvironment(e));
  return e;
}

Result<EnvironmentRecord> EnvironmentService::Get(const std::string& name, int64_t version) {
  const EnvironmentRecord* curated = CuratedNamed(name);
  std::optional<StandIn> stand_in = curated ? std::nullopt : StandInFor(name);
  if (stand_in) curated = CuratedNamed(stand_in->environment);
  if (curated) {
    if (version > 1) {
      return Err(NotFoundError("curated environment '" + name + "' has only version 1"));
    }
    if (!stand_in) return *curated;
    // The Azure name, with the stand-in's spec (TensorFlow's with Keras 2 as tf.keras).
    Json spec = curated->spec;
    if (stand_in->environment.rfind("Gantry-TensorFlow-", 0) == 0) {
      spec["environment_variables"]["TF_USE_LEGACY_KERAS"] = "1";
    }
    return Curated(name, stand_in->reason, spec);
  }
  auto e = store_->environments().GetEnvironment(name, version);
  if (!e.has_value() && e.error().code() == StatusCode::kNotFound && IsReservedName(name)) {
    std::string names;
    for (const auto& c : CuratedEnvironments()) names += (names.empty() ? "" : ", ") + c.name;
    return Err(
        NotFoundError("no curated environment named '" + name + "'; this server ships: " + names));
  }
  return e;
}

Result<std::vector<EnvironmentRecord>> EnvironmentService::List() {
  std::vector<EnvironmentRecord> out = CuratedEnvironments();
  ASSIGN_OR_RETURN(auto registered, store_->environments().ListEnvironments());
  out.insert(out.end(), registered.begin(), registered.end());
  return out;
}

Result<EnvironmentRecord> EnvironmentService::Resolve(const std::string& reference) {
  std::string rest = reference;
  for (const std::string prefix : {"azureml:", "gantry:"}) {
    if (reference.rfind(prefix, 0) == 0) rest = reference.substr(prefix.size());
  }
  int64_t version = 0;
  std::string name = rest;
  if (auto at = rest.rfind("@latest"); at != std::string::npos && at + 7 == rest.size()) {
    name = rest.substr(0, at);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    name = rest.substr(0, colon);
    try {
      size_t used = 0;
      version = std::stoll(rest.substr(colon + 1), &used);
      if (used != rest.size() - colon - 1 || version <= 0) throw std::invalid_argument(rest);
    } catch (const std::exception&) {
      return Err(
          InvalidArgumentError("environment reference '" + reference + "' has an invalid version"));
    }
  }
  return Get(name, version);
}

}  // namespace gantry::workspace
