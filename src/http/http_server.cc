#include "http/http_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "http/socket_io.h"
#include "http/socket_io_beast.h"

namespace gantry::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kDefaultBodyLimit = 16u << 20;
// Bodies are read in pieces of this size (into memory or a file).
constexpr size_t kBodyChunk = 64 * 1024;
// After an answer that closes the connection, at most this much further input is read and
// dropped (plus, after a 413, at most kMaxDiscard of the refused body), so that a client
// still sending gets to read the answer instead of a reset.
constexpr uint64_t kMaxLinger = 1u << 20;
constexpr uint64_t kMaxDiscard = 256u << 20;
// How long that dropping waits for each further byte.
constexpr std::chrono::milliseconds kLingerStall{5'000};

Deadline After(std::chrono::milliseconds d) {
  if (d.count() <= 0) return std::nullopt;
  return Clock::now() + d;
}

// The connection's socket, read and written with deadlines, as the SyncReadStream and
// SyncWriteStream that Beast's synchronous algorithms use. In front of a request a read
// waits until the idle deadline while no byte of it has arrived, then until that first
// byte's time plus request_timeout; in a body, request_timeout from the previous read. A
// write waits up to idle_timeout for progress. Running out of time is beast::error::timeout.
// Used by its connection's thread only.
class DeadlineSocket : public ThrowingStreamForms<DeadlineSocket> {
 public:
  using ThrowingStreamForms::read_some;
  using ThrowingStreamForms::write_some;
  DeadlineSocket(int fd, std::chrono::milliseconds idle, std::chrono::milliseconds request)
      : io_(fd), idle_(idle), request_(request) {}

  // A request is next: idle until its first byte (already here when `buffered`).
  void AwaitRequest(bool buffered) {
    stall_.reset();
    started_.reset();
    if (buffered) started_ = Clock::now();
    idle_deadline_ = After(idle_);
  }
  // A body (or input to drop) is next: each read may wait `stall` (0: forever).
  void AwaitStream(std::chrono::milliseconds stall) { stall_ = stall; }
  // True once a byte of the current request has arrived.
  bool request_started() const { return started_.has_value(); }
  int fd() const { return io_.fd(); }
  SocketIo& io() { return io_; }

  template <class MutableBuffers>
  size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    ec = {};
    asio::mutable_buffer into = FirstNonEmpty(buffers);
    if (into.size() == 0) return 0;
    Deadline deadline;
    if (stall_) {
      deadline = After(*stall_);
    } else if (started_) {
      if (request_.count() > 0) deadline = *started_ + request_;
    } else {
      deadline = idle_deadline_;
    }
    SocketIo::Outcome o = io_.Read(static_cast<char*>(into.data()), into.size(), deadline);
    if (o.kind == SocketIo::Kind::kOk && !started_) started_ = Clock::now();
    ec = ErrorFor(o, beast::error::timeout);
    return o.bytes;
  }

  template <class ConstBuffers>
  size_t write_some(const ConstBuffers& buffers, beast::error_code& ec) {
    ec = {};
    iovec iov[kMaxIov];
    int count = GatherIovec(buffers, iov);
    if (count == 0) return 0;
    SocketIo::Outcome o = io_.Write(iov, count, After(idle_));
    ec = ErrorFor(o, beast::error::timeout);
    return o.bytes;
  }

 private:
  SocketIo io_;
  const std::chrono::milliseconds idle_, request_;
  std::optional<Clock::time_point> idle_deadline_;
  std::optional<Clock::time_point> started_;
  std::optional<std::chrono::milliseconds> stall_;
};

// A temp file receiving one streamed body. flock()ed while open, so that a LocalBlobStore
// opening the same folder in another process does not take it for an abandoned write. The
// destructor removes the file unless the handler moved it away.
class BodyFile {
 public:
  static Result<BodyFile> Create(const std::string& folder) {
    std::string path = folder + "/upload-XXXXXX";
    int fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd < 0) {
      return Err(InternalError("cannot create a temp file for the upload in " + folder + ": " +
                               std::strerror(errno)));
    }
    (void)::flock(fd, LOCK_EX | LOCK_NB);  // a fresh file: cannot be held by anyone else
    return BodyFile(std::move(path), fd);
  }
  BodyFile(BodyFile&& other) noexcept
      : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  BodyFile& operator=(BodyFile&&) = delete;
  ~BodyFile() {
    if (fd_ < 0) return;
    // Only the file this object made: the handler may have renamed it and a new one taken
    // the name since.
    struct stat mine, there;
    if (::fstat(fd_, &mine) == 0 && ::lstat(path_.c_str(), &there) == 0 &&
        mine.st_dev == there.st_dev && mine.st_ino == there.st_ino) {
      ::unlink(path_.c_str());
    }
    ::close(fd_);
  }

  const std::string& path() const { return path_; }
  Status Write(const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd_, data, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        return InternalError("cannot write the upload to " + path_ + ": " + std::strerror(errno));
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return Status::Ok();
  }

 private:
  BodyFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

// Errors of the request's own bytes (as opposed to the connection ending or failing).
bool IsMalformed(const beast::error_code& ec) {
  static const auto& kHttpCategory = bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == kHttpCategory && ec != bhttp::error::end_of_stream &&
         ec != bhttp::error::partial_message && ec != bhttp::error::need_more &&
         ec != bhttp::error::need_buffer;
}

// An answer for a request refused by the server itself: the usual error body.
Response Refusal(int http_status, const std::string& message) {
  StatusCode code = http_status == 408                         ? StatusCode::kDeadlineExceeded
                    : http_status == 413 || http_status == 431 ? StatusCode::kResourceExhausted
                    : http_status == 501                       ? StatusCode::kUnimplemented
                    : http_status == 503                       ? StatusCode::kUnavailable
                    : http_status >= 500                       ? StatusCode::kInternal
                                                               : StatusCode::kInvalidArgument;
  Response r = Response::FromStatus(Status(code, message));
  r.status = http_status;
  return r;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

struct Connection {
  tcp::socket socket;
  std::string remote;
  std::thread thread;
  bool done = false;  // guarded by HttpServer::State::mu
  Connection(tcp::socket s, std::string r) : socket(std::move(s)), remote(std::move(r)) {}
};

}  // namespace

struct HttpServer::State {
  HttpServerOptions options;
  Handler handler;
  std::shared_ptr<TlsContext> tls;  // null: plain HTTP
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::mutex mu;
  std::list<std::unique_ptr<Connection>> connections;  // guarded by mu
  int active = 0;                                      // guarded by mu: threads still serving
  std::map<std::string, int> per_client;               // guarded by mu: active, by address
  std::atomic<bool> stopping{false};
  int port = 0;

  void AcceptLoop();
  void Refuse(tcp::socket& socket, const std::string& message);
  void Serve(Connection* conn);
  // Serves one request; false when the connection must end.
  bool ServeOne(DeadlineSocket& stream, beast::flat_buffer& buffer, const std::string& remote);
  // Writes `response` with "Connection: close", then drops further input (at most
  // kMaxLinger plus `refused_body` bytes) until the client closes.
  void AnswerAndClose(DeadlineSocket& stream, beast::flat_buffer& buffer, Response response,
                      uint64_t refused_body);
  bool Write(DeadlineSocket& stream, Response response, bool keep_alive);
  void ReapFinished();
};

void HttpServer::State::ReapFinished() {
  std::lock_guard<std::mutex> lock(mu);
  for (auto it = connections.begin(); it != connections.end();) {
    if ((*it)->done) {
      (*it)->thread.join();  // past setting `done`, the thread needs nothing but to exit
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
      // Out of file descriptors, say: the next accept would fail at once too, so back off
      // rather than spin (a backoff, not a wait for anything).
      if (ec != asio::error::connection_aborted && ec != asio::error::interrupted) {
        GLOG(Warning) << "accept: " << ec.message() << "; pausing accepts for 100 ms";
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    std::string remote;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
    ReapFinished();
    std::string refusal;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto mine = per_client.find(remote);
      if (active >= options.max_connections) {
        refusal = "the server is at its limit of " + std::to_string(options.max_connections) +
                  " connections; try again later";
      } else if (mine != per_client.end() && mine->second >= options.max_connections_per_client) {
        refusal = "client " + remote + " is at its limit of " +
                  std::to_string(options.max_connections_per_client) +
                  " connections; close some or try again later";
      } else {
        ++active;
        ++per_client[remote];
        auto conn = std::make_unique<Connection>(std::move(socket), remote);
        Connection* raw = conn.get();
        connections.push_back(std::move(conn));
        raw->thread = std::thread([this, raw] {
          Serve(raw);
          std::lock_guard<std::mutex> lock(mu);
          --active;
          if (--per_client[raw->remote] <= 0) per_client.erase(raw->remote);
          raw->done = true;
        });
      }
    }
    if (!refusal.empty()) Refuse(socket, refusal);
  }
}

void HttpServer::State::Refuse(tcp::socket& socket, const std::string& message) {
  // On the accept thread, so nothing here may wait: drop what the client already sent (so
  // that the close is not a reset that loses the answer), answer if the socket takes it. A
  // TLS client would need a handshake first, which could wait: it gets the close alone.
  const int fd = socket.native_handle();
  if (tls) {
    beast::error_code ec;
    socket.close(ec);
    return;
  }
  char scratch[16 * 1024];
  for (int i = 0; i < 16 && ::recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0; ++i) {
  }
  Response r = Refusal(503, message);
  std::string out =
      "HTTP/1.1 503 Service Unavailable\r\nServer: gantry\r\nContent-Type: " + r.content_type +
      "\r\nContent-Length: " + std::to_string(r.body.size()) +
      "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + r.body;
  ssize_t n = ::send(fd, out.data(), out.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;  // a client that cannot take a few hundred bytes gets the close alone
  ::shutdown(fd, SHUT_WR);
  beast::error_code ec;
  socket.close(ec);
}

void HttpServer::State::Serve(Connection* conn) {
  DeadlineSocket stream(conn->socket.native_handle(), options.idle_timeout,
                        options.request_timeout);
  beast::flat_buffer buffer;
  bool serving = true;
  if (tls) {
    // The handshake belongs to the first request: it gets request_timeout.
    Status shook = stream.io().AcceptTls(*tls, options.request_timeout.count() > 0
                                                   ? After(options.request_timeout)
                                                   : After(options.idle_timeout));
    if (shook.code() == StatusCode::kFailedPrecondition) {
      // Plain HTTP on the TLS port: say so in plain HTTP, which is what the client reads.
      AnswerAndClose(stream, buffer,
                     Refusal(400, "this server speaks HTTPS only: use https:// in the URL"), 0);
    } else if (!shook.ok()) {
      GLOG(Debug) << "TLS connection from " << conn->remote << " not served: " << shook.message();
    }
    serving = shook.ok();
  }
  while (serving && !stopping && ServeOne(stream, buffer, conn->remote)) {
  }
  if (serving) stream.io().CloseWrite();
  beast::error_code ec;
  conn->socket.shutdown(tcp::socket::shutdown_both, ec);
  conn->socket.close(ec);
}

bool HttpServer::State::ServeOne(DeadlineSocket& stream, beast::flat_buffer& buffer,
                                 const std::string& remote) {
  stream.AwaitRequest(buffer.size() > 0);
  bhttp::request_parser<bhttp::buffer_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  // Not boost::none: Boost 1.74 compares a length against an empty optional as "over". The
  // route's limit is known, and set, once the target is.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  bhttp::read_header(stream, buffer, parser, ec);
  if (ec) {
    // Between requests, a timeout or close just ends the connection.
    if (!stream.request_started()) return false;
    if (ec == beast::error::timeout) {
      AnswerAndClose(stream, buffer,
                     Refusal(408, "the request line and headers did not arrive within " +
                                      std::to_string(options.request_timeout.count()) +
                                      " ms of the first byte"),
                     0);
    } else if (ec == bhttp::error::header_limit) {
      AnswerAndClose(stream, buffer,
                     Refusal(431, "the request line and headers are over " +
                                      std::to_string(options.max_header_bytes) + " bytes"),
                     0);
    } else if (IsMalformed(ec)) {
      AnswerAndClose(stream, buffer, Refusal(400, "malformed request: " + ec.message()), 0);
    }
    return false;
  }
  auto& head = parser.get();
  std::string_view target(head.target().data(), head.target().size());
  if (target.empty() || target.front() != '/') {
    AnswerAndClose(stream, buffer, Refusal(400, "the request target must be a path"), 0);
    return false;
  }
  if (head.count(bhttp::field::transfer_encoding) > 1 ||
      (head.count(bhttp::field::transfer_encoding) == 1 &&
       !beast::iequals(Trim(std::string_view(head[bhttp::field::transfer_encoding].data(),
                                             head[bhttp::field::transfer_encoding].size())),
                       "chunked"))) {
    AnswerAndClose(stream, buffer,
                   Refusal(501, "unsupported Transfer-Encoding; send Content-Length or chunked"),
                   0);
    return false;
  }
  Request req;
  req.method = std::string(head.method_string());
  ParseTarget(target, req);
  req.remote_address = remote;
  req.tls = stream.io().tls();
  for (const auto& field : head) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, added] = req.headers.try_emplace(std::move(name), field.value());
    if (!added) {
      it->second += ", ";
      it->second.append(field.value().data(), field.value().size());
    }
  }
  const size_t limit =
      options.body_limit ? options.body_limit(req.method, req.path) : kDefaultBodyLimit;
  if (parser.content_length() && *parser.content_length() > limit) {
    AnswerAndClose(stream, buffer,
                   Refusal(413, "request body of " + std::to_string(*parser.content_length()) +
                                    " bytes is over the limit of " + std::to_string(limit) +
                                    " bytes for " + req.path),
                   *parser.content_length());
    return false;
  }
  const uint64_t declared = parser.content_length().value_or(0);
  if (options.before_body) {
    if (std::optional<Response> early = options.before_body(req)) {
      AnswerAndClose(stream, buffer, std::move(*early), declared);
      return false;
    }
  }
  std::optional<BodyFile> file;
  std::string folder = options.body_to_file ? options.body_to_file(req.method, req.path) : "";
  if (!folder.empty()) {
    auto created = BodyFile::Create(folder);
    if (!created.has_value()) {
      GLOG(Error) << created.error().ToString();
      AnswerAndClose(stream, buffer, Response::FromStatus(created.error()), declared);
      return false;
    }
    file.emplace(std::move(*created));
  }
  if (!parser.is_done() && beast::iequals(head[bhttp::field::expect], "100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, head.version()};
    bhttp::write(stream, cont, ec);
    if (ec) return false;
  }
  parser.body_limit(limit);
  stream.AwaitStream(options.request_timeout);
  std::vector<char> chunk(parser.is_done() ? 0 : kBodyChunk);
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    bhttp::read(stream, buffer, parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) file.reset();  // an upload that failed leaves no file, even while we linger
    if (ec == bhttp::error::body_limit) {
      AnswerAndClose(stream, buffer,
                     Refusal(413, "request body is over the limit of " + std::to_string(limit) +
                                      " bytes for " + req.path),
                     kMaxDiscard);
      return false;
    }
    if (ec == beast::error::timeout) {
      AnswerAndClose(stream, buffer,
                     Refusal(408, "the request body stalled for " +
                                      std::to_string(options.request_timeout.count()) + " ms"),
                     0);
      return false;
    }
    if (ec) {
      if (IsMalformed(ec)) {
        AnswerAndClose(stream, buffer, Refusal(400, "malformed request body: " + ec.message()), 0);
      }
      return false;
    }
    size_t got = chunk.size() - parser.get().body().size;
    if (file) {
      Status written = file->Write(chunk.data(), got);
      if (!written.ok()) {
        GLOG(Error) << written.ToString();
        file.reset();
        AnswerAndClose(stream, buffer, Response::FromStatus(written), declared);
        return false;
      }
    } else {
      req.body.append(chunk.data(), got);
    }
  }
  if (file) req.body_file = file->path();
  req.client_gone = [fd = stream.fd()] {
    // Readable with nothing to read (or hung up) while the handler runs: the client closed.
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    char c;
    return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  };
  Response resp;
  try {
    resp = handler(req);
  } catch (const std::exception& e) {
    GLOG(Error) << "handler for " << req.method << " " << req.path << " threw: " << e.what();
    resp = Response::FromStatus(InternalError(std::string("internal error: ") + e.what()));
  }
  file.reset();  // the upload's temp file, unless the handler kept it
  const bool keep_alive = parser.get().keep_alive() && !stopping;
  return Write(stream, std::move(resp), keep_alive) && keep_alive;
}

bool HttpServer::State::Write(DeadlineSocket& stream, Response resp, bool keep_alive) {
  bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(resp.status), 11};
  out.set(bhttp::field::server, "gantry");
  out.set(bhttp::field::content_type, resp.content_type);
  for (const auto& [k, v] : resp.headers) out.set(k, v);
  out.keep_alive(keep_alive);
  out.body() = std::move(resp.body);
  out.prepare_payload();
  beast::error_code ec;
  bhttp::write(stream, out, ec);
  return !ec;
}

void HttpServer::State::AnswerAndClose(DeadlineSocket& stream, beast::flat_buffer& buffer,
                                       Response response, uint64_t refused_body) {
  if (!Write(stream, std::move(response), /*keep_alive=*/false)) return;
  // Lingering close: no more output, and input is dropped until the client closes, so that
  // unread input does not turn our close into a reset that loses the answer.
  stream.io().CloseWrite();
  uint64_t left = kMaxLinger + std::min(refused_body, kMaxDiscard);
  left -= std::min<uint64_t>(left, buffer.size());
  buffer.consume(buffer.size());
  stream.AwaitStream(options.request_timeout.count() > 0
                         ? std::min(options.request_timeout, kLingerStall)
                         : kLingerStall);
  std::vector<char> scratch(kBodyChunk);
  while (left > 0) {
    beast::error_code ec;
    size_t n = stream.read_some(
        asio::buffer(scratch.data(), static_cast<size_t>(std::min<uint64_t>(left, scratch.size()))),
        ec);
    if (ec || n == 0) break;
    left -= n;
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler) {
  auto state = std::make_unique<State>();
  state->options = options;
  state->handler = std::move(handler);
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    ASSIGN_OR_RETURN(state->tls,
                     TlsContext::ForServer(options.tls_cert_file, options.tls_key_file));
  }
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
