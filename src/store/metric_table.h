// MetricTable: the metrics runs log — one series per (run, key), each point with its step —
// and, per record stream, how far the stream has been applied, so that a resent batch is
// stored once. Part of a MetadataStore (MetadataStore::metrics()). Implementations are
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::store {

struct MetricPoint {
  std::string key;
  double value = 0;        // numeric value (used when value_json is empty)
  std::string value_json;  // non-numeric values (strings, rows, tables) as JSON text
  int64_t step = -1;       // -1: the store assigns the series' next step
  int64_t timestamp = 0;   // epoch ms
  int32_t rank = -1;       // the distributed job's process that logged it; -1: none
};

class MetricTable {
 public:
  virtual ~MetricTable() = default;

  // Appends points; a point with step -1 gets its series' next step. All or nothing.
  // InvalidArgument when a point has an empty key.
  // `through` > 0 makes resends harmless: it is where this batch ends in the sender's
  // ordered record stream, and a batch whose `through` is not past the last applied one for
  // this run and `sender` is skipped (OK, nothing stored). `sender` tells apart the record
  // streams of several senders to one run (the nodes of a multi-node job, "node_1").
  virtual Status AppendMetrics(const std::string& run, const std::vector<MetricPoint>& points,
                               int64_t through = 0, const std::string& sender = "") = 0;
  // Every point of `run` (of `key` when not empty), ordered by key, then step, then logging
  // order.
  virtual Result<std::vector<MetricPoint>> GetMetrics(const std::string& run,
                                                      const std::string& key = "") = 0;
  // The most recently logged point of each series, by key.
  virtual Result<std::vector<MetricPoint>> LatestMetrics(const std::string& run) = 0;
};

}  // namespace gantry::store
