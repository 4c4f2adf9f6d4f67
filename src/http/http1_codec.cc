#include "http/http1_codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "http/epoll_http_server.h"

namespace gantry::http::epoll {

namespace {

// clang-format off
const char* Reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}
// clang-format on

void AppendNumber(std::string& out, uint64_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof(digits), n).ptr;
  out.append(digits, end);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool ContainsTokenIgnoreCase(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// RFC 9110 token characters (methods, header names).
bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

}  // namespace

size_t FindHeadEnd(std::string_view buf) {
  size_t pos = 0;
  while (true) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) return std::string_view::npos;
    if (nl + 1 < buf.size() && buf[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') return nl + 3;
    pos = nl + 1;
  }
}

int ParseHead(std::string_view block, Request& req, Head& head, std::string& error) {
  size_t pos = 0;
  auto next_line = [&](std::string_view& line) {
    size_t nl = block.find('\n', pos);
    if (nl == std::string_view::npos) nl = block.size();
    line = block.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
  };
  std::string_view line;
  next_line(line);
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    error = "malformed request line";
    return 400;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), IsTokenChar)) {
    error = "malformed method";
    return 400;
  }
  if (target.empty() || target.front() != '/' ||
      std::any_of(target.begin(), target.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    error = "the request target must be a path";
    return 400;
  }
  if (version == "HTTP/1.1") {
    head.http10 = false;
  } else if (version == "HTTP/1.0") {
    head.http10 = true;
  } else if (version.starts_with("HTTP/")) {
    error = "only HTTP/1.0 and HTTP/1.1 are served";
    return 505;
  } else {
    error = "malformed request line";
    return 400;
  }
  req.method.assign(method);
  head.head_method = method == "HEAD";
  ParseTarget(target, req);

  bool has_length = false, has_connection_close = false, has_connection_keep_alive = false;
  std::string transfer_encoding;
  int count = 0;
  while (pos < block.size()) {
    next_line(line);
    if (line.empty()) break;
    if (++count > kMaxHeaders) {
      error = "more than " + std::to_string(kMaxHeaders) + " header fields";
      return 431;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      error = "folded header lines are not accepted";
      return 400;
    }
    size_t colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        !std::all_of(line.begin(), line.begin() + static_cast<long>(colon), IsTokenChar)) {
      error = "malformed header field";
      return 400;
    }
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    // RFC 9110 5.5: no control characters but HTAB (a NUL or bare CR splits values
    // differently in different parsers, which request smuggling feeds on).
    if (std::any_of(value.begin(), value.end(), [](char ch) {
          auto u = static_cast<unsigned char>(ch);
          return (u < 0x20 && u != '\t') || u == 0x7f;
        })) {
      error = "malformed value of header field '" + name + "'";
      return 400;
    }
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);

    if (name == "content-length") {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
          (has_length && n != head.content_length)) {
        error = "malformed Content-Length";
        return 400;
      }
      has_length = true;
      head.content_length = n;
    } else if (name == "transfer-encoding") {
      transfer_encoding.assign(value);
    } else if (name == "connection") {
      has_connection_close |= ContainsTokenIgnoreCase(value, "close");
      has_connection_keep_alive |= ContainsTokenIgnoreCase(value, "keep-alive");
    } else if (name == "expect") {
      head.expect_continue = EqualsIgnoreCase(value, "100-continue");
    }
    auto [it, added] = req.headers.try_emplace(std::move(name), value);
    if (!added) {
      it->second += ", ";
      it->second += value;
    }
  }
  if (!transfer_encoding.empty()) {
    // Either framing alone is refused below; both at once is the classic smuggling request.
    if (has_length) {
      error = "conflicting Content-Length and Transfer-Encoding";
      return 400;
    }
    if (ContainsTokenIgnoreCase(transfer_encoding, "chunked")) {
      error = "chunked request bodies are not accepted; send Content-Length";
      return 411;
    }
    error = "unsupported Transfer-Encoding '" + transfer_encoding + "'";
    return 501;
  }
  head.keep_alive =
      head.http10 ? has_connection_keep_alive && !has_connection_close : !has_connection_close;
  return 0;
}

void AppendResponse(std::string& out, const Response& r, bool keep_alive, const Head& head) {
  out += "HTTP/1.1 ";
  AppendNumber(out, static_cast<uint64_t>(r.status));
  out += ' ';
  out += Reason(r.status);
  out += "\r\nServer: gantry\r\n";
  bool bodyless = r.status < 200 || r.status == 204 || r.status == 304;
  if (!bodyless) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\nContent-Length: ";
    AppendNumber(out, r.body.size());
    out += "\r\n";
  }
  for (const auto& [k, v] : r.headers) {
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (head.http10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!bodyless && !head.head_method) out += r.body;
}

}  // namespace gantry::http::epoll

namespace gantry::http {

// Declared in the public header for the fuzz target; defined here so that the fuzzer needs
// only the codec. Mirrors the head step of Loop::Process (epoll_loop.cc), without a connection.
RequestHeadParse ParseRequestHeadForFuzzing(std::string_view input, size_t max_header_bytes,
                                            Request& req) {
  RequestHeadParse out;
  size_t skipped = 0;
  while (skipped < input.size() && (input[skipped] == '\r' || input[skipped] == '\n')) ++skipped;
  std::string_view buf = input.substr(skipped);
  size_t end = epoll::FindHeadEnd(buf.substr(0, std::min(buf.size(), max_header_bytes + 3)));
  if (end == std::string_view::npos) {
    if (buf.size() > max_header_bytes) {
      out.status = 431;
      out.error = "the request line and headers are over the limit";
    }
    return out;
  }
  req = Request{};
  epoll::Head head;
  out.status = epoll::ParseHead(buf.substr(0, end), req, head, out.error);
  out.consumed = skipped + end;
  out.content_length = head.content_length;
  return out;
}

}  // namespace gantry::http
