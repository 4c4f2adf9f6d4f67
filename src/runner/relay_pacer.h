// RelayPacer: decides when the runner relays what the SDK wrote to the metrics file.
//
// A policy of a sweep decides on a trial's primary metric as it arrives, so a point should
// reach the server as soon as the SDK appends it, not at the next regular pass. The rule:
// relay at the regular cadence (every_ms since the last pass), and also as soon as the file
// holds bytes not yet relayed, unless a pass ran in the last min_gap_ms. A script that logs
// in a tight loop therefore costs at most one POST per min_gap_ms, and one that logs once an
// epoch has each point sent within one watch step of its write.
//
// Pure: the caller passes the clock's time and the byte counts. Thread-compatible.
#pragma once

#include <cstdint>

namespace gantry::runner {

struct RelayPacerOptions {
  // The regular cadence: a pass at least this often, written bytes or not (it also picks up
  // records that an outage held back).
  int64_t every_ms = 200;
  // The least time between two passes when new bytes are waiting.
  int64_t min_gap_ms = 20;
};

class RelayPacer {
 public:
  explicit RelayPacer(RelayPacerOptions options = {}) : options_(options) {}

  // Whether a pass is due at `now`, given the metrics file's size and the offset relayed so
  // far. The first call after construction is always due.
  bool Due(int64_t now, int64_t file_bytes, int64_t relayed_bytes) const {
    if (!passed_) return true;
    if (now - last_pass_ms_ >= options_.every_ms) return true;
    return file_bytes > relayed_bytes && now - last_pass_ms_ >= options_.min_gap_ms;
  }
  // Records that a pass ran (or was tried) at `now`.
  void Passed(int64_t now) {
    passed_ = true;
    last_pass_ms_ = now;
  }

 private:
  RelayPacerOptions options_;
  bool passed_ = false;
  int64_t last_pass_ms_ = 0;
};

}  // namespace gantry::runner
