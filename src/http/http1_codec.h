// The epoll server's HTTP/1.1 wire format, as pure functions over bytes: finding and parsing a
// request's header block (with its limits and framing rules) and writing a response. No sockets
// and no state, so each rule is unit-tested with hand-written requests (http1_codec_test.cc)
// and fuzzed (epoll_http_server_fuzz.cc); epoll_loop.cc calls them for each connection.
//
// Internal to src/http: only the epoll server's own files include it.
// Thread-safe: functions of their arguments only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/http_types.h"

namespace gantry::http::epoll {

// More header fields than this in one request → 431.
constexpr int kMaxHeaders = 128;

// What the head of one request says about framing and the connection.
struct Head {
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool http10 = false;
  bool expect_continue = false;
  bool head_method = false;
};

// Where the header block ending in an empty line ends (just past it), or npos when it has
// not fully arrived. Lines end in CRLF; a bare LF is tolerated.
size_t FindHeadEnd(std::string_view buf);

// Parses a complete header block (request line, headers, empty line) into `req` and `head`.
// Returns 0, or on a malformed request the HTTP status to answer with (400, 411, 431, 501,
// 505) with a message in `error`.
int ParseHead(std::string_view block, Request& req, Head& head, std::string& error);

// Appends the HTTP/1.1 response `r` to `out`: status line, Content-Type and Content-Length
// (not for 1xx, 204, 304), r's headers, "Connection: close" unless `keep_alive` (or
// "Connection: keep-alive" to an HTTP/1.0 client), then the body unless the request was HEAD.
void AppendResponse(std::string& out, const Response& r, bool keep_alive, const Head& head);

}  // namespace gantry::http::epoll
