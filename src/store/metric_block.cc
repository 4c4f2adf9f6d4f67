#include "store/metric_block.h"

#include <cstring>

namespace gantry::store {

void AppendToMetricBlock(std::string& block, const MetricPoint& p) {
  auto put = [&block](const void* data, size_t n) {
    block.append(static_cast<const char*>(data), n);
  };
  put(&p.step, 8);
  put(&p.timestamp, 8);
  uint8_t kind = (p.value_json.empty() ? 0 : 1) | (p.rank >= 0 ? 2 : 0);
  put(&kind, 1);
  if ((kind & 1) == 0) {
    put(&p.value, 8);
  } else {
    uint32_t len = static_cast<uint32_t>(p.value_json.size());
    put(&len, 4);
    block += p.value_json;
  }
  if (kind & 2) put(&p.rank, 4);
}

Status DecodeMetricBlock(const std::string& key, std::string_view data,
                         std::vector<MetricPoint>& out) {
  size_t i = 0;
  auto get = [&](void* dst, size_t n) {
    if (i + n > data.size()) return false;
    std::memcpy(dst, data.data() + i, n);
    i += n;
    return true;
  };
  while (i < data.size()) {
    MetricPoint p;
    p.key = key;
    uint8_t kind = 0;
    if (!get(&p.step, 8) || !get(&p.timestamp, 8) || !get(&kind, 1)) break;
    if ((kind & 1) == 0) {
      if (!get(&p.value, 8)) break;
    } else {
      uint32_t len = 0;
      if (!get(&len, 4) || i + len > data.size()) break;
      p.value_json.assign(data.substr(i, len));
      i += len;
    }
    if ((kind & 2) && !get(&p.rank, 4)) break;
    out.push_back(std::move(p));
    if (i == data.size()) return Status::Ok();
  }
  if (i == data.size()) return Status::Ok();
  return DataLossError("metric block of '" + key + "' is truncated");
}

}  // namespace gantry::store
