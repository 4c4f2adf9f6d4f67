#include "http/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <limits>
#include <list>
#include <vector>

#include <sys/socket.h>
#include <sys/time.h>
#include <mutex>
#include <thread>

#include "common/logging.h"

namespace gantry::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr size_t kDefaultBodyLimit = 16u << 20;

// After a 413, reads and drops the body the client is still sending (bounded), so that a
// client which does not wait for "100 Continue" still gets to read the answer instead of a
// broken pipe.
void DrainRejectedBody(tcp::socket& socket, beast::flat_buffer& buffer, uint64_t length) {
  constexpr uint64_t kMaxDrain = 256u << 20;
  uint64_t left = std::min(length, kMaxDrain);
  left -= std::min<uint64_t>(left, buffer.size());
  buffer.consume(buffer.size());
  timeval tv{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::vector<char> scratch(1 << 16);
  beast::error_code ec;
  while (left > 0) {
    size_t n = socket.read_some(asio::buffer(scratch.data(), std::min<uint64_t>(left, scratch.size())), ec);
    if (ec || n == 0) break;
    left -= n;
  }
}

}  // namespace

struct Connection {
  tcp::socket socket;
  std::thread thread;
  std::atomic<bool> done{false};
  explicit Connection(tcp::socket s) : socket(std::move(s)) {}
};

struct HttpServer::State {
  HttpServerOptions options;
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::mutex mu;
  std::list<std::unique_ptr<Connection>> connections;  // guarded by mu
  std::atomic<bool> stopping{false};
  int port = 0;

  void AcceptLoop();
  void Serve(Connection* conn);
  void ReapFinished();
};

void HttpServer::State::ReapFinished() {
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = connections.begin(); it != connections.end();) {
    if ((*it)->done) {
      (*it)->thread.join();
      it = connections.erase(it);
    } else {
      ++it;
    }
  }
}

void HttpServer::State::AcceptLoop() {
  while (!stopping) {
    beast::error_code ec;
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec) {
      if (stopping) break;
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    ReapFinished();
    std::lock_guard<std::mutex> lock(mu);
    if (static_cast<int>(connections.size()) >= options.max_connections) {
      const char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      asio::write(socket, asio::buffer(kBusy, sizeof(kBusy) - 1), ec);
      continue;
    }
    auto conn = std::make_unique<Connection>(std::move(socket));
    Connection* raw = conn.get();
    connections.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] {
      Serve(raw);
      raw->done = true;
    });
  }
}

void HttpServer::State::Serve(Connection* conn) {
  beast::flat_buffer buffer;
  beast::error_code ec;
  std::string remote;
  auto ep = conn->socket.remote_endpoint(ec);
  if (!ec) remote = ep.address().to_string();
  while (!stopping) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(64 * 1024);
    // Not boost::none: Boost 1.74 compares a length against an empty optional as "over".
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::read_header(conn->socket, buffer, parser, ec);
    if (ec) break;
    auto& head = parser.get();
    Request req;
    req.method = std::string(head.method_string());
    ParseTarget(std::string_view(head.target().data(), head.target().size()), req);
    req.remote_address = remote;
    size_t limit = options.body_limit ? options.body_limit(req.method, req.path) : kDefaultBodyLimit;
    bool keep_alive = head.keep_alive();
    Response resp;
    uint64_t rejected_body = 0;
    if (parser.content_length() && *parser.content_length() > limit) {
      rejected_body = *parser.content_length();
      resp = Response::FromStatus(ResourceExhaustedError(
          "request body of " + std::to_string(*parser.content_length()) +
          " bytes is over the limit of " + std::to_string(limit) + " bytes for " + req.path));
      keep_alive = false;
    } else {
      if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, head.version()};
        bhttp::write(conn->socket, cont, ec);
        if (ec) break;
      }
      parser.body_limit(limit);
      bhttp::read(conn->socket, buffer, parser, ec);
      if (ec == bhttp::error::body_limit) {
        resp = Response::FromStatus(ResourceExhaustedError(
            "request body is over the limit of " + std::to_string(limit) + " bytes for " +
            req.path));
        keep_alive = false;
      } else if (ec) {
        break;
      } else {
        auto msg = parser.release();
        for (const auto& field : msg) {
          std::string name(field.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(c));
          req.headers[name] = std::string(field.value());
        }
        req.body = std::move(msg.body());
        try {
          resp = handler(req);
        } catch (const std::exception& e) {
          GLOG(Error) << "handler for " << req.method << " " << req.path << " threw: " << e.what();
          resp = Response::FromStatus(InternalError(std::string("internal error: ") + e.what()));
        }
      }
    }
    bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(resp.status), 11};
    out.set(bhttp::field::server, "gantry");
    out.set(bhttp::field::content_type, resp.content_type);
    for (const auto& [k, v] : resp.headers) out.set(k, v);
    out.keep_alive(keep_alive);
    out.body() = std::move(resp.body);
    out.prepare_payload();
    bhttp::write(conn->socket, out, ec);
    if (!ec && rejected_body > 0) DrainRejectedBody(conn->socket, buffer, rejected_body);
    if (ec || !keep_alive) break;
  }
  conn->socket.shutdown(tcp::socket::shutdown_both, ec);
  conn->socket.close(ec);
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler) {
  auto state = std::make_unique<State>();
  state->options = options;
  state->handler = std::move(handler);
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return Err(InvalidArgumentError("invalid --host '" + options.host + "'"));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Err(UnavailableError("cannot listen on " + options.host + ":" +
                                std::to_string(options.port) + ": " + ec.message()));
  }
  state->port = state->acceptor.local_endpoint().port();
  State* raw = state.get();
  state->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::HttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::port() const { return state_->port; }

void HttpServer::Stop() {
  if (state_->stopping.exchange(true)) return;
  beast::error_code ec;
  // shutdown() wakes a thread blocked in accept(); close() alone does not on Linux.
  ::shutdown(state_->acceptor.native_handle(), SHUT_RDWR);
  state_->acceptor.close(ec);
  if (state_->accept_thread.joinable()) state_->accept_thread.join();
  std::list<std::unique_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    // Only the receiving side: a connection waiting for its next request wakes up and ends,
    // while one whose handler is still running can send its answer first.
    for (auto& c : state_->connections) c->socket.shutdown(tcp::socket::shutdown_receive, ec);
    conns.swap(state_->connections);
  }
  for (auto& c : conns) c->thread.join();
}

}  // namespace gantry::http
