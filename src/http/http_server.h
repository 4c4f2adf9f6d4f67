// HttpServer: a small HTTP/1.1 server with keep-alive, one thread per connection.
//
// Handlers are plain functions Request → Response and may block (long polls do), which a
// thread per connection makes harmless at a workspace server's scale. Because every
// connection costs a thread, connections are bounded and cannot be held for free: a
// connection with no request in progress is closed after idle_timeout; a request whose line
// and headers have not arrived request_timeout after its first byte, or whose body stalls for
// request_timeout, is answered 408; connections over max_connections, or over
// max_connections_per_client from one address, are answered 503. A request with the handler
// (a long poll) is never timed out here.
//
// Malformed requests (bad request line, header bytes, Content-Length, conflicting
// Content-Length and Transfer-Encoding) are answered 400, header blocks over max_header_bytes
// 431, an unsupported Transfer-Encoding 501, all with the usual JSON error body, and close
// the connection. Bodies may be chunked or carry Content-Length; bodies over the route's
// limit are answered 413.
//
// With tls_cert_file and tls_key_file set, every connection speaks TLS (1.2 or later, OpenSSL):
// the handshake must finish within request_timeout of the connection's start, and a client
// that sends plain HTTP to the TLS port gets a plain-text 400 saying to use https://.
//
// Thread-safe: the handler is called concurrently from many connection threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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
  // Largest accepted body for a request, given its method and path. Bigger → 413 (before the
  // body is read when it declares its length, else once the limit is passed). Default when
  // unset: 16 MiB.
  std::function<size_t(const std::string& method, const std::string& path)> body_limit;
  // Routes whose body is streamed to a temp file instead of held in memory: the folder for
  // the file, or "" to keep the body in Request::body. The handler then gets
  // Request::body_file (see there). A body over the limit, or one that does not fully
  // arrive, leaves no file behind. Default when unset: every body in memory.
  std::function<std::string(const std::string& method, const std::string& path)> body_to_file;
  // Called once the request line and headers have arrived, before the body is read: an
  // answer it returns is sent instead (and the connection closed), so a refused client's
  // large upload is never read. Default when unset: every request goes on to its body.
  std::function<std::optional<Response>(const Request& head)> before_body;
  // Largest request line plus headers, in bytes. Bigger → 431.
  size_t max_header_bytes = 64 * 1024;
  // Connections above this count are answered 503 and closed.
  int max_connections = 512;
  // Connections from one client address above this count are answered 503 and closed, so
  // that one client cannot take every slot.
  int max_connections_per_client = 128;
  // A connection with no request in progress (an idle keep-alive one) is closed after this
  // long without a byte; so is one whose client stops reading an answer for this long. 0:
  // never.
  std::chrono::milliseconds idle_timeout{60'000};
  // A request whose line and headers have not all arrived this long after its first byte,
  // or whose body then stalls (no byte) for this long, is answered 408 and its connection
  // closed. A stall rather than a whole-body deadline, so that large uploads over slow links
  // still work. 0: never.
  std::chrono::milliseconds request_timeout{30'000};
  // PEM certificate (chain) and private key: both set turns on TLS. Start() fails naming the
  // file when one cannot be read, or when the key does not belong to the certificate.
  std::string tls_cert_file;
  std::string tls_key_file;
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
