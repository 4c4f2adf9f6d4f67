// UTF-8 validation for text files users hand to Gantry (job and environment YAML), so that a
// file in another encoding is refused with the byte where it goes wrong instead of being
// misread (yaml-cpp takes 0xff 0xfe for a UTF-16 byte order mark). Thread-safe: pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace gantry {

// The offset of the first byte of `text` that does not belong to well-formed UTF-8 (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF, no truncated sequence); nullopt
// when all of `text` is UTF-8.
std::optional<size_t> FirstInvalidUtf8Byte(std::string_view text);

}  // namespace gantry
