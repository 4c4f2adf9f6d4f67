#include "jobs/bounded_yaml.h"

#include <cstdio>
#include <string>

#include "common/utf8.h"

namespace gantry::jobs {
namespace {

// Walks the document as a reader would see it (aliases expanded), stopping at the first
// limit. Its cost is bounded by kMaxYamlNodes visits whatever the document.
class ExpansionBudget {
 public:
  explicit ExpansionBudget(std::string_view file_name) : file_name_(file_name) {}

  Status Visit(const YAML::Node& node, size_t depth) {
    if (++visited_ > kMaxYamlNodes) {
      return Refuse(node, "YAML expands to more than " + std::to_string(kMaxYamlNodes) +
                              " nodes with its aliases expanded");
    }
    if (node.IsScalar()) return CheckScalar(node);
    if (!node.IsMap() && !node.IsSequence()) return Status::Ok();
    if (depth + 1 > kMaxYamlDepth) {
      return Refuse(node, "YAML nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
    }
    if (node.IsSequence()) {
      for (const auto& item : node) RETURN_IF_ERROR(Visit(item, depth + 1));
      return Status::Ok();
    }
    for (const auto& kv : node) {
      RETURN_IF_ERROR(Visit(kv.first, depth + 1));
      RETURN_IF_ERROR(Visit(kv.second, depth + 1));
    }
    return Status::Ok();
  }

 private:
  // The file is UTF-8 (LoadBoundedYaml checks it first), but yaml-cpp turns the double-quoted
  // escapes \N and \_ into the single bytes 0x85 and 0xa0 rather than their UTF-8 forms, and
  // a string that is not UTF-8 cannot be stored, sent as JSON or shown.
  Status CheckScalar(const YAML::Node& node) const {
    const std::string& value = node.Scalar();
    auto bad = FirstInvalidUtf8Byte(value);
    if (!bad) return Status::Ok();
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned char>(value[*bad]));
    return Refuse(node, std::string("a quoted string decodes to byte ") + byte +
                            ", which is not UTF-8 (YAML's \\N and \\_ escapes do that; write "
                            "\\u0085 or \\u00a0 instead)");
  }

  Status Refuse(const YAML::Node& at, const std::string& message) const {
    std::string where(file_name_);
    const YAML::Mark mark = at.Mark();
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    return InvalidArgumentError(where + ": " + message);
  }

  std::string_view file_name_;
  size_t visited_ = 0;
};

}  // namespace

Result<YAML::Node> LoadBoundedYaml(std::string_view text, std::string_view file_name) {
  if (auto bad = FirstInvalidUtf8Byte(text)) {
    char byte[8];
    std::snprintf(byte, sizeof(byte), "0x%02x", static_cast<unsigned char>(text[*bad]));
    return Err(InvalidArgumentError(std::string(file_name) + ": not UTF-8: byte " + byte +
                                    " at offset " + std::to_string(*bad) +
                                    " (save the file as UTF-8)"));
  }
  YAML::Node root;
  // yaml-cpp reports syntax errors by throwing; none of it leaves this module.
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    std::string where(file_name);
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return Err(InvalidArgumentError(where + ": invalid YAML: " + e.msg));
  }
  RETURN_IF_ERROR(ExpansionBudget(file_name).Visit(root, 0));
  return root;
}

}  // namespace gantry::jobs
