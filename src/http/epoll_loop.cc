#include "http/epoll_loop.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>

#include "common/logging.h"
#include "http/http1_codec.h"

namespace gantry::http::epoll {

namespace {

constexpr size_t kDefaultBodyLimit = 16u << 20;
// Input buffered beyond this while a request is being answered pauses reading (a client
// pipelining far ahead waits in its socket instead of our memory).
constexpr size_t kMaxBufferedWhileBusy = 4u << 20;
// Answers not yet taken by a client beyond this pause its next requests (and reading).
constexpr size_t kMaxPendingOutput = 4u << 20;
// After a 413, at most this much of the refused body is read and dropped.
constexpr uint64_t kMaxDiscard = 256u << 20;
// After an answer with "Connection: close", at most this much further input is dropped while
// waiting for the client to close.
constexpr uint64_t kMaxLinger = 1u << 20;
constexpr std::chrono::milliseconds kAcceptPause{100};
constexpr int kMaxEvents = 256;

// Sentinels in epoll_event.data.u64; connections use their (aligned, larger) addresses.
constexpr uint64_t kListenTag = 1;
constexpr uint64_t kWakeTag = 2;

// The loop running on this thread, so that answers given inline need no wake-up.
thread_local Loop* tl_loop = nullptr;

}  // namespace

Loop::~Loop() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status Loop::Init(int listen_fd) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    return InternalError(std::string("cannot create an event loop: ") + std::strerror(errno));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  if (listen_fd >= 0) {
    listen_fd_ = listen_fd;
    ev.data.u64 = kListenTag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  }
  return Status::Ok();
}

void Loop::Wake() {
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN only when the counter is already huge: the loop is awake anyway
}

void Loop::Deliver(uint64_t id, Response response) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    done_.push_back(Done{id, std::move(response)});
    // The loop drains its inbox after every round of events, so an answer given on the
    // loop's own thread, or while a wake-up is already pending, needs no new one.
    if (tl_loop != this && !wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) Wake();
}

void Loop::Adopt(int fd, std::string remote) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      ::close(fd);
      group_->connections.fetch_sub(1);
      return;
    }
    adopted_.emplace_back(fd, std::move(remote));
    if (!wake_pending_) wake = wake_pending_ = true;
  }
  if (wake) Wake();
}

void Loop::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
    wake_pending_ = true;
  }
  Wake();
}

void Loop::Run() {
  tl_loop = this;
  epoll_event events[kMaxEvents];
  while (true) {
    int timeout = -1;
    if (stopping_ || accept_resume_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          (stopping_ ? deadline_ : *accept_resume_) - std::chrono::steady_clock::now());
      timeout = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    const std::optional<std::chrono::milliseconds> sweep_every = SweepInterval();
    if (sweep_every && !conns_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          next_sweep_ - std::chrono::steady_clock::now());
      int until_sweep = static_cast<int>(std::max<int64_t>(left.count(), 0));
      timeout = timeout < 0 ? until_sweep : std::min(timeout, until_sweep);
    }
    int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout);
    if (accept_resume_ && !stopping_ && std::chrono::steady_clock::now() >= *accept_resume_) {
      accept_resume_.reset();
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenTag;
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    }
    if (n < 0 && errno != EINTR) {
      GLOG(Error) << "epoll_wait: " << std::strerror(errno);
      break;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        Accept();
      } else if (tag == kWakeTag) {
        uint64_t count;
        while (::read(wake_fd_, &count, sizeof(count)) > 0) {
        }
      } else {
        OnEvent(static_cast<Conn*>(events[i].data.ptr), events[i].events);
      }
    }
    FinishRound();
    if (sweep_every && std::chrono::steady_clock::now() >= next_sweep_) {
      next_sweep_ = std::chrono::steady_clock::now() + *sweep_every;
      Sweep();
    }
    if (stopping_ && (conns_.empty() || std::chrono::steady_clock::now() >= deadline_)) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    for (auto& [fd, remote] : adopted_) {
      ::close(fd);
      group_->connections.fetch_sub(1);
    }
    adopted_.clear();
    done_.clear();
  }
  while (!conns_.empty()) Close(conns_.begin()->second.get());
  ::close(epoll_fd_);
  tl_loop = nullptr;
}

std::optional<std::chrono::milliseconds> Loop::SweepInterval() const {
  const auto& o = group_->options;
  std::chrono::milliseconds shortest{0};
  for (auto t : {o.idle_timeout, o.request_timeout}) {
    if (t.count() > 0 && (shortest.count() == 0 || t < shortest)) shortest = t;
  }
  if (shortest.count() == 0) return std::nullopt;
  return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

void Loop::Sweep() {
  const auto& o = group_->options;
  const auto now = std::chrono::steady_clock::now();
  std::vector<uint64_t> ids;
  ids.reserve(conns_.size());
  for (const auto& [id, c] : conns_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn* c = it->second.get();
    if (c->phase == Phase::kHandling) continue;  // the handler has it
    const bool reading =
        c->request_started.has_value() &&
        (c->phase == Phase::kBody || (c->phase == Phase::kHead && c->in.size() > 0));
    if (reading && o.request_timeout.count() > 0 &&
        now - *c->request_started >= o.request_timeout) {
      c->request_started.reset();
      c->in.Consume(c->in.size());
      c->head = Head{};  // answer as HTTP/1.1, not per the connection's previous request
      Reject(c, 408,
             "the request did not arrive within " + std::to_string(o.request_timeout.count()) +
                 " ms of its first byte");
      continue;
    }
    if (!reading && o.idle_timeout.count() > 0 && now - c->last_active >= o.idle_timeout) Close(c);
  }
}

void Loop::DrainInbox() {
  std::vector<Done> done;
  std::vector<std::pair<int, std::string>> adopted;
  bool stop = false;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done.swap(done_);
      adopted.swap(adopted_);
      stop = stop_requested_ && !stopping_;
      wake_pending_ = false;
    }
    if (done.empty() && adopted.empty() && !stop) return;
    if (stop) BeginStop();
    for (auto& [fd, remote] : adopted) {
      if (stopping_) {
        ::close(fd);
        group_->connections.fetch_sub(1);
      } else {
        AddConn(fd, std::move(remote));
      }
    }
    adopted.clear();
    // Answers given inline while processing these may land in done_ again: loop until quiet.
    for (auto& d : done) {
      auto it = conns_.find(d.id);
      if (it != conns_.end()) Answer(it->second.get(), std::move(d.response));
    }
    done.clear();
  }
}

void Loop::FinishRound() {
  while (true) {
    DrainInbox();
    if (!dispatched_ || !group_->options.after_round) return;
    dispatched_ = false;
    group_->options.after_round();
  }
}

void Loop::BeginStop() {
  stopping_ = true;
  deadline_ = std::chrono::steady_clock::now() + group_->options.drain_timeout;
  if (listen_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
  std::vector<Conn*> idle;
  for (auto& [id, c] : conns_) {
    // In flight: handed to the handler, or its answer still being written.
    bool in_flight =
        c->phase == Phase::kHandling || (c->out_sent < c->out.size() && c->phase != Phase::kLinger);
    if (in_flight) {
      c->close_after_write = true;
    } else {
      idle.push_back(c.get());
    }
  }
  for (Conn* c : idle) Close(c);
}

void Loop::Accept() {
  while (true) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        // Out of file descriptors, say: the listening socket stays readable, so stop
        // watching it for a while rather than spin.
        GLOG(Warning) << "accept: " << std::strerror(errno) << "; pausing accepts for "
                      << kAcceptPause.count() << " ms";
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accept_resume_ = std::chrono::steady_clock::now() + kAcceptPause;
      }
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (group_->connections.fetch_add(1) >= group_->options.max_connections) {
      group_->connections.fetch_sub(1);
      static constexpr char kBusy[] =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ssize_t n = ::send(fd, kBusy, sizeof(kBusy) - 1, MSG_NOSIGNAL);
      (void)n;
      ::close(fd);
      continue;
    }
    char host[INET6_ADDRSTRLEN] = "";
    if (addr.ss_family == AF_INET) {
      ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, host, sizeof(host));
    } else if (addr.ss_family == AF_INET6) {
      ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, host, sizeof(host));
    }
    auto& loops = group_->loops;
    Loop* target = loops[group_->round_robin++ % loops.size()].get();
    if (target == this) {
      AddConn(fd, host);
    } else {
      target->Adopt(fd, host);
    }
  }
}

void Loop::AddConn(int fd, std::string remote) {
  auto conn = std::make_unique<Conn>();
  conn->fd = fd;
  conn->id = group_->next_id.fetch_add(1);
  conn->remote = std::move(remote);
  conn->interest = EPOLLIN | EPOLLRDHUP;
  conn->last_active = std::chrono::steady_clock::now();
  epoll_event ev{};
  ev.events = conn->interest;
  ev.data.ptr = conn.get();
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    ::close(fd);
    group_->connections.fetch_sub(1);
    return;
  }
  conns_.emplace(conn->id, std::move(conn));
}

void Loop::Close(Conn* c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  group_->connections.fetch_sub(1);
  conns_.erase(c->id);  // destroys *c
}

void Loop::SetInterest(Conn* c, uint32_t events) {
  if (c->interest == events) return;
  c->interest = events;
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = c;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void Loop::OnEvent(Conn* c, uint32_t events) {
  if (events & EPOLLERR) {
    Close(c);
    return;
  }
  if (events & EPOLLOUT) {
    if (!Flush(c)) return;
    if (c->phase == Phase::kHead && c->out.empty()) {
      // Output drained: requests paused behind it may go on.
      if (!c->peer_closed) SetInterest(c, c->interest | EPOLLIN | EPOLLRDHUP);
      uint64_t id = c->id;
      Process(c);
      if (!conns_.count(id)) return;  // closed by a refused request
    }
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
    if (!ReadSome(c)) return;
    if (c->phase == Phase::kHead || c->phase == Phase::kBody) Process(c);
  }
}

bool Loop::ReadSome(Conn* c) {
  if (c->phase == Phase::kLinger) {
    char scratch[64 * 1024];
    ssize_t n = ::recv(c->fd, scratch, sizeof(scratch), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    uint64_t got = n > 0 ? static_cast<uint64_t>(n) : 0;
    if (got == 0 || got >= c->drop_left) {
      if (c->out_sent < c->out.size()) {
        // Answer not out yet: stop reading, Flush closes once it is.
        c->peer_closed = true;
        SetInterest(c, c->interest & ~(EPOLLIN | EPOLLRDHUP));
        return true;
      }
      Close(c);
      return false;
    }
    c->drop_left -= got;
    return true;
  }
  size_t want = kReadSize;
  if (c->phase == Phase::kBody) {
    want = std::max<size_t>(
        want, c->head.content_length - std::min<uint64_t>(c->head.content_length, c->in.size()));
  }
  auto [buf, room] = c->in.Reserve(want);
  ssize_t n = ::recv(c->fd, buf, room, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return true;
    Close(c);
    return false;
  }
  if (n == 0) {
    if (c->phase == Phase::kHandling || c->out_sent < c->out.size()) {
      // Half-closed after sending its request: answer, then close.
      c->peer_closed = true;
      c->close_after_write = true;
      SetInterest(c, c->interest & ~(EPOLLIN | EPOLLRDHUP));
      return true;
    }
    Close(c);
    return false;
  }
  c->in.Commit(static_cast<size_t>(n));
  c->last_active = std::chrono::steady_clock::now();
  if ((c->phase == Phase::kHead || c->phase == Phase::kBody) && !c->request_started) {
    c->request_started = c->last_active;
  }
  if (c->phase == Phase::kHandling && c->in.size() > kMaxBufferedWhileBusy) {
    SetInterest(c, c->interest & ~(EPOLLIN | EPOLLRDHUP));
  }
  return true;
}

void Loop::Process(Conn* c) {
  const auto& options = group_->options;
  while (c->phase == Phase::kHead || c->phase == Phase::kBody) {
    if (c->phase == Phase::kHead) {
      if (c->in.size() == 0) {
        c->in.Shrink();
        return;
      }
      if (!c->request_started) c->request_started = std::chrono::steady_clock::now();
      if (stopping_) return;  // no new requests; Flush closes once the last answer is out
      if (c->out.size() - c->out_sent > kMaxPendingOutput) {
        SetInterest(c, c->interest & ~(EPOLLIN | EPOLLRDHUP));  // EPOLLOUT resumes it
        return;
      }
      // Empty lines before a request line are ignored (RFC 9112 2.2).
      while (c->in.size() > 0 && (*c->in.data() == '\r' || *c->in.data() == '\n')) {
        c->in.Consume(1);
      }
      if (c->in.size() == 0) return;
      std::string_view buf(c->in.data(), c->in.size());
      size_t end = FindHeadEnd(buf.substr(0, std::min(buf.size(), options.max_header_bytes + 3)));
      if (end == std::string_view::npos) {
        if (buf.size() > options.max_header_bytes) {
          Reject(c, 431,
                 "the request line and headers are over " +
                     std::to_string(options.max_header_bytes) + " bytes");
        }
        return;
      }
      c->req = Request{};
      c->head = Head{};
      std::string error;
      int status = ParseHead(buf.substr(0, end), c->req, c->head, error);
      c->in.Consume(end);
      if (status != 0) {
        Reject(c, status, error);
        return;
      }
      c->req.remote_address = c->remote;
      size_t limit =
          options.body_limit ? options.body_limit(c->req.method, c->req.path) : kDefaultBodyLimit;
      if (c->head.content_length > limit) {
        std::string message = "request body of " + std::to_string(c->head.content_length) +
                              " bytes is over the limit of " + std::to_string(limit) +
                              " bytes for " + c->req.path;
        // Drop the body the client is still sending (bounded, see kLinger), so that one which
        // does not wait for "100 Continue" gets to read the answer instead of a reset.
        uint64_t buffered = std::min<uint64_t>(c->head.content_length, c->in.size());
        c->in.Consume(buffered);
        c->refused_body = std::min(c->head.content_length - buffered, kMaxDiscard);
        c->close_after_write = true;
        c->phase = Phase::kHandling;
        Answer(c, Response::FromStatus(ResourceExhaustedError(message)));
        return;
      }
      c->continue_sent = false;
      c->phase = Phase::kBody;
    }
    if (c->in.size() < c->head.content_length) {
      if (c->head.expect_continue && !c->continue_sent && !c->head.http10) {
        c->continue_sent = true;
        c->out += "HTTP/1.1 100 Continue\r\n\r\n";
        Flush(c);
      }
      return;
    }
    c->req.body.assign(c->in.data(), c->head.content_length);
    c->in.Consume(c->head.content_length);
    Dispatch(c);
  }
}

void Loop::Dispatch(Conn* c) {
  c->phase = Phase::kHandling;
  // The next request (pipelined, already buffered) starts its clock when it is parsed.
  c->request_started.reset();
  dispatched_ = true;
  Responder responder(shared_from_this(), c->id);
  try {
    group_->handler(c->req, std::move(responder));
  } catch (const std::exception& e) {
    // The Responder, if it was not kept, has answered 500 on unwinding.
    GLOG(Error) << "handler for " << c->req.method << " " << c->req.path << " threw: " << e.what();
  }
}

void Loop::Reject(Conn* c, int status, const std::string& message) {
  Response r = Response::FromStatus(status == 431 ? ResourceExhaustedError(message)
                                                  : InvalidArgumentError(message));
  r.status = status;
  c->close_after_write = true;
  c->phase = Phase::kHandling;  // Answer expects a request in flight
  Answer(c, std::move(r));
}

void Loop::Answer(Conn* c, Response response) {
  if (c->phase != Phase::kHandling) return;  // e.g. an answer to a request already refused
  bool keep_alive = c->head.keep_alive && !c->close_after_write && !stopping_;
  AppendResponse(c->out, response, keep_alive, c->head);
  c->req = Request{};
  if (!keep_alive) {
    c->close_after_write = true;
    c->phase = Phase::kLinger;
    c->drop_left = kMaxLinger + c->refused_body;
  } else {
    c->phase = Phase::kHead;
    if (!c->peer_closed) SetInterest(c, c->interest | EPOLLIN | EPOLLRDHUP);
  }
  if (!Flush(c)) return;
  if (c->phase == Phase::kHead) Process(c);  // a pipelined request may be waiting
}

bool Loop::Flush(Conn* c) {
  while (c->out_sent < c->out.size()) {
    ssize_t n =
        ::send(c->fd, c->out.data() + c->out_sent, c->out.size() - c->out_sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        SetInterest(c, c->interest | EPOLLOUT);
        return true;
      }
      Close(c);
      return false;
    }
    c->out_sent += static_cast<size_t>(n);
    c->last_active = std::chrono::steady_clock::now();
  }
  c->out.clear();
  c->out_sent = 0;
  if (c->interest & EPOLLOUT) SetInterest(c, c->interest & ~EPOLLOUT);
  if (c->close_after_write && c->phase != Phase::kHandling) {
    if (stopping_ || c->peer_closed) {
      Close(c);
      return false;
    }
    // Lingering close: no more output, and wait (dropping input) for the client to close, so
    // that unread input does not turn our close into a reset that loses the answer.
    ::shutdown(c->fd, SHUT_WR);
    if (c->phase != Phase::kLinger) {
      c->phase = Phase::kLinger;
      c->drop_left = kMaxLinger;
    }
    SetInterest(c, EPOLLIN | EPOLLRDHUP);
  }
  return true;
}

}  // namespace gantry::http::epoll
