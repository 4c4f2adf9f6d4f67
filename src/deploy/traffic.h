// The router's two choices, as pure rules: which deployment of an endpoint takes a request
// (the endpoint's traffic split), and which ready replica of that deployment answers it
// (the current generation's in turn; during an update the previous generation's until the new
// one has a ready replica). Unit-tested in traffic_test.cc; ReplicaRouter and
// EndpointService::Score carry them out. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/json.h"

namespace gantry::deploy {

// The deployment that `draw` (0..99, uniform) lands on in `traffic` ({"blue": 90, "green":
// 10}, weights in percent); "" when no deployment has a positive weight.
std::string PickByTraffic(const Json& traffic, int64_t draw);

// The index of the replica that answers the `cursor`-th request, among `current` ready
// replicas of the generation being rolled out and `previous` ready ones of the generation it
// replaces: the current ones in turn while there are any, else the previous ones in turn;
// nullopt when neither has one. Indices past `current` are the previous ones'.
std::optional<size_t> PickReplica(size_t current, size_t previous, uint64_t cursor);

}  // namespace gantry::deploy
