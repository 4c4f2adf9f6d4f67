#include "jobs/run_messages.h"

namespace gantry::jobs {

std::string NodeStateName(NodeState state) {
  switch (state) {
    case NodeState::kReady:
      return "ready";
    case NodeState::kRunning:
      return "running";
    case NodeState::kSucceeded:
      return "succeeded";
    case NodeState::kFailed:
      return "failed";
    case NodeState::kStopped:
      return "stopped";
  }
  return "unknown";
}

Result<NodeState> ParseNodeState(std::string_view name) {
  for (NodeState s : {NodeState::kReady, NodeState::kRunning, NodeState::kSucceeded,
                      NodeState::kFailed, NodeState::kStopped}) {
    if (NodeStateName(s) == name) return s;
  }
  return Err(InvalidArgumentError("node state '" + std::string(name) +
                                  "' is not one of ready, running, succeeded, failed, stopped"));
}

bool IsFinalNodeState(NodeState state) {
  return state == NodeState::kSucceeded || state == NodeState::kFailed ||
         state == NodeState::kStopped;
}

std::string NodeLogStream(int64_t rank) { return "std_log_node_" + std::to_string(rank) + ".txt"; }

std::optional<int64_t> NodeOfLogStream(std::string_view stream) {
  constexpr std::string_view kPrefix = "std_log_node_", kSuffix = ".txt";
  if (stream.size() <= kPrefix.size() + kSuffix.size() || !stream.starts_with(kPrefix) ||
      !stream.ends_with(kSuffix)) {
    return std::nullopt;
  }
  std::string_view digits =
      stream.substr(kPrefix.size(), stream.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.size() > 6 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::stoll(std::string(digits));
}

}  // namespace gantry::jobs
