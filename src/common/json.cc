#include "common/json.h"

namespace gantry {

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Re-parse with exceptions only on the error path to get the parser's position.
    try {
      Json ignored = Json::parse(text);
      (void)ignored;
    } catch (const Json::parse_error& e) {
      return Err(InvalidArgumentError("malformed JSON in " + std::string(what) + " at byte " +
                                      std::to_string(e.byte)));
    }
    return Err(InvalidArgumentError("malformed JSON in " + std::string(what)));
  }
  return j;
}

Result<std::string> GetString(const Json& obj, const char* field, std::string fallback) {
  if (!obj.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_string()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be a string"));
  }
  return it->get<std::string>();
}

Result<int64_t> GetInt(const Json& obj, const char* field, int64_t fallback) {
  if (!obj.is_object()) return Err(InvalidArgumentError("expected a JSON object"));
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be an integer"));
  }
  return it->get<int64_t>();
}

}  // namespace gantry
