// The state of one connection of the epoll server: its byte buffers, where it is in the
// request/answer cycle (Phase), and the request being read or answered. The Loop that owns a
// connection (epoll_loop.h) drives it; these types only hold the state.
//
// Internal to src/http: only the epoll server's own files include it.
// Thread-compatible: a connection is touched only on its loop's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "http/http1_codec.h"
#include "http/http_types.h"

namespace gantry::http::epoll {

// Smallest free space offered to read(2); most requests arrive in one read.
constexpr size_t kReadSize = 16 * 1024;

// A byte buffer read into at the end and consumed from the front.
class Buffer {
 public:
  const char* data() const { return buf_.get() + begin_; }
  size_t size() const { return end_ - begin_; }
  size_t capacity() const { return cap_; }
  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Room for at least `n` more bytes at the end; returns where they go and how many fit.
  std::pair<char*, size_t> Reserve(size_t n) {
    if (cap_ - end_ < n) {
      size_t live = size();
      if (begin_ > 0 && cap_ - live >= n) {
        std::memmove(buf_.get(), data(), live);
      } else {
        size_t cap = std::max(cap_ * 2, live + n);
        auto grown = std::make_unique_for_overwrite<char[]>(cap);
        if (live > 0) std::memcpy(grown.get(), data(), live);
        buf_ = std::move(grown);
        cap_ = cap;
      }
      begin_ = 0;
      end_ = live;
    }
    return {buf_.get() + end_, cap_ - end_};
  }
  void Commit(size_t n) { end_ += n; }
  // Frees a large buffer once it is empty (a connection that once sent a big body).
  void Shrink() {
    if (begin_ == end_ && cap_ > 4 * kReadSize) {
      buf_.reset();
      cap_ = begin_ = end_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
};

enum class Phase {
  kHead,      // reading a request's header block
  kBody,      // reading its body
  kHandling,  // handed to the handler, waiting for its answer
  kLinger,    // answered with "Connection: close" (or 413): dropping input, e.g. a refused
              // body, until the client closes
};

struct Conn {
  int fd = -1;
  uint64_t id = 0;
  std::string remote;
  Buffer in;
  std::string out;
  size_t out_sent = 0;
  Phase phase = Phase::kHead;
  Request req;  // the request being read or answered
  Head head;
  bool continue_sent = false;
  bool close_after_write = false;
  bool peer_closed = false;
  uint64_t refused_body = 0;                          // what is left of a body answered 413
  uint64_t drop_left = 0;                             // bytes still to drop in kLinger
  uint32_t interest = 0;                              // epoll events currently registered
  std::chrono::steady_clock::time_point last_active;  // last byte read or written
  // When the first byte of the request being read arrived; unset between requests.
  std::optional<std::chrono::steady_clock::time_point> request_started;
};

}  // namespace gantry::http::epoll
