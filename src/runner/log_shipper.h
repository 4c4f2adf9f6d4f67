// LogShipper: copies a growing local log file (the job's merged stdout/stderr, std_log.txt)
// to the server's log stream, from the first byte the server does not have yet.
//
// The local file is the durable buffer: the shipper keeps only an offset. Each Ship() sends
// bytes [shipped, file size) in chunks and moves `shipped` to the stream length the server
// answers. Resends are harmless because the server absorbs bytes it already has, so a lost
// answer only costs a resend. When the server reports a gap (it has fewer bytes than we
// think, e.g. after a restore), the shipper starts over from byte 0.
//
// Thread-compatible: one owner. The sink is called on the owner's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

#include "common/status.h"

namespace gantry::runner {

namespace fs = std::filesystem;

// Where log bytes go: POST /runs/{name}/logs/{stream}?offset=N, or a fake in tests.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // Appends `data` at byte `offset` of the stream. Returns the stream's length after the
  // append. Unavailable when the server cannot be reached; FailedPrecondition when `offset`
  // is past the stream's end (a gap).
  virtual Result<int64_t> AppendLog(int64_t offset, std::string_view data) = 0;
};

class LogShipper {
 public:
  LogShipper(fs::path file, LogSink* sink, size_t chunk_bytes = 1 << 20);

  // Sends what the server lacks. OK when the server has everything the file held at the
  // call; otherwise the sink's error (Unavailable: try again later), with `shipped` at what
  // the server confirmed. Internal when the file cannot be read or the server makes no
  // progress. An absent file is empty.
  Status Ship();

  // Bytes the server has confirmed.
  int64_t shipped() const { return shipped_; }

 private:
  fs::path file_;
  LogSink* sink_;
  size_t chunk_bytes_;
  int64_t shipped_ = 0;
};

}  // namespace gantry::runner
