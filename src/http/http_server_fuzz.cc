// libFuzzer target for the request parsing of HttpServer (http_server.cc): Boost.Beast's
// request_parser with the same limits, then the same conversion into a Request (target
// decoding, header names), over pipelined requests. Any bytes end in a parsed request or a
// parse error, never a crash.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "http/http_types.h"

namespace {

namespace bhttp = boost::beast::http;

constexpr size_t kHeaderLimit = 64 * 1024;  // as HttpServer::State::Serve
constexpr uint64_t kBodyLimit = 16u << 20;  // HttpServer's default body limit

void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "http_server_fuzz: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  size_t offset = 0;
  for (int n = 0; n < 8 && offset < size; ++n) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    boost::beast::error_code ec;
    bool limit_set = false;
    while (!parser.is_done()) {
      size_t used = parser.put(boost::asio::buffer(p + offset, size - offset), ec);
      Require(used <= size - offset, "parser used more bytes than it was given");
      offset += used;
      if (ec) return 0;  // a malformed request, or one that never fully arrives
      if (parser.is_header_done() && !limit_set) {
        limit_set = true;
        gantry::http::Request req;
        const auto& head = parser.get();
        req.method = std::string(head.method_string());
        gantry::http::ParseTarget(std::string_view(head.target().data(), head.target().size()),
                                  req);
        if (parser.content_length() && *parser.content_length() > kBodyLimit) return 0;  // 413
        parser.body_limit(kBodyLimit);
      }
      if (used == 0 && !parser.is_done()) return 0;
    }
    auto msg = parser.release();
    gantry::http::Request req;
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(field.value());
    }
    req.body = std::move(msg.body());
    (void)req.BearerToken();
  }
  return 0;
}
