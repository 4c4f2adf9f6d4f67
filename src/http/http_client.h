// HttpClient: a blocking HTTP/1.1 client for one server, reusing one keep-alive connection,
// over TLS for an https:// URL (the certificate verified, see HttpClientOptions::ca_file).
// Every read and write gives up after the timeout. Used by the CLI and the runner to talk to
// the workspace server. Thread-compatible: use one client per thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/json.h"
#include "common/status.h"

namespace gantry::http {

class TlsContext;

struct ClientResponse {
  int status = 0;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // every response header, by lowercase name
};

struct HttpClientOptions {
  // Read/write timeout for one request, in milliseconds.
  int timeout_ms = 30'000;
  // Sent as "Authorization: Bearer TOKEN" when not empty.
  std::string bearer_token;
  // Sent with every request.
  std::map<std::string, std::string> extra_headers;
  // For an https:// URL: the PEM file of the CA (or the server's own certificate) to trust;
  // "" trusts the system's CAs. The server's certificate must also name the URL's host.
  std::string ca_file;
};

class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:8765" or "https://gantry.lab:8765" (a path prefix is
  // allowed). InvalidArgument for another scheme, an unreadable CA file, or a CA file with a
  // plain http:// URL.
  static Result<std::unique_ptr<HttpClient>> Create(const std::string& base_url,
                                                    HttpClientOptions options = {});
  ~HttpClient();

  // Sends one request. Transport failures are Unavailable naming the URL; any HTTP status
  // comes back as a ClientResponse.
  // `headers` go with this request only.
  Result<ClientResponse> Send(const std::string& method, const std::string& path_and_query,
                              const std::string& body = "",
                              const std::string& content_type = "application/json",
                              const std::map<std::string, std::string>& headers = {});

  // JSON convenience: sends `body` (unless null), parses the answer, and turns a non-2xx
  // answer into the Status carried in the server's error body.
  Result<Json> Call(const std::string& method, const std::string& path_and_query,
                    const Json& body = nullptr);

  const std::string& base_url() const { return base_url_; }
  const HttpClientOptions& options() const { return options_; }
  void set_timeout_ms(int ms) { options_.timeout_ms = ms; }

  struct Connection;

 private:
  HttpClient(std::string base_url, std::string host, std::string port, std::string prefix,
             HttpClientOptions options, std::shared_ptr<TlsContext> tls);
  std::string base_url_, host_, port_, prefix_;
  HttpClientOptions options_;
  std::shared_ptr<TlsContext> tls_;  // null for http://
  std::unique_ptr<Connection> conn_;
};

// Turns an error answer ({"error": {"code", "message"}}) into a Status.
Status StatusFromErrorBody(int http_status, const std::string& body);

}  // namespace gantry::http
