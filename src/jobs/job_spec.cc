#include "jobs/job_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "common/files.h"
#include "jobs/bounded_yaml.h"
#include "jobs/distribution.h"
#include "jobs/yaml_json.h"

namespace gantry::jobs {
namespace {

using Names = std::span<const std::string_view>;

constexpr std::string_view kTopLevelFields[] = {"$schema",
                                                "type",
                                                "name",
                                                "display_name",
                                                "experiment_name",
                                                "description",
                                                "tags",
                                                "command",
                                                "code",
                                                "environment",
                                                "compute",
                                                "inputs",
                                                "outputs",
                                                "environment_variables",
                                                "limits",
                                                "resources",
                                                "distribution"};
constexpr std::string_view kLimitsFields[] = {"timeout"};
constexpr std::string_view kUriInputFields[] = {"type", "path", "mode"};
constexpr std::string_view kLiteralInputFields[] = {"type", "default", "value"};
constexpr std::string_view kOutputFields[] = {"type", "mode"};
constexpr std::string_view kAzureMlPrefix = "azureml:";
constexpr char kInputTypes[] = "uri_file, uri_folder, string, integer, number, boolean";

// --- Small text helpers -------------------------------------------------------------------

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The known name closest to `word`, when it is close enough to be a likely typo.
std::optional<std::string_view> Suggest(std::string_view word, Names known) {
  std::optional<std::string_view> best;
  size_t best_distance = 3;  // farther than two edits is a different word, not a typo
  for (std::string_view k : known) {
    size_t d = EditDistance(word, k);
    if (d < best_distance && d < word.size()) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

bool IsIdentifier(std::string_view s) {
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (s.empty() || !alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// --- YAML <-> JSON --------------------------------------------------------------------------

YAML::Node NodeFromJson(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    case Json::value_t::object: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, value] : j.items()) map[key] = NodeFromJson(value);
      return map;
    }
    case Json::value_t::array: {
      YAML::Node seq(YAML::NodeType::Sequence);
      for (const auto& value : j) seq.push_back(NodeFromJson(value));
      return seq;
    }
    case Json::value_t::string: {
      YAML::Node s(j.get<std::string>());
      s.SetTag("!");
      return s;
    }
    default:  // numbers and booleans, as JSON writes them
      return YAML::Node(j.dump());
  }
}

// --- The reader: one set of rules for YAML files and JSON bodies ----------------------------

// "job.yml:3:5", "job.yml" when the node has no position (built from JSON), "" for neither.
std::string Location(std::string_view label, const YAML::Mark& mark) {
  std::string where(label);
  if (!mark.is_null()) {
    where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  return where;
}

// One `key: value` entry of a mapping, with its dotted path for messages.
struct Field {
  const YAML::Node& key;
  const YAML::Node& value;
  std::string name;  // the key
  std::string path;  // e.g. "limits.timeout"
};

class SpecReader {
 public:
  // `label` prefixes messages (a file name); "" for JSON bodies.
  explicit SpecReader(std::string label) : label_(std::move(label)) {}

  Result<JobSpec> Read(const YAML::Node& root) const {
    if (!root.IsDefined() || root.IsNull()) {
      return Err(Error(root, "the job is empty; it needs at least a 'command'"));
    }
    if (!root.IsMap()) return Err(Error(root, "a job must be a mapping of fields"));
    JobSpec spec;
    std::optional<YAML::Mark> command_mark, distribution_mark;
    RETURN_IF_ERROR(ForEachField(root, "", kTopLevelFields, [&](const Field& f) -> Status {
      const std::string& n = f.name;
      if (n == "$schema") {
        RETURN_IF_ERROR(ReadString(f));
        return Status::Ok();
      }
      if (n == "type") {
        ASSIGN_OR_RETURN(std::string type, ReadString(f));
        if (type != "command") {
          return Error(f.key, "field 'type' must be 'command' (the only job type supported)");
        }
        return Status::Ok();
      }
      if (n == "name") return ReadString(f, &spec.name);
      if (n == "display_name") return ReadString(f, &spec.display_name);
      if (n == "experiment_name") return ReadString(f, &spec.experiment_name);
      if (n == "description") return ReadString(f, &spec.description);
      if (n == "code") return ReadString(f, &spec.code);
      if (n == "command") {
        command_mark = f.key.Mark();
        RETURN_IF_ERROR(ReadString(f, &spec.command));
        if (spec.command.empty()) return Error(f.key, "field 'command' must be a non-empty string");
        return Status::Ok();
      }
      if (n == "compute") {
        ASSIGN_OR_RETURN(std::string compute, ReadString(f));
        if (compute.starts_with(kAzureMlPrefix)) compute.erase(0, kAzureMlPrefix.size());
        if (!compute.empty()) spec.compute = std::move(compute);
        return Status::Ok();
      }
      if (n == "environment") return ReadEnvironment(f, &spec.environment);
      if (n == "inputs") return ReadInputs(f, &spec.inputs);
      if (n == "outputs") return ReadOutputs(f, &spec.outputs);
      if (n == "environment_variables") return ReadStringMap(f, &spec.environment_variables);
      if (n == "tags") return ReadStringMap(f, &spec.tags);
      if (n == "limits") return ReadLimits(f, &spec.timeout_seconds);
      if (n == "resources" || n == "distribution") {
        if (!distribution_mark || n == "distribution") distribution_mark = f.key.Mark();
        (n == "resources" ? spec.resources : spec.distribution) =
            YamlNodeToJson(f.value, YamlScalars::kTyped);
      }
      return Status::Ok();
    }));
    if (spec.command.empty()) return Err(Error(YAML::Node(), "field 'command' is required"));
    if (auto plan = PlanDistribution(spec.resources, spec.distribution); !plan.has_value()) {
      return Err(Error(*distribution_mark, plan.error().message()));
    }
    Status placeholders = ValidatePlaceholders(spec);
    if (!placeholders.ok()) return Err(Error(*command_mark, placeholders.message()));
    return spec;
  }

 private:
  Status Error(const YAML::Mark& mark, std::string message) const {
    std::string where = Location(label_, mark);
    return InvalidArgumentError(where.empty() ? std::move(message) : where + ": " + message);
  }
  Status Error(const YAML::Node& at, std::string message) const {
    return Error(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), std::move(message));
  }

  // Calls `fn` for each entry of the mapping `node` (found at `path`), after rejecting
  // duplicate keys and keys not in `known` (all keys are allowed when `known` is empty).
  Status ForEachField(const YAML::Node& node, const std::string& path, Names known,
                      const std::function<Status(const Field&)>& fn) const {
    const std::string prefix = path.empty() ? "" : path + ".";
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) return Error(kv.first, "keys in '" + path + "' must be strings");
      const std::string& name = kv.first.Scalar();
      if (!seen.insert(name).second) {
        return Error(kv.first, "duplicate field '" + prefix + name + "'");
      }
      if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
        std::string message = "unknown field '" + prefix + name + "'";
        if (auto s = Suggest(name, known)) {
          message += " (did you mean '" + prefix + std::string(*s) + "'?)";
        }
        return Error(kv.first, message);
      }
      RETURN_IF_ERROR(fn(Field{kv.first, kv.second, name, prefix + name}));
    }
    return Status::Ok();
  }

  Status RequireMap(const Field& f) const {
    if (f.value.IsMap()) return Status::Ok();
    return Error(f.key, "field '" + f.path + "' must be a mapping");
  }

  // A scalar as text; null (`key:` with nothing after it) reads as "".
  Result<std::string> ReadString(const Field& f) const {
    if (f.value.IsNull()) return "";
    if (!f.value.IsScalar()) return Err(Error(f.key, "field '" + f.path + "' must be a string"));
    return f.value.Scalar();
  }
  Status ReadString(const Field& f, std::string* out) const {
    ASSIGN_OR_RETURN(*out, ReadString(f));
    return Status::Ok();
  }

  Status ReadStringMap(const Field& f, std::map<std::string, std::string>* out) const {
    if (f.value.IsNull()) return Status::Ok();
    RETURN_IF_ERROR(RequireMap(f));
    return ForEachField(f.value, f.path, {}, [&](const Field& entry) -> Status {
      if (!entry.value.IsNull() && !entry.value.IsScalar()) {
        return Error(entry.key, "field '" + entry.path + "' must be a string, number or boolean");
      }
      (*out)[entry.name] = entry.value.IsNull() ? "" : entry.value.Scalar();
      return Status::Ok();
    });
  }

  Status ReadEnvironment(const Field& f, std::string* out) const {
    static constexpr char kExpected[] =
        "'environment' must be a string or a mapping with 'python' (an interpreter path)";
    if (!f.value.IsMap()) {
      if (f.value.IsSequence()) return Error(f.key, std::string("field ") + kExpected);
      return ReadString(f, out);
    }
    RETURN_IF_ERROR(ForEachField(f.value, f.path, {}, [&](const Field& entry) -> Status {
      if (entry.name != "python") {
        return Error(entry.key, "field '" + entry.path + "' is not supported: " + kExpected);
      }
      ASSIGN_OR_RETURN(std::string python, ReadString(entry));
      if (python.empty()) return Error(entry.key, "field '" + entry.path + "' must be a path");
      *out = "python:" + python;
      return Status::Ok();
    }));
    if (out->empty()) return Error(f.key, std::string("field ") + kExpected);
    return Status::Ok();
  }

  Status ReadLimits(const Field& f, int64_t* timeout) const {
    if (f.value.IsNull()) return Status::Ok();
    RETURN_IF_ERROR(RequireMap(f));
    return ForEachField(f.value, f.path, kLimitsFields, [&](const Field& entry) -> Status {
      std::optional<int64_t> v;
      if (entry.value.IsScalar()) v = YamlInt64(entry.value.Scalar());
      if (!v || *v <= 0) {
        return Error(entry.key, "field '" + entry.path + "' must be a positive integer");
      }
      *timeout = *v;
      return Status::Ok();
    });
  }

  Status ReadInputs(const Field& f, std::map<std::string, InputSpec>* out) const {
    if (f.value.IsNull()) return Status::Ok();
    RETURN_IF_ERROR(RequireMap(f));
    return ForEachField(f.value, f.path, {}, [&](const Field& entry) -> Status {
      RETURN_IF_ERROR(CheckName(entry, "input"));
      ASSIGN_OR_RETURN((*out)[entry.name], ReadInput(entry));
      return Status::Ok();
    });
  }

  Status CheckName(const Field& f, const std::string& what) const {
    if (IsIdentifier(f.name)) return Status::Ok();
    return Error(f.key, what + " name '" + f.name + "' must match [A-Za-z_][A-Za-z0-9_]*");
  }

  Result<InputSpec> ReadInput(const Field& f) const {
    InputSpec input;
    if (f.value.IsNull()) return Err(Error(f.key, "field '" + f.path + "' has no value"));
    if (f.value.IsScalar()) {
      input.literal = LiteralText(f.value);
      return input;
    }
    if (!f.value.IsMap()) {
      return Err(Error(f.key, "field '" + f.path + "' must be a value or a mapping with 'type'"));
    }
    // `type` decides which other fields are allowed, so find it first.
    std::string type = "uri_folder";  // Azure's default
    for (const auto& kv : f.value) {
      if (kv.first.Scalar() != "type") continue;
      if (!kv.second.IsScalar()) {
        return Err(Error(kv.first, "field '" + f.path + ".type' must be a string"));
      }
      type = kv.second.Scalar();
    }
    if (type == "uri_file" || type == "uri_folder") {
      input.kind = type == "uri_file" ? InputSpec::Kind::kUriFile : InputSpec::Kind::kUriFolder;
      RETURN_IF_ERROR(ForEachField(f.value, f.path, kUriInputFields, [&](const Field& e) -> Status {
        if (e.name == "path") return ReadString(e, &input.path);
        if (e.name == "mode") {
          RETURN_IF_ERROR(ReadString(e, &input.mode));
          if (input.mode != "ro_mount" && input.mode != "download") {
            return Error(e.key, "field '" + e.path + "' must be ro_mount or download");
          }
        }
        return Status::Ok();
      }));
      if (input.path.empty()) return Err(Error(f.key, "field '" + f.path + ".path' is required"));
      return input;
    }
    if (type != "string" && type != "integer" && type != "number" && type != "boolean") {
      return Err(Error(f.key, "field '" + f.path + ".type' must be one of " + kInputTypes +
                                  " (got '" + type + "')"));
    }
    std::optional<std::string> value;
    RETURN_IF_ERROR(
        ForEachField(f.value, f.path, kLiteralInputFields, [&](const Field& e) -> Status {
          if (e.name == "type") return Status::Ok();
          if (!e.value.IsScalar()) return Error(e.key, "field '" + e.path + "' must be a " + type);
          std::string text = LiteralText(e.value);
          bool valid = type == "string" || (type == "integer" && YamlInt64(text)) ||
                       (type == "number" && YamlDouble(text)) ||
                       (type == "boolean" && (text == "true" || text == "false"));
          if (!valid) {
            const char* article = type == "integer" ? "an " : "a ";
            return Error(e.key, "field '" + e.path + "' must be " + article + type);
          }
          if (e.name == "value" || !value) value = std::move(text);  // `value` wins over `default`
          return Status::Ok();
        }));
    if (!value) return Err(Error(f.key, "field '" + f.path + "' needs a 'default' or 'value'"));
    input.literal = std::move(*value);
    return input;
  }

  // A literal's text: as written, but an unquoted boolean is spelled "true"/"false".
  static std::string LiteralText(const YAML::Node& n) {
    if (IsPlainScalar(n)) {
      if (auto b = YamlBool(n.Scalar())) return *b ? "true" : "false";
    }
    return n.Scalar();
  }

  Status ReadOutputs(const Field& f, std::map<std::string, OutputSpec>* out) const {
    if (f.value.IsNull()) return Status::Ok();
    RETURN_IF_ERROR(RequireMap(f));
    return ForEachField(f.value, f.path, {}, [&](const Field& entry) -> Status {
      RETURN_IF_ERROR(CheckName(entry, "output"));
      OutputSpec output;
      if (!entry.value.IsNull()) {
        if (!entry.value.IsMap()) {
          return Error(entry.key, "field '" + entry.path + "' must be a mapping or empty");
        }
        RETURN_IF_ERROR(
            ForEachField(entry.value, entry.path, kOutputFields, [&](const Field& e) -> Status {
              if (e.name == "type") {
                RETURN_IF_ERROR(ReadString(e, &output.type));
                if (output.type != "uri_folder" && output.type != "uri_file") {
                  return Error(e.key, "field '" + e.path + "' must be uri_folder or uri_file");
                }
                return Status::Ok();
              }
              RETURN_IF_ERROR(ReadString(e, &output.mode));
              if (output.mode != "rw_mount" && output.mode != "upload") {
                return Error(e.key, "field '" + e.path + "' must be rw_mount or upload");
              }
              return Status::Ok();
            }));
      }
      (*out)[entry.name] = output;
      return Status::Ok();
    });
  }

  std::string label_;
};

// --- Placeholders ---------------------------------------------------------------------------

// Splits "inputs.lr" into {"inputs", "lr"}; nullopt for anything that is not
// inputs.NAME / outputs.NAME.
std::optional<std::pair<std::string_view, std::string_view>> SplitReference(std::string_view ref) {
  size_t dot = ref.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view ns = ref.substr(0, dot), name = ref.substr(dot + 1);
  if ((ns != "inputs" && ns != "outputs") || name.empty()) return std::nullopt;
  return std::pair{ns, name};
}

Status UnsupportedPlaceholder(std::string_view ref) {
  return InvalidArgumentError("command uses '${{" + std::string(ref) +
                              "}}'; only ${{inputs.NAME}} and ${{outputs.NAME}} are supported");
}

}  // namespace

Json JobSpec::ToJson() const {
  Json j = Json::object();
  auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("name", name);
  put("display_name", display_name);
  put("experiment_name", experiment_name);
  put("description", description);
  put("command", command);
  put("code", code);
  put("environment", environment);
  j["compute"] = compute;
  if (!inputs.empty()) {
    Json& in = j["inputs"] = Json::object();
    for (const auto& [input_name, input] : inputs) {
      if (input.kind == InputSpec::Kind::kLiteral) {
        in[input_name] = input.literal;
        continue;
      }
      Json& uri = in[input_name] = Json::object();
      uri["type"] = input.kind == InputSpec::Kind::kUriFile ? "uri_file" : "uri_folder";
      uri["path"] = input.path;
      if (!input.mode.empty()) uri["mode"] = input.mode;
    }
  }
  if (!outputs.empty()) {
    Json& out = j["outputs"] = Json::object();
    for (const auto& [output_name, output] : outputs) {
      out[output_name] = {{"type", output.type}};
      if (!output.mode.empty()) out[output_name]["mode"] = output.mode;
    }
  }
  if (!environment_variables.empty()) j["environment_variables"] = environment_variables;
  if (!tags.empty()) j["tags"] = tags;
  if (timeout_seconds > 0) j["limits"] = {{"timeout", timeout_seconds}};
  if (!resources.is_null()) j["resources"] = resources;
  if (!distribution.is_null()) j["distribution"] = distribution;
  return j;
}

Result<JobSpec> JobSpec::FromJson(const Json& json) {
  if (!json.is_object()) return Err(InvalidArgumentError("a job must be a JSON object"));
  try {
    return SpecReader("").Read(NodeFromJson(json));
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError("invalid job: " + e.msg));
  }
}

Result<JobSpec> ParseJobYaml(std::string_view text, std::string_view file_name) {
  const std::string label = file_name.empty() ? "<job>" : std::string(file_name);
  // yaml-cpp reports both syntax errors and misuse by throwing; none of it leaves this module.
  try {
    ASSIGN_OR_RETURN(YAML::Node root, LoadBoundedYaml(text, label));
    return SpecReader(label).Read(root);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(Location(label, e.mark) + ": invalid YAML: " + e.msg));
  }
}

bool IsAssetReference(std::string_view path) {
  return path.rfind("azureml:", 0) == 0 || path.rfind("gantry:", 0) == 0;
}

Result<JobSpec> LoadJobFile(const fs::path& file) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  const std::string label = file.string();
  ASSIGN_OR_RETURN(JobSpec spec, ParseJobYaml(text, label));
  std::error_code ec;
  const fs::path dir = fs::absolute(file, ec).parent_path();
  if (ec) return Err(InternalError("cannot resolve '" + label + "': " + ec.message()));
  RETURN_IF_ERROR(ResolveLocalPaths(spec, dir, label));
  return spec;
}

Status ResolveLocalPaths(JobSpec& spec, const fs::path& dir, const std::string& label) {
  std::error_code ec;
  auto resolve = [&](const std::string& written) {
    fs::path p = (dir / written).lexically_normal();  // `dir / absolute` is the absolute path
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // drop a trailing '/'
    return p;
  };
  if (!spec.code.empty()) {
    fs::path code = resolve(spec.code);
    fs::file_status st = fs::status(code, ec);
    if (!fs::is_directory(st)) {
      return InvalidArgumentError(label + ": code folder '" + code.string() + "' " +
                                  (fs::exists(st) ? "is not a folder" : "does not exist"));
    }
    spec.code = code.string();
  }
  for (auto& [name, input] : spec.inputs) {
    if (input.kind == InputSpec::Kind::kLiteral) continue;
    // Registered datasets are resolved by the server.
    if (IsAssetReference(input.path)) continue;
    fs::path path = resolve(input.path);
    fs::file_status st = fs::status(path, ec);
    std::string problem;
    if (!fs::exists(st)) {
      problem = "does not exist";
    } else if (input.kind == InputSpec::Kind::kUriFolder && !fs::is_directory(st)) {
      problem = "is not a folder (the input's type is uri_folder)";
    } else if (input.kind == InputSpec::Kind::kUriFile && fs::is_directory(st)) {
      problem = "is a folder (the input's type is uri_file)";
    }
    if (!problem.empty()) {
      return InvalidArgumentError(label + ": input '" + name + "' path '" + path.string() + "' " +
                                  problem);
    }
    input.path = path.string();
  }
  return Status::Ok();
}

std::vector<Placeholder> ScanPlaceholders(std::string_view command) {
  std::vector<Placeholder> found;
  size_t pos = 0;
  while (true) {
    size_t open = command.find("${{", pos);
    if (open == std::string_view::npos) break;
    size_t close = command.find("}}", open + 3);
    if (close == std::string_view::npos) break;
    found.push_back(
        {open, close + 2, std::string(Trim(command.substr(open + 3, close - open - 3)))});
    pos = close + 2;
  }
  return found;
}

std::vector<std::string> FindPlaceholders(std::string_view command) {
  std::vector<std::string> refs;
  for (Placeholder& p : ScanPlaceholders(command)) {
    if (std::find(refs.begin(), refs.end(), p.content) == refs.end()) {
      refs.push_back(std::move(p.content));
    }
  }
  return refs;
}

Status ValidatePlaceholders(const JobSpec& spec) {
  for (const std::string& ref : FindPlaceholders(spec.command)) {
    auto parts = SplitReference(ref);
    if (!parts) return UnsupportedPlaceholder(ref);
    auto [ns, name] = *parts;
    bool declared = ns == "inputs" ? spec.inputs.contains(std::string(name))
                                   : spec.outputs.contains(std::string(name));
    if (!declared) {
      return InvalidArgumentError("command uses '${{" + ref + "}}', but no " +
                                  (ns == "inputs" ? "input" : "output") + " '" + std::string(name) +
                                  "' is declared");
    }
  }
  return Status::Ok();
}

Result<std::string> SubstitutePlaceholders(std::string_view command,
                                           const std::map<std::string, std::string>& inputs,
                                           const std::map<std::string, std::string>& outputs) {
  std::string result;
  size_t pos = 0;
  for (const Placeholder& p : ScanPlaceholders(command)) {
    auto parts = SplitReference(p.content);
    if (!parts) return Err(UnsupportedPlaceholder(p.content));
    const auto& values = parts->first == "inputs" ? inputs : outputs;
    auto it = values.find(std::string(parts->second));
    if (it == values.end()) {
      return Err(InvalidArgumentError("no value for placeholder '${{" + p.content + "}}'"));
    }
    result.append(command.substr(pos, p.begin - pos));
    result.append(it->second);
    pos = p.end;
  }
  result.append(command.substr(pos));
  return result;
}

}  // namespace gantry::jobs
