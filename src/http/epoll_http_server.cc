#include "http/epoll_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "http/epoll_loop.h"

namespace gantry::http {

// The listening socket and the loop threads; what the loops share is in `group`.
struct EpollHttpServer::State {
  epoll::LoopGroup group;
  int listen_fd = -1;
  int port = 0;
  std::vector<std::thread> threads;
  std::atomic<bool> stopped{false};
};

Result<std::unique_ptr<EpollHttpServer>> EpollHttpServer::Start(
    const EpollHttpServerOptions& options, AsyncHandler handler) {
  auto state = std::make_unique<State>();
  state->group.options = options;
  state->group.handler = std::move(handler);

  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, options.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(options.port));
    addr_len = sizeof(*v4);
  } else if (::inet_pton(AF_INET6, options.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(options.port));
    addr_len = sizeof(*v6);
  } else {
    return Err(InvalidArgumentError("invalid --host '" + options.host + "'"));
  }
  auto cannot_listen = [&options](int err) {
    return UnavailableError("cannot listen on " + options.host + ":" +
                            std::to_string(options.port) + ": " + std::strerror(err));
  };
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(cannot_listen(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0 ||
      ::listen(fd, SOMAXCONN) != 0) {
    int err = errno;
    ::close(fd);
    return Err(cannot_listen(err));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  state->port = ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  state->listen_fd = fd;

  int loops = options.loop_threads;
  if (loops <= 0) loops = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  for (int i = 0; i < loops; ++i) {
    auto loop = std::make_shared<epoll::Loop>(&state->group, i);
    Status st = loop->Init(i == 0 ? fd : -1);
    if (!st.ok()) {
      ::close(fd);
      return Err(st);
    }
    state->group.loops.push_back(std::move(loop));
  }
  for (auto& loop : state->group.loops) {
    state->threads.emplace_back([l = loop.get()] { l->Run(); });
    std::string name = "http-loop-" + std::to_string(state->threads.size() - 1);
    ::pthread_setname_np(state->threads.back().native_handle(), name.c_str());
  }
  return std::unique_ptr<EpollHttpServer>(new EpollHttpServer(std::move(state)));
}

EpollHttpServer::EpollHttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

EpollHttpServer::~EpollHttpServer() { Stop(); }

int EpollHttpServer::port() const { return state_->port; }

void EpollHttpServer::Stop() {
  if (state_->stopped.exchange(true)) return;
  for (auto& loop : state_->group.loops) loop->RequestStop();
  for (auto& t : state_->threads) t.join();
  ::close(state_->listen_fd);
}

}  // namespace gantry::http
