// What a run's runners and the server say to each other about a multi-node run, spelled once
// for both sides and the test fakes: the state a node reports (RunService::ReportNode, the
// runner's rendezvous) and the names of a run's log streams. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry::jobs {

// A node of a multi-node run, in order: kReady (prepared, waiting for the others), kRunning
// (its ranks started), then one of kSucceeded, kFailed, kStopped (ended because another node
// failed, a cancel or a signal).
enum class NodeState { kReady, kRunning, kSucceeded, kFailed, kStopped };

// "ready", "running", "succeeded", "failed", "stopped" (the REST API's words).
std::string NodeStateName(NodeState state);
// InvalidArgument naming the text and the states when it is none of them.
Result<NodeState> ParseNodeState(std::string_view name);
// The states a runner ends in: succeeded, failed, stopped.
bool IsFinalNodeState(NodeState state);

// The log stream that holds a run's merged stdout and stderr.
inline constexpr char kMergedLogStream[] = "std_log.txt";
// The per-node log stream of node `rank` of a multi-node job: "std_log_node_RANK.txt". The
// server merges the complete lines of every node's stream into std_log.txt as they arrive.
std::string NodeLogStream(int64_t rank);
// The node whose per-node stream `stream` is; nullopt for any other stream.
std::optional<int64_t> NodeOfLogStream(std::string_view stream);

}  // namespace gantry::jobs
