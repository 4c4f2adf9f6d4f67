#include "common/utf8.h"

namespace gantry {

std::optional<size_t> FirstInvalidUtf8Byte(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The sequence length and the range of its second byte (RFC 3629 section 4), which is
    // what excludes overlong forms, surrogates and code points above U+10FFFF.
    size_t length;
    unsigned char low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;  // a continuation byte out of place, or a byte UTF-8 never uses
    }
    for (size_t k = 1; k < length; ++k) {
      // A sequence cut short (by the end of the text or another character) is wrong from
      // its first byte.
      if (i + k >= n) return i;
      unsigned char b = s[i + k];
      unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
      if (b < lo || b > hi) return i;
    }
    i += length;
  }
  return std::nullopt;
}

}  // namespace gantry
