#include "deploy/traffic.h"

namespace gantry::deploy {

std::string PickByTraffic(const Json& traffic, int64_t draw) {
  int64_t acc = 0;
  for (const auto& [name, weight] : traffic.items()) {  // nlohmann orders keys by name
    if (!weight.is_number_integer() || weight.get<int64_t>() <= 0) continue;
    acc += weight.get<int64_t>();
    if (draw < acc) return name;
  }
  return "";
}

std::optional<size_t> PickReplica(size_t current, size_t previous, uint64_t cursor) {
  if (current > 0) return static_cast<size_t>(cursor % current);
  if (previous > 0) return current + static_cast<size_t>(cursor % previous);
  return std::nullopt;
}

}  // namespace gantry::deploy
