// The epoll server's event loop: one Loop per loop thread owns an epoll set, the connections
// handed to it (epoll_conn.h), and an inbox through which other threads post answers and new
// connections. It reads and parses requests (http1_codec.h), calls the handler, writes answers,
// and times out idle and slow connections. LoopGroup is what the loops of one server share.
// EpollHttpServer (epoll_http_server.cc) only listens, starts the loops and stops them.
//
// Internal to src/http: only the epoll server's own files include it.
// Thread-safety: see each class.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "http/epoll_conn.h"
#include "http/epoll_http_server.h"
#include "http/responder.h"

namespace gantry::http::epoll {

class Loop;

// What the loops of one server share. Filled by EpollHttpServer::Start before the loop threads
// start; after that only the atomics change, and round_robin on the accepting loop's thread.
// The server owns it and outlives the loop threads.
struct LoopGroup {
  EpollHttpServerOptions options;
  AsyncHandler handler;
  // Every loop of the server; the accepting loop (the first) hands connections round them.
  std::vector<std::shared_ptr<Loop>> loops;
  std::atomic<int> connections{0};  // open on all loops, against options.max_connections
  std::atomic<uint64_t> next_id{1};
  uint64_t round_robin = 0;  // only the accepting loop uses it
};

// One loop thread: its epoll set, its connections, and the inbox other threads post answers
// and new connections to. Shared with Responders, which may outlive the server: after the
// loop has exited, Deliver drops answers.
//
// Thread-safe where marked: Deliver, Adopt and RequestStop are called from any thread and go
// through the inbox (mu_); everything else runs on the loop's own thread, in Run (Init before
// the thread starts).
class Loop : public ResponseSink, public std::enable_shared_from_this<Loop> {
 public:
  Loop(LoopGroup* group, int index) : group_(group), index_(index) {}
  ~Loop() override;

  Status Init(int listen_fd);
  void Run();
  // From any thread.
  void Deliver(uint64_t id, Response response) override;
  // From the accepting loop's thread: takes over connection `fd`.
  void Adopt(int fd, std::string remote);
  // From any thread: starts the drain (see EpollHttpServer::Stop); Run returns after it.
  void RequestStop();

 private:
  struct Done {
    uint64_t id;
    Response response;
  };

  void Wake();
  void Accept();
  void AddConn(int fd, std::string remote);
  void Close(Conn* c);
  void SetInterest(Conn* c, uint32_t events);
  void OnEvent(Conn* c, uint32_t events);
  // Reads what is there; false when the connection was closed.
  bool ReadSome(Conn* c);
  // Parses and dispatches buffered requests while the connection is free to take one.
  void Process(Conn* c);
  void Dispatch(Conn* c);
  // Queues an error answer and closes the connection after it.
  void Reject(Conn* c, int status, const std::string& message);
  void Answer(Conn* c, Response response);
  // Writes pending output; false when the connection was closed.
  bool Flush(Conn* c);
  void DrainInbox();
  // Delivers answers and calls after_round until neither lets more requests through.
  void FinishRound();
  void BeginStop();
  // How often Sweep runs while there are connections (none when no timeout is set).
  std::optional<std::chrono::milliseconds> SweepInterval() const;
  // Closes idle connections and answers 408 to requests that are too slow to arrive.
  void Sweep();

  LoopGroup* group_;
  int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int listen_fd_ = -1;  // only on the accepting loop
  // Set while accepting is paused (accept failed for want of resources): when to resume.
  std::optional<std::chrono::steady_clock::time_point> accept_resume_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  bool stopping_ = false;
  bool dispatched_ = false;  // the handler was called since after_round last ran
  std::chrono::steady_clock::time_point next_sweep_;
  std::chrono::steady_clock::time_point deadline_;

  std::mutex mu_;
  std::vector<Done> done_;                            // guarded by mu_
  std::vector<std::pair<int, std::string>> adopted_;  // guarded by mu_
  bool stop_requested_ = false;                       // guarded by mu_
  bool wake_pending_ = false;                         // guarded by mu_
  bool closed_ = false;                               // guarded by mu_
};

}  // namespace gantry::http::epoll
