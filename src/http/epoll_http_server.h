// EpollHttpServer: an event-driven HTTP/1.1 server for high request rates of small requests
// (the model server's). A few loop threads each own a set of connections and multiplex them
// with epoll; there is no thread per connection. The handler is asynchronous: it is called on
// the connection's loop thread and answers through a Responder, at once or later from any
// thread (e.g. a batching thread), so a loop keeps serving its other connections meanwhile.
//
// HTTP: keep-alive (HTTP/1.1 default, HTTP/1.0 with "Connection: keep-alive"), pipelined
// requests answered in order (a connection's next request is read once the previous one is
// answered), Content-Length bodies with a per-route limit (413, after reading and dropping the
// body so the client can read the answer), "Expect: 100-continue", case-insensitive header
// names. Chunked request bodies are refused with 411, other transfer codings with 501,
// malformed requests (request line, header names, control characters in header values,
// Content-Length, Content-Length together with Transfer-Encoding) with 400, header blocks
// over the limit with 431, each with a JSON error body; those close the connection. A connection is
// closed after idle_timeout without traffic while no request is in progress, and a request that has
// not fully arrived request_timeout after its first byte is answered 408 (so that neither idle nor
// slow-sending clients can hold connections forever); a request with the handler is never timed out
// here.
//
// A handler runs on a loop thread: one that blocks (a forward pass, a slow script) stalls the
// other connections of that loop for as long. Handlers that long-poll belong on HttpServer.
//
// Thread-safe: Start, port and Stop from any thread; the handler is called concurrently from
// the loop threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "http/responder.h"

namespace gantry::http {

struct EpollHttpServerOptions {
  // Address to listen on. Default: loopback only.
  std::string host = "127.0.0.1";
  // Port; 0 picks a free one (see port()).
  int port = 0;
  // Loop threads. 0 (default): one per CPU core, at most 4.
  int loop_threads = 0;
  // Largest accepted body for a request, given its method and path. Bigger → 413. Default
  // when unset: 16 MiB.
  std::function<size_t(const std::string& method, const std::string& path)> body_limit;
  // Largest request line plus headers, in bytes. Bigger → 431.
  size_t max_header_bytes = 64 * 1024;
  // Connections above this count are answered 503 and closed.
  int max_connections = 4096;
  // A connection with no request in progress (an idle keep-alive one, or one whose client does
  // not read the answer) is closed after this long without traffic. 0: never.
  std::chrono::milliseconds idle_timeout{60'000};
  // A request whose line, headers and body have not all arrived this long after its first
  // byte is answered 408 and its connection closed. 0: never.
  std::chrono::milliseconds request_timeout{30'000};
  // How long Stop waits for in-flight requests to be answered and written.
  std::chrono::milliseconds drain_timeout{10'000};
  // Called on a loop thread after each round of events that called the handler, before the
  // loop waits again (and again while answers given meanwhile let pipelined requests through).
  // A handler that collects work (a batching backend) starts it here, so that requests that
  // arrived together are served together. Default: none.
  std::function<void()> after_round;
};

class EpollHttpServer {
 public:
  // Binds, listens and starts the loop threads.
  static Result<std::unique_ptr<EpollHttpServer>> Start(const EpollHttpServerOptions& options,
                                                        AsyncHandler handler);
  ~EpollHttpServer();
  EpollHttpServer(const EpollHttpServer&) = delete;
  EpollHttpServer& operator=(const EpollHttpServer&) = delete;

  int port() const;
  // Stops accepting and closes idle connections at once; requests already handed to the
  // handler are answered and written (with "Connection: close") before their connections
  // close, for at most drain_timeout. Joins the loop threads. Idempotent.
  void Stop();

  struct State;

 private:
  explicit EpollHttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The server's request-head parser on its own, for its fuzz target (epoll_http_server_fuzz.cc)
// and tests; the server itself does not call it. Given the bytes waiting on a connection, it
// skips empty lines, finds the head and parses it as the server does: `status` is 0 with
// `consumed` 0 while the head is incomplete, 0 with `consumed` > 0 (the skipped lines and the
// head) once `req` is filled, or the status the server answers a malformed head with.
struct RequestHeadParse {
  int status = 0;
  size_t consumed = 0;
  uint64_t content_length = 0;
  std::string error;
};
RequestHeadParse ParseRequestHeadForFuzzing(std::string_view input, size_t max_header_bytes,
                                            Request& req);

}  // namespace gantry::http
