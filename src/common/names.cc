#include "common/names.h"

#include <string>

namespace gantry {
namespace {

bool IsAsciiAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// For the error message: a hostile name may be long or hold control bytes.
std::string Quoted(std::string_view name) {
  constexpr size_t kShown = 64;
  std::string out;
  for (char c : name.substr(0, kShown)) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += {'\\', 'x', kHex[b >> 4], kHex[b & 15]};
    } else {
      out += c;
    }
  }
  if (name.size() > kShown) out += "... (" + std::to_string(name.size()) + " characters)";
  return "'" + out + "'";
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || !IsAsciiAlnum(name.front())) return false;
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

Status ValidateName(std::string_view field, std::string_view name) {
  if (IsValidName(name)) return Status::Ok();
  std::string why = name.empty()                   ? "it is empty"
                    : name.size() > kMaxNameLength ? "it is longer than 255 characters"
                                                   : "use letters, digits, '-', '_' and '.', "
                                                     "starting with a letter or digit";
  return InvalidArgumentError(std::string(field) + " " + Quoted(name) + " is invalid: " + why);
}

}  // namespace gantry
