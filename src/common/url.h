// Percent-encoding of URL paths and query strings (RFC 3986), for the HTTP layer and for
// anything else that reads or writes URLs (file:// dataset sources). Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace gantry {

// Decodes %XX escapes (a malformed escape stays as it is); '+' is a space only when
// `plus_is_space` (query strings).
std::string UrlDecode(std::string_view in, bool plus_is_space);
// Escapes everything but letters, digits, '-', '_', '.', '~' and '/'.
std::string UrlEncode(std::string_view in);

}  // namespace gantry
