// HttpServer: a small HTTP/1.1 server with keep-alive, one thread per connection.
//
// Handlers are plain functions Request → Response and may block (long polls do), which a
// thread per connection makes harmless at a workspace server's scale. Thread-safe: the
// handler is called concurrently from many connection threads.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/http_types.h"

namespace gantry::http {

using Handler = std::function<Response(Request&)>;

struct HttpServerOptions {
  // Address to listen on. Default: loopback only.
  std::string host = "127.0.0.1";
  // Port; 0 picks a free one (see HttpServer::port()).
  int port = 0;
  // Largest accepted body for a request, given its method and path. Bigger → 413 before the
  // body is read. Default when unset: 16 MiB.
  std::function<size_t(const std::string& method, const std::string& path)> body_limit;
  // Connections above this count are refused with 503.
  int max_connections = 512;
};

class HttpServer {
 public:
  // Binds and starts accepting on a background thread.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // Stops accepting, ends every connection (a handler still running sends its answer
  // first) and joins all threads. Idempotent.
  void Stop();

  struct State;

 private:
  explicit HttpServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace gantry::http
