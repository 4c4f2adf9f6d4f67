// NodeGroup: this node's part in a multi-node job (one runner per node, e.g. under Slurm): its
// address and node state, the rendezvous through the server (every node reports ready with
// its address, node 0 also its port, and waits until all are), and, while the job runs, what
// the other nodes' reports say: whether all run, whether all ended, the first failure among
// them, and nodes that went silent.
//
// The rules of reading the others are pure functions (ReadMeeting, ReadPeers), unit-tested in
// node_group_test.cc; NodeGroup applies them to the server's answers through a ServerLink.
// Thread-compatible: the runner's thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "jobs/run_messages.h"
#include "runner/job_processes.h"
#include "runner/runner_system.h"
#include "runner/server_link.h"

namespace gantry::runner {

// How long a node that has not ended may stay silent before node 0 counts it as lost.
inline constexpr int64_t kNodeSilentMs = 30'000;

// What a nodes answer says about the rendezvous: complete (every node gave its address: the
// layout), a node that already failed, or the nodes still missing ("1, 3").
struct Meeting {
  bool complete = false;
  std::optional<std::string> failure;
  std::string missing;
  NodeLayout layout;  // hosts by node rank and node 0's port, when complete
};
Meeting ReadMeeting(const jobs::NodesView& view, int64_t node_count);

// What a nodes answer says about the other nodes while the job runs.
struct PeerReading {
  bool all_started = true;      // every other node runs or has ended
  bool others_ended = true;     // every other node has ended
  bool others_stopped = false;  // some other node ended "stopped"
  std::string failure;          // the first failure among them ("" when none)
  std::optional<int> failure_exit_code;
};
// `self`: this node's rank; `leader`: this is node 0, which alone counts silent nodes as lost
// (silent for kNodeSilentMs by the server's clock, or gone from the server's answer for that
// long by `now_ms`; `missing_since_ms` remembers since when, by rank).
PeerReading ReadPeers(const jobs::NodesView& view, int64_t self, int64_t node_count, bool leader,
                      int64_t now_ms, std::map<int64_t, int64_t>* missing_since_ms);

struct NodeGroupOptions {
  std::string run_name;
  std::string server_url;  // this node's address defaults to its route towards the server
  int node_count = 2;
  int node_rank = 0;
  std::string node_address;      // "" : the address of this machine's route to the server
  int rendezvous_seconds = 600;  // how long the nodes wait for each other
  int64_t tick_ms = 100;
  std::function<int()> runner_signal;
};

class NodeGroup {
 public:
  NodeGroup(ServerLink* link, RunnerClock* clock, NodeGroupOptions options);

  bool leader() const { return options_.node_rank == 0; }
  std::string name() const { return "node " + std::to_string(options_.node_rank); }

  // Meets the other nodes: reports this node ready (node 0 with `ports` free ports for the
  // job), then waits until every node is. OK with the link stopped or a cancel requested when
  // the run ended or was canceled meanwhile; FailedPrecondition when another node failed;
  // Unavailable when not all came in time or the server stayed away.
  Status Meet(int ports);
  const NodeLayout& layout() const { return layout_; }

  // While the job runs: reports this node's state and reads the others'.
  struct PollResult {
    bool new_failure = false;  // another node's failure, seen for the first time
    bool all_started = false;  // every node runs (or has ended)
  };
  PollResult Poll();

  void set_state(jobs::NodeState state) { state_ = state; }
  // This node's ranks were stopped because of another node (or never started for it).
  void mark_stopped_for_peer() { stopped_for_peer_ = true; }
  bool stopped_for_peer() const { return stopped_for_peer_; }
  const std::string& peer_failure() const { return peer_failure_; }
  std::optional<int> peer_exit_code() const { return peer_exit_code_; }
  bool others_ended() const { return others_ended_; }
  bool others_stopped() const { return others_stopped_; }

  // This node's report now.
  jobs::NodeReport Report() const;
  // The report of how this node ended with the run status `status`: succeeded, failed (with
  // `error` naming this node) or stopped.
  jobs::NodeReport FinalReport(jobs::RunStatus status, const std::string& error,
                               std::optional<int> exit_code);

 private:
  ServerLink* link_;
  RunnerClock* clock_;
  NodeGroupOptions options_;

  std::string address_;
  jobs::NodeState state_ = jobs::NodeState::kReady;
  NodeLayout layout_;
  bool others_ended_ = false;
  bool others_stopped_ = false;
  bool stopped_for_peer_ = false;
  std::string peer_failure_;
  std::optional<int> peer_exit_code_;
  std::map<int64_t, int64_t> missing_since_ms_;
};

}  // namespace gantry::runner
