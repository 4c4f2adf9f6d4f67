#include "jobs/run_messages.h"

#include <cstdint>

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

Json StatusReportToJson(const StatusReport& report) {
  Json body = {{"status", std::string(RunStatusName(report.status))}};
  if (!report.detail.empty()) body["detail"] = report.detail;
  if (!report.error.empty()) body["error"] = report.error;
  if (report.exit_code) body["exit_code"] = *report.exit_code;
  if (report.process_group != 0) body["process_group"] = report.process_group;
  return body;
}

namespace {

// An optional exit code: absent or null is none; otherwise an integer that fits an int.
Result<std::optional<int>> ExitCodeField(const Json& body) {
  auto it = body.find("exit_code");
  if (it == body.end() || it->is_null()) return std::optional<int>();
  ASSIGN_OR_RETURN(int64_t code, IntFromJson(*it, "exit_code"));
  if (code < INT32_MIN || code > INT32_MAX) {
    return Err(InvalidArgumentError("field 'exit_code' is out of range: " + std::to_string(code)));
  }
  return std::optional<int>(static_cast<int>(code));
}

Result<bool> BoolField(const Json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be true or false"));
  }
  return it->get<bool>();
}

// A node's address, error, port and exit code, as both a node report and the nodes answer
// carry them.
Status ReadNodeFields(const Json& j, NodeReport* node) {
  ASSIGN_OR_RETURN(node->address, GetString(j, "address"));
  ASSIGN_OR_RETURN(node->error, GetString(j, "error"));
  ASSIGN_OR_RETURN(node->port, GetInt(j, "port"));
  ASSIGN_OR_RETURN(node->exit_code, ExitCodeField(j));
  return Status::Ok();
}

}  // namespace

Result<StatusReport> StatusReportFromJson(const Json& body) {
  if (!body.is_object()) return Err(InvalidArgumentError("the status report must be an object"));
  StatusReport report;
  ASSIGN_OR_RETURN(std::string status, GetString(body, "status"));
  ASSIGN_OR_RETURN(report.status, ParseRunStatus(status));
  ASSIGN_OR_RETURN(report.detail, GetString(body, "detail"));
  ASSIGN_OR_RETURN(report.error, GetString(body, "error"));
  ASSIGN_OR_RETURN(report.process_group, GetInt(body, "process_group"));
  ASSIGN_OR_RETURN(report.exit_code, ExitCodeField(body));
  return report;
}

Json RunControlReplyToJson(const RunControlReply& reply) {
  return {{"status", reply.status}, {"cancel_requested", reply.cancel_requested}};
}

Result<RunControlReply> RunControlReplyFromJson(const Json& answer) {
  if (!answer.is_object()) return Err(InvalidArgumentError("the server's answer is not an object"));
  RunControlReply reply;
  ASSIGN_OR_RETURN(reply.status, GetString(answer, "status"));
  ASSIGN_OR_RETURN(reply.cancel_requested, BoolField(answer, "cancel_requested"));
  return reply;
}

Json NodeReportToJson(const NodeReport& report) {
  Json body = {
      {"state", NodeStateName(report.state)}, {"address", report.address}, {"port", report.port}};
  if (!report.error.empty()) body["error"] = report.error;
  if (report.exit_code) body["exit_code"] = *report.exit_code;
  return body;
}

Result<NodeReport> NodeReportFromJson(const Json& body, int64_t rank) {
  if (!body.is_object()) return Err(InvalidArgumentError("the node report must be an object"));
  NodeReport report;
  report.rank = rank;
  ASSIGN_OR_RETURN(std::string state, GetString(body, "state"));
  ASSIGN_OR_RETURN(report.state, ParseNodeState(state));
  RETURN_IF_ERROR(ReadNodeFields(body, &report));
  return report;
}

Json NodesViewToJson(const NodesView& view) {
  Json nodes = Json::array();
  for (const NodeReport& n : view.nodes) {
    nodes.push_back({{"rank", n.rank},
                     {"state", NodeStateName(n.state)},
                     {"address", n.address},
                     {"port", n.port},
                     {"error", n.error},
                     {"exit_code", n.exit_code ? Json(*n.exit_code) : Json(nullptr)},
                     {"updated_at", n.updated_at}});
  }
  Json j = RunControlReplyToJson(view.run);
  j["node_count"] = view.node_count;
  j["nodes"] = std::move(nodes);
  return j;
}

Result<NodesView> NodesViewFromJson(const Json& answer) {
  NodesView view;
  ASSIGN_OR_RETURN(view.run, RunControlReplyFromJson(answer));
  ASSIGN_OR_RETURN(view.node_count, GetInt(answer, "node_count", 1));
  auto nodes = answer.find("nodes");
  if (nodes == answer.end() || nodes->is_null()) return view;
  if (!nodes->is_array()) return Err(InvalidArgumentError("field 'nodes' must be an array"));
  for (const Json& n : *nodes) {
    if (!n.is_object()) return Err(InvalidArgumentError("each of 'nodes' must be an object"));
    NodeReport node;
    ASSIGN_OR_RETURN(node.rank, GetInt(n, "rank", -1));
    if (node.rank < 0) return Err(InvalidArgumentError("a node of 'nodes' has no 'rank'"));
    ASSIGN_OR_RETURN(std::string state, GetString(n, "state"));
    if (Result<NodeState> known = ParseNodeState(state)) node.state = *known;
    RETURN_IF_ERROR(ReadNodeFields(n, &node));
    ASSIGN_OR_RETURN(node.updated_at, GetInt(n, "updated_at"));
    view.nodes.push_back(std::move(node));
  }
  return view;
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
