#include "jobs/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <string>

#include "jobs/bounded_yaml.h"

namespace gantry::jobs {

std::optional<bool> YamlBool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> YamlInt64(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> YamlDouble(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // from_chars also takes "inf" and "nan", which YAML spells differently; require a digit.
  bool has_digit = std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!has_digit || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool IsPlainScalar(const YAML::Node& n) { return n.Tag() == "?" || n.Tag().empty(); }

Json YamlNodeToJson(const YAML::Node& n, YamlScalars scalars) {
  switch (n.Type()) {
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      for (const auto& item : n) array.push_back(YamlNodeToJson(item, scalars));
      return array;
    }
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (const auto& kv : n) object[kv.first.Scalar()] = YamlNodeToJson(kv.second, scalars);
      return object;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (!IsPlainScalar(n)) return s;
      if (auto b = YamlBool(s)) return *b;
      if (scalars == YamlScalars::kText) return s;
      if (s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
      if (auto i = YamlInt64(s)) return *i;
      if (auto d = YamlDouble(s)) return *d;
      return s;
    }
    default:
      return nullptr;
  }
}

Result<Json> YamlToJson(std::string_view text, std::string_view file_name, YamlScalars scalars) {
  // Bounded first: the conversion expands every alias it meets.
  ASSIGN_OR_RETURN(YAML::Node root, LoadBoundedYaml(text, file_name));
  try {
    return YamlNodeToJson(root, scalars);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(std::string(file_name) + ":" + std::to_string(e.mark.line + 1) +
                                    ":" + std::to_string(e.mark.column + 1) +
                                    ": invalid YAML: " + e.msg));
  }
}

}  // namespace gantry::jobs
