// What a run's runners and the server say to each other, spelled once for both sides and the
// test fakes (docs/rest-api.md, "Runner endpoints"): the status report and the answer to it
// and to a heartbeat, the report of one node of a multi-node run and the nodes answer (the
// runners' rendezvous), the node states, and the names of a run's log streams. Each message
// has one typed shape and one JSON codec here; the API decodes what runners send with the
// strict decoders (InvalidArgument naming the field), the runner decodes answers with the same
// ones. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"
#include "jobs/run_status.h"

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

// POST /runs/NAME/status: a runner moves its run to `status`.
struct StatusReport {
  RunStatus status = RunStatus::kQueued;
  std::string detail;            // e.g. "building the environment"
  std::string error;             // Failed: why
  std::optional<int> exit_code;  // the final status: the command's (a rank's) exit code
  int64_t process_group = 0;     // Running: the command's process group, 0 when none
};
// Empty fields are left out.
Json StatusReportToJson(const StatusReport& report);
// InvalidArgument naming the field ("status", "exit_code", ...) that is missing or mistyped.
Result<StatusReport> StatusReportFromJson(const Json& body);

// What the server tells a runner about its run, in the answer to a heartbeat (and, as part of
// it, to a status report and a node report): the run's status name and whether a cancel was
// asked for.
struct RunControlReply {
  std::string status;
  bool cancel_requested = false;
};
Json RunControlReplyToJson(const RunControlReply& reply);
// Reads "status" and "cancel_requested" of any answer that has them (a run object answers a
// status report); InvalidArgument when the answer is not an object or they are mistyped.
Result<RunControlReply> RunControlReplyFromJson(const Json& answer);

// One node of a multi-node run as its runner reports it (POST /runs/NAME/nodes/RANK) and as
// the server lists it (updated_at: when the server last heard from it, server clock, ms).
struct NodeReport {
  int64_t rank = 0;
  NodeState state = NodeState::kReady;
  std::string address;  // where the node's processes listen (MASTER_ADDR for node 0)
  int64_t port = 0;     // node 0: MASTER_PORT / the first TensorFlow port; else 0
  std::string error;    // failed: what failed, naming the rank
  std::optional<int> exit_code;
  int64_t updated_at = 0;
};
// The body a runner posts: state, address, port, and error and exit_code when set.
Json NodeReportToJson(const NodeReport& report);
// The body of POST /runs/NAME/nodes/RANK for node `rank`: InvalidArgument naming the field.
Result<NodeReport> NodeReportFromJson(const Json& body, int64_t rank);

// The answer to a node report: the run's status and every node that reported, by rank.
struct NodesView {
  RunControlReply run;
  int64_t node_count = 1;
  std::vector<NodeReport> nodes;
};
Json NodesViewToJson(const NodesView& view);
// InvalidArgument naming the field when the answer is malformed. A node whose state this side
// does not know (a newer server's) reads as kReady: neither started nor ended.
Result<NodesView> NodesViewFromJson(const Json& answer);

// The log stream that holds a run's merged stdout and stderr.
inline constexpr char kMergedLogStream[] = "std_log.txt";
// The per-node log stream of node `rank` of a multi-node job: "std_log_node_RANK.txt". The
// server merges the complete lines of every node's stream into std_log.txt as they arrive.
std::string NodeLogStream(int64_t rank);
// The node whose per-node stream `stream` is; nullopt for any other stream.
std::optional<int64_t> NodeOfLogStream(std::string_view stream);

}  // namespace gantry::jobs
