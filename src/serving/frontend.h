// Frontend: one protocol of `gantry serve` over the ServedModel (Open Inference v2, TF
// Serving REST, Azure ML's /score). AddRoutes registers its named handlers on the model
// server's router; the hot prediction requests that it can read without the router (parsed
// with simdjson, answered as text straight from the outputs) go through TakesFast, ReadFast
// and AnswerFast instead, so that an event loop can hand them to the scheduler without
// blocking. Whatever the fast path does not read goes to the route handlers, which answer
// every other request and every error in the protocol's own shape.
// Thread-safe after AddRoutes: const methods only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/router.h"
#include "serving/served_model.h"

namespace gantry::serving {

// A request the fast path read: the tensors for the scheduler, and what the answer needs.
struct FastRequest {
  std::vector<Tensor> inputs;
  std::optional<std::string> id;  // Open Inference v2's request id, echoed in the answer
};

class Frontend {
 public:
  // `model` outlives the front-end and its routes.
  explicit Frontend(const ServedModel& model) : model_(model) {}
  virtual ~Frontend() = default;
  Frontend(const Frontend&) = delete;
  Frontend& operator=(const Frontend&) = delete;

  // Registers this protocol's routes: over a ModelBackend the whole protocol, over a
  // RawScorer what it answers then (health, and that only /score scores).
  virtual void AddRoutes(http::Router& router) const = 0;
  // Whether the fast path may read `request` (by its method and path).
  virtual bool TakesFast(const http::Request&) const { return false; }
  // The request's inputs, or nullopt where the fast path does not read it (the route handler
  // then answers it, errors included).
  virtual std::optional<FastRequest> ReadFast(const http::Request&) const { return std::nullopt; }
  // The answer to a request ReadFast read, given the scheduler's result: the same document
  // the route handler gives.
  // Only front-ends whose TakesFast says yes are asked.
  virtual http::Response AnswerFast(Result<std::vector<Tensor>> /*outputs*/,
                                    const std::optional<std::string>& /*id*/) const {
    return Error(500, "this protocol has no fast path");
  }

 protected:
  // {"error": message}, the error shape of all three protocols.
  static http::Response Error(int status, const std::string& message) {
    return http::Response::FromJson(status, {{"error", message}});
  }
  // What the tensor protocols answer over a RawScorer.
  std::string OnlyScoreMessage() const {
    return "model '" + model_.name + "' is served by the " + model_.backend +
           " backend, which answers POST /score only";
  }

  const ServedModel& model_;
};

}  // namespace gantry::serving
