// MetricsRelay: forwards what a job logs through the Python SDK (gantry.Run) to the server.
//
// The SDK appends JSON lines to $GANTRY_METRICS_FILE:
//   {"t":"metric","key":"loss","value":0.25,"step":10,"ts":1700000000000}
//   {"t":"tag","key":"model","value":"resnet"}
// The relay tails that file (LineTail), turns runs of metric records into
// POST /runs/{name}/metrics batches of up to max_batch records, and runs of tag records into
// POST /runs/{name}/tags, in file order. The file offset moves past a batch only once the
// sink accepted it, so nothing is lost or sent twice while the server is away. A malformed
// line is skipped with one warning in the runner's own log; it never stops the relay.
//
// Thread-compatible: one owner. The sink is called on the owner's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>

#include "common/json.h"
#include "common/status.h"
#include "runner/line_tail.h"

namespace gantry::runner {

// Where relayed records go: the run's REST endpoints, or a fake in tests.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // Sends {"metrics": metrics}, metrics being a list of {"key","value","step"?,"timestamp"?}.
  // `through` is the byte offset in the SDK's record file where the batch ends; the server
  // skips a batch it has already applied (a resend after a lost answer).
  // Unavailable when the server cannot be reached; InvalidArgument or ResourceExhausted when
  // it refuses the batch's content.
  virtual Status PostMetrics(const Json& metrics, int64_t through) = 0;
  // Sends {"tags": tags}, tags being an object of string values. Errors as PostMetrics.
  virtual Status PostTags(const Json& tags) = 0;
};

// One SDK record, converted to the REST shape.
struct MetricRecord {
  Json point;  // {"key", "value", "step" (absent when null), "timestamp" (absent when no ts)}
};
struct TagRecord {
  std::string key, value;
};
using SdkRecord = std::variant<MetricRecord, TagRecord>;

// Parses one line of the metrics file. InvalidArgument saying what is wrong otherwise.
Result<SdkRecord> ParseSdkRecord(std::string_view line);

struct MetricsRelayOptions {
  // Most metric points in one POST.
  size_t max_batch = 5000;
  // About how many bytes of the file one Relay() pass reads at a time.
  size_t read_bytes = 4 << 20;
  // Lines longer than this are skipped as malformed.
  size_t max_line_bytes = 8 << 20;
};

class MetricsRelay {
 public:
  MetricsRelay(fs::path metrics_file, MetricsSink* sink, MetricsRelayOptions options = {});

  // Delivers every complete record now in the file (with `final`, also an unterminated last
  // line: the writer is gone). OK when everything was delivered or skipped. On a failed
  // delivery, returns that error (Unavailable: try again later) with the offset left before
  // the failed batch. A batch the server refuses as invalid is retried one record at a time
  // and the refused records are dropped with a warning, so one bad value cannot block the
  // rest. Internal when the file cannot be read.
  Status Relay(bool final = false);

  // Bytes of the file delivered or skipped so far.
  int64_t offset() const { return tail_.offset(); }
  // The file's size now (0 when it is absent or cannot be read): past offset(), something
  // waits to be relayed.
  int64_t FileBytes() const;
  // Records accepted by the sink / skipped as malformed or refused, so far.
  int64_t delivered() const { return delivered_; }
  int64_t skipped() const { return skipped_; }

 private:
  struct Batch;
  Status Deliver(const Batch& batch);

  LineTail tail_;
  MetricsSink* sink_;
  MetricsRelayOptions options_;
  // Lines before this offset were already warned about, so a retried pass stays quiet.
  int64_t warned_offset_ = 0;
  int64_t delivered_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace gantry::runner
