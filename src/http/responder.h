// Responder: the handle an asynchronous handler uses to answer one request, possibly later and
// from another thread (e.g. a batching thread). The server hands one to the handler with each
// request; the handler calls Send exactly once. A Responder destroyed without Send answers
// 500, so a handler that throws or forgets cannot leave a connection hanging.
//
// Move-only. Send is safe from any thread; answering a connection that has meanwhile closed
// (or a server that has stopped) drops the response.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "http/http_types.h"

namespace gantry::http {

// Where responses go; implemented by the server (and by fakes in tests).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Delivers the answer to request `id`. Called from any thread.
  virtual void Deliver(uint64_t id, Response response) = 0;
};

class Responder {
 public:
  Responder() = default;
  Responder(std::shared_ptr<ResponseSink> sink, uint64_t id) : sink_(std::move(sink)), id_(id) {}
  Responder(Responder&& other) noexcept : sink_(std::move(other.sink_)), id_(other.id_) {}
  Responder& operator=(Responder&& other) noexcept {
    if (this != &other) {
      Abandon();
      sink_ = std::move(other.sink_);
      id_ = other.id_;
    }
    return *this;
  }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder() { Abandon(); }

  // Answers the request. Only the first call on a Responder does anything.
  void Send(Response response) {
    if (auto sink = std::move(sink_)) sink->Deliver(id_, std::move(response));
  }
  // Whether Send may still be called.
  bool pending() const { return sink_ != nullptr; }

 private:
  void Abandon() {
    if (sink_) Send(Response::FromStatus(InternalError("the request was dropped unanswered")));
  }

  std::shared_ptr<ResponseSink> sink_;
  uint64_t id_ = 0;
};

// A handler that answers through its Responder, now or later. `request` is valid only during
// the call: copy what an answer given later needs.
using AsyncHandler = std::function<void(Request& request, Responder responder)>;

}  // namespace gantry::http
