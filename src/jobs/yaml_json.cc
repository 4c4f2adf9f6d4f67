#include "jobs/yaml_json.h"

#include <yaml-cpp/yaml.h>

#include "jobs/bounded_yaml.h"

namespace gantry::jobs {
namespace {
Json Convert(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = Convert(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(Convert(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = node.Scalar();
      if (node.Tag() == "!") return s;  // quoted: always a string
      if (s == "true" || s == "True") return true;
      if (s == "false" || s == "False") return false;
      return s;
    }
    default:
      return nullptr;
  }
}
}  // namespace

Result<Json> YamlToJson(std::string_view text, std::string_view file_name) {
  // Bounded first: Convert expands every alias it meets.
  ASSIGN_OR_RETURN(YAML::Node root, LoadBoundedYaml(text, file_name));
  try {
    return Convert(root);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(std::string(file_name) + ":" + std::to_string(e.mark.line + 1) +
                                    ":" + std::to_string(e.mark.column + 1) +
                                    ": invalid YAML: " + e.msg));
  }
}

}  // namespace gantry::jobs
