#include "common/json.h"

#include <cmath>
#include <limits>
#include <vector>

namespace gantry {
namespace {

// Replays a document that failed to parse, to say where it failed: the byte, and for a number
// too large for a double (`1e400`, which the parser refuses) the field that holds it, as
// "metrics[0].value". Only runs on the error path. Thread-compatible.
class ErrorLocator : public nlohmann::json_sax<Json> {
 public:
  bool null() override { return Value(); }
  bool boolean(bool) override { return Value(); }
  bool number_integer(number_integer_t) override { return Value(); }
  bool number_unsigned(number_unsigned_t) override { return Value(); }
  bool number_float(number_float_t, const string_t&) override { return Value(); }
  bool string(string_t&) override { return Value(); }
  bool binary(binary_t&) override { return Value(); }
  bool start_object(std::size_t) override {
    Value();
    frames_.push_back(Frame{});
    return true;
  }
  bool key(string_t& k) override {
    frames_.back().key = k;
    return true;
  }
  bool end_object() override {
    frames_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    Value();
    frames_.push_back(Frame{.array = true});
    return true;
  }
  bool end_array() override {
    frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    position_ = position;
    out_of_range_ = dynamic_cast<const nlohmann::detail::out_of_range*>(&ex) != nullptr;
    return false;
  }

  std::string Message(std::string_view what) const {
    if (out_of_range_) {
      return "number out of range in " + std::string(what) + " at " + Path() +
             " (larger than a double can hold)";
    }
    return "malformed JSON in " + std::string(what) + " at byte " + std::to_string(position_);
  }

 private:
  struct Frame {
    bool array = false;
    size_t started = 0;  // array elements begun so far
    std::string key;     // the object's current key
  };

  bool Value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().started;
    return true;
  }

  // The failing value is the innermost frame's next element; outer frames are inside the
  // element they began last.
  std::string Path() const {
    std::string path;
    for (size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.array) {
        size_t index = i + 1 == frames_.size() ? f.started : f.started - 1;
        path += "[" + std::to_string(index) + "]";
      } else {
        path += (path.empty() ? "" : ".") + f.key;
      }
    }
    return path.empty() ? "the top level" : path;
  }

  std::vector<Frame> frames_;  // at most kMaxJsonDepth, checked before parsing
  size_t position_ = 0;
  bool out_of_range_ = false;
};

}  // namespace

std::string JsonDepthMessage() {
  return "JSON nesting deeper than " + std::to_string(kMaxJsonDepth) + " levels";
}

Status CheckJsonDepth(std::string_view text, std::string_view what) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth) {
          return InvalidArgumentError(JsonDepthMessage() + " in " + std::string(what) +
                                      " at byte " + std::to_string(i));
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  RETURN_IF_ERROR(CheckJsonDepth(text, what));
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  // Not a re-parse with exceptions: a number overflow throws out_of_range, not parse_error.
  ErrorLocator locator;
  (void)Json::sax_parse(text, &locator);
  return Err(InvalidArgumentError(locator.Message(what)));
}

Result<int64_t> IntFromJson(const Json& value, std::string_view field) {
  constexpr auto kMax = std::numeric_limits<int64_t>::max();
  if (value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(kMax)) {
    return Err(InvalidArgumentError("field '" + std::string(field) +
                                    "' is out of range for a 64-bit integer"));
  }
  if (value.is_number_float()) {
    // The parser reads an integer literal beyond 64 bits as a double: say so rather than
    // "not an integer".
    double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) >= 0x1p63) {
      return Err(InvalidArgumentError("field '" + std::string(field) +
                                      "' is out of range for a 64-bit integer"));
    }
  }
  if (!value.is_number_integer()) {
    return Err(InvalidArgumentError("field '" + std::string(field) + "' must be an integer"));
  }
  return value.get<int64_t>();
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
  return IntFromJson(*it, field);
}

}  // namespace gantry
