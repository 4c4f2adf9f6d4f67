#include "http/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>

#include "http/http_types.h"
#include "http/socket_io.h"
#include "http/socket_io_beast.h"

namespace gantry::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A connection's SocketIo as Beast's SyncReadStream and SyncWriteStream, every call bounded
// by the client's timeout.
class TimedStream : public ThrowingStreamForms<TimedStream> {
 public:
  using ThrowingStreamForms::read_some;
  using ThrowingStreamForms::write_some;
  TimedStream(SocketIo& io, int timeout_ms) : io_(io), timeout_(timeout_ms) {}

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    asio::mutable_buffer into = FirstNonEmpty(buffers);
    if (into.size() == 0) return 0;
    SocketIo::Outcome o = io_.Read(static_cast<char*>(into.data()), into.size(), Until());
    ec = ErrorFor(o, asio::error::timed_out);
    return o.bytes;
  }
  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    ec = {};
    iovec iov[kMaxIov];
    int count = GatherIovec(buffers, iov);
    if (count == 0) return 0;
    SocketIo::Outcome o = io_.Write(iov, count, Until());
    ec = ErrorFor(o, asio::error::timed_out);
    return o.bytes;
  }

 private:
  Deadline Until() const {
    if (timeout_.count() <= 0) return std::nullopt;
    return std::chrono::steady_clock::now() + timeout_;
  }
  SocketIo& io_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace

struct HttpClient::Connection {
  asio::io_context io;
  tcp::socket socket{io};
  std::unique_ptr<SocketIo> stream;  // over `socket` while open
  beast::flat_buffer buffer;
  bool open = false;
};

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const std::string& base_url,
                                                       HttpClientOptions options) {
  const bool https = base_url.rfind("https://", 0) == 0;
  if (!https && base_url.rfind("http://", 0) != 0) {
    return Err(InvalidArgumentError("server URL must start with http:// or https://, got '" +
                                    base_url + "'"));
  }
  std::string rest = base_url.substr(https ? 8 : 7);
  std::string prefix;
  auto slash = rest.find('/');
  if (slash != std::string::npos) {
    prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  }
  std::string host = rest, port = https ? "443" : "80";
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // an IPv6 literal
  }
  if (host.empty() || port.empty()) {
    return Err(InvalidArgumentError("cannot parse server URL '" + base_url + "'"));
  }
  std::shared_ptr<TlsContext> tls;
  if (https) {
    ASSIGN_OR_RETURN(tls, TlsContext::ForClient(options.ca_file));
  } else if (!options.ca_file.empty()) {
    // A CA file with a plain URL is a mistake worth naming: the token would go in clear.
    return Err(InvalidArgumentError("a CA file (" + options.ca_file +
                                    ") was given for the plain http:// URL " + base_url +
                                    "; use https://"));
  }
  return std::unique_ptr<HttpClient>(
      new HttpClient(base_url, host, port, prefix, std::move(options), std::move(tls)));
}

HttpClient::HttpClient(std::string base_url, std::string host, std::string port, std::string prefix,
                       HttpClientOptions options, std::shared_ptr<TlsContext> tls)
    : base_url_(std::move(base_url)),
      host_(std::move(host)),
      port_(std::move(port)),
      prefix_(std::move(prefix)),
      options_(std::move(options)),
      tls_(std::move(tls)),
      conn_(std::make_unique<Connection>()) {}

HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Send(const std::string& method,
                                        const std::string& path_and_query, const std::string& body,
                                        const std::string& content_type,
                                        const std::map<std::string, std::string>& headers) {
  // A kept-alive connection may have been closed by the server: retry once on a fresh one.
  // A signal interrupts a socket read that has a timeout with EINTR even under SA_RESTART
  // (socket(7)), so an interrupted request is retried too.
  for (int attempt = 0; attempt < 4; ++attempt) {
    beast::error_code ec;
    bool reused = conn_->open;
    if (!conn_->open) {
      conn_->stream.reset();
      conn_->socket = tcp::socket(conn_->io);
      tcp::resolver resolver(conn_->io);
      auto results = resolver.resolve(host_, port_, ec);
      if (!ec) asio::connect(conn_->socket, results, ec);
      if (ec) {
        return Err(UnavailableError("cannot reach the Gantry server at " + base_url_ + ": " +
                                    ec.message()));
      }
      conn_->socket.set_option(tcp::no_delay(true), ec);
      conn_->stream = std::make_unique<SocketIo>(conn_->socket.native_handle());
      if (tls_) {
        Status shook = conn_->stream->ConnectTls(
            *tls_, host_,
            std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms));
        if (!shook.ok()) {
          conn_->stream.reset();
          conn_->socket.close(ec);
          return Err(Status(shook.code(), "cannot reach the Gantry server at " + base_url_ + ": " +
                                              shook.message()));
        }
      }
      conn_->buffer.clear();
      conn_->open = true;
    }
    TimedStream stream(*conn_->stream, options_.timeout_ms);
    bhttp::verb verb = bhttp::string_to_verb(method);
    bhttp::request<bhttp::string_body> req{verb, prefix_ + path_and_query, 11};
    req.set(bhttp::field::host, host_ + ":" + port_);
    req.set(bhttp::field::user_agent, "gantry");
    for (const auto& [name, value] : options_.extra_headers) req.set(name, value);
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!options_.bearer_token.empty()) {
      req.set(bhttp::field::authorization, "Bearer " + options_.bearer_token);
    }
    if (!body.empty() || verb == bhttp::verb::post || verb == bhttp::verb::put) {
      req.set(bhttp::field::content_type, content_type);
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    bhttp::write(stream, req, ec);
    bhttp::response_parser<bhttp::string_body> parser;
    // Not boost::none: Boost 1.74 compares a length against an empty optional as "over".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (!ec) bhttp::read(stream, conn_->buffer, parser, ec);
    if (ec) {
      beast::error_code failure = ec;
      conn_->stream.reset();
      conn_->socket.close(ec);
      conn_->open = false;
      ec = failure;
      // Only a reused connection is retried: the server may have closed it while idle.
      if (reused && attempt == 0) continue;
      if (ec == asio::error::interrupted && attempt < 3) continue;
      return Err(UnavailableError("request " + method + " " + path_and_query + " to " + base_url_ +
                                  " failed: " + ec.message()));
    }
    auto res = parser.release();
    ClientResponse out;
    out.status = static_cast<int>(res.result_int());
    out.content_type = std::string(res[bhttp::field::content_type]);
    out.body = std::move(res.body());
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value());
    }
    if (!res.keep_alive()) {
      conn_->stream.reset();
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
