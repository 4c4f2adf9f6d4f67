// RawScorer: a model behind `POST /score` that takes the request body as it comes, for
// backends that are not tensor-shaped (an Azure ML entry script's run(raw_data)). The
// ModelServer uses it instead of a ModelBackend; other protocols answer that this backend
// serves `/score` only. Implementations are thread-safe for concurrent Score calls.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace gantry::serving {

struct ScorerStats {
  int workers = 0;        // configured
  int workers_ready = 0;  // initialised and alive (idle or busy)
  int busy = 0;           // running a request now
  int queued = 0;         // requests waiting for a free worker
  int64_t restarts = 0;   // workers restarted after a crash or a timeout
};

class RawScorer {
 public:
  virtual ~RawScorer() = default;
  // Scores one request body and returns the JSON answer. Errors: Internal when the model
  // raised or its worker died (the message says which), DeadlineExceeded past the request
  // timeout, Unavailable when too many requests wait or the scorer is stopping.
  virtual Result<std::string> Score(const std::string& body) = 0;
  virtual ScorerStats Stats() const = 0;
};

}  // namespace gantry::serving
