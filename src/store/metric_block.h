// The metric-block codec: how a batch of one series' points is packed into one stored value.
// A block holds the points one request logged for one series, in logging order; per point
// int64 step, int64 timestamp, uint8 kind, then a double (kind bit 1 clear) or a uint32
// length and that many bytes of JSON (bit 1 set), then, with kind bit 2, the int32 rank of
// the process that logged it. Integers and doubles are in the machine's byte order. One row
// per series per batch keeps a store's hot insert path to a handful of rows however many
// points a batch carries. Backend-neutral: any store may keep blocks as a BLOB / bytea.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "store/metric_table.h"

namespace gantry::store {

// Appends `point` (its step already assigned; its key is the block's, not stored) to `block`.
void AppendToMetricBlock(std::string& block, const MetricPoint& point);

// Appends the points of `block` to `out`, each with key `key`. DataLoss naming the key when
// the block ends inside a point (the points before it are appended).
Status DecodeMetricBlock(const std::string& key, std::string_view block,
                         std::vector<MetricPoint>& out);

}  // namespace gantry::store
