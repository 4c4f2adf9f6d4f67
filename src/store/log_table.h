// LogTable: the log streams of runs (std_log.txt and the like), append-only byte streams
// written in chunks at known offsets so that a resent chunk is stored once. Part of a
// MetadataStore (MetadataStore::logs()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace gantry::store {

class LogTable {
 public:
  virtual ~LogTable() = default;

  // Appends `data` at byte `offset` of the log `stream`. Idempotent for resends: bytes
  // before the stream's current length are skipped. FailedPrecondition when `offset` is past
  // the end (a gap). Returns the stream's new length.
  virtual Result<int64_t> AppendLog(const std::string& run, const std::string& stream,
                                    int64_t offset, std::string_view data) = 0;
  // Up to `max_bytes` from `offset`; "" at the end.
  virtual Result<std::string> ReadLog(const std::string& run, const std::string& stream,
                                      int64_t offset, int64_t max_bytes) = 0;
  // (stream, length) pairs, by stream name.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> ListLogs(const std::string& run) = 0;
};

}  // namespace gantry::store
