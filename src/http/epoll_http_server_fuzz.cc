// libFuzzer target for EpollHttpServer's hand-written request parser (through
// ParseRequestHeadForFuzzing, the server's own head step), over pipelined requests: any bytes
// end in requests, an incomplete head, or a 4xx/5xx status, never a crash.
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "http/epoll_http_server.h"

namespace {
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "epoll_http_server_fuzz: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  // A small header limit too, so that inputs of fuzzing size reach the 431 path.
  for (size_t max_header_bytes : {size_t{64} * 1024, size_t{200}}) {
    std::string_view input = rest;
    while (!input.empty()) {
      gantry::http::Request req;
      auto head = gantry::http::ParseRequestHeadForFuzzing(input, max_header_bytes, req);
      if (head.status != 0) {
        Require(head.status >= 400 && head.status < 600, "status is not an error status");
        Require(!head.error.empty(), "a refusal without a message");
        break;
      }
      if (head.consumed == 0) break;  // waits for more bytes
      Require(head.consumed <= input.size(), "consumed more than the input");
      Require(!req.method.empty(), "a parsed request without a method");
      input.remove_prefix(head.consumed);
      if (head.content_length > input.size()) break;  // the body has not arrived
      input.remove_prefix(head.content_length);
      (void)req.BearerToken();
    }
  }
  return 0;
}
