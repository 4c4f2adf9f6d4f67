#include "http/http_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <limits>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/http_types.h"

namespace gantry::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Connection {
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool open = false;
};

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& base_url,
                                                       HttpClientOptions options) {
  constexpr std::string_view kScheme = "http://";
  if (base_url.rfind(kScheme, 0) != 0) {
    return Err(InvalidArgumentError("server URL must start with http://, got '" + base_url + "'"));
  }
  std::string rest = base_url.substr(kScheme.size());
  std::string prefix;
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  }
  std::string host = rest, port = "80";
  auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty()) {
    return Err(InvalidArgumentError("cannot parse server URL '" + base_url + "'"));
  }
  return std::unique_ptr<HttpClient>(
      new HttpClient(base_url, host, port, prefix, std::move(options)));
}

HttpClient::HttpClient(std::string base_url, std::string host, std::string port,
                       std::string prefix, HttpClientOptions options)
    : base_url_(std::move(base_url)),
      host_(std::move(host)),
      port_(std::move(port)),
      prefix_(std::move(prefix)),
      options_(std::move(options)),
      conn_(std::make_unique<Connection>()) {}

HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Send(const std::string& method,
                                        const std::string& path_and_query,
                                        const std::string& body,
                                        const std::string& content_type) {
  // A kept-alive connection may have been closed by the server: retry once on a fresh one.
  // A signal interrupts a socket read that has a timeout with EINTR even under SA_RESTART
  // (socket(7)), so an interrupted request is retried too.
  for (int attempt = 0; attempt < 4; ++attempt) {
    beast::error_code ec;
    bool reused = conn_->open;
    if (!conn_->open) {
      conn_->socket = tcp::socket(conn_->io);
      tcp::resolver resolver(conn_->io);
      auto results = resolver.resolve(host_, port_, ec);
      if (!ec) asio::connect(conn_->socket, results, ec);
      if (ec) {
        return Err(UnavailableError("cannot reach the Gantry server at " + base_url_ + ": " +
                                    ec.message()));
      }
      conn_->socket.set_option(tcp::no_delay(true), ec);
      timeval tv{options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
      ::setsockopt(conn_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      ::setsockopt(conn_->socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      conn_->buffer.clear();
      conn_->open = true;
    }
    bhttp::verb verb = bhttp::string_to_verb(method);
    bhttp::request<bhttp::string_body> req{verb, prefix_ + path_and_query, 11};
    req.set(bhttp::field::host, host_ + ":" + port_);
    req.set(bhttp::field::user_agent, "gantry");
    for (const auto& [name, value] : options_.extra_headers) req.set(name, value);
    if (!options_.bearer_token.empty()) {
      req.set(bhttp::field::authorization, "Bearer " + options_.bearer_token);
    }
    if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put) {
      req.set(bhttp::field::content_type, content_type);
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    bhttp::write(conn_->socket, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    // Not boost::none: Boost 1.74 compares a length against an empty optional as "over".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) bhttp::read(conn_->socket, conn_->buffer, parser, ec);
    if (ec) {
      beast::error_code failure = ec;
      conn_->socket.close(ec);
      conn_->open = false;
      ec = failure;
      // Only a reused connection is retried: the server may have closed it while idle.
      if (reused && attempt == 0) continue;
      if (ec == asio::error::interrupted && attempt < 3) continue;
      return Err(UnavailableError("request " + method + " " + path_and_query + " to " +
                                  base_url_ + " failed: " + ec.message()));
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[bhttp::field::content_type]);
    out.body = std::move(res.body());
    if (!res.keep_alive()) {
      conn_->socket.close(ec);
      conn_->open = false;
    }
    return out;
  }
  return Err(UnavailableError("cannot reach the Gantry server at " + base_url_));
}

Result<Json> HttpClient::Call(const std::string& method, const std::string& path_and_query,
                              const Json& body) {
  ASSIGN_OR_RETURN(ClientResponse r,
                   Send(method, path_and_query, body.is_null() ? std::string() : body.dump()));
  if (r.status < 200 || r.status >= 300) return Err(StatusFromErrorBody(r.status, r.body));
  if (r.body.empty()) return Json::object();
  return ParseJson(r.body, "server response");
}

Status StatusFromErrorBody(int http_status, const std::string& body) {
  Json j = ParseJson(body, "error body").value_or(Json());
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const Json& e = j["error"];
    std::string code = e.value("code", "");
    std::string message = e.value("message", "");
    StatusCode sc = StatusCodeFromName(code);
    if (sc == StatusCode::kUnknown) sc = StatusCodeForHttp(http_status);
    return Status(sc, message);
  }
  return Status(StatusCodeForHttp(http_status),
                "server answered HTTP " + std::to_string(http_status) +
                    (body.empty() ? "" : ": " + body.substr(0, 200)));
}

}  // namespace gantry::http
