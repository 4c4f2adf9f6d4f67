#include "runner/node_group.h"

#include <utility>

#include "common/logging.h"
#include "runner/distributed_launch.h"

namespace gantry::runner {
namespace {

std::map<int64_t, const jobs::NodeReport*> ByRank(const jobs::NodesView& view) {
  std::map<int64_t, const jobs::NodeReport*> peers;
  for (const jobs::NodeReport& n : view.nodes) peers[n.rank] = &n;
  return peers;
}

}  // namespace

Meeting ReadMeeting(const jobs::NodesView& view, int64_t node_count) {
  Meeting m;
  std::map<int64_t, const jobs::NodeReport*> peers = ByRank(view);
  for (int64_t n = 0; n < node_count; ++n) {
    auto it = peers.find(n);
    if (it != peers.end() && it->second->state == jobs::NodeState::kFailed) {
      m.failure =
          "node " + std::to_string(n) + " failed before the job started: " + it->second->error;
      return m;
    }
    if (it == peers.end() || it->second->address.empty()) {
      m.missing += (m.missing.empty() ? "" : ", ") + std::to_string(n);
    }
  }
  if (!m.missing.empty()) return m;
  m.complete = true;
  for (int64_t n = 0; n < node_count; ++n) m.layout.hosts.push_back(peers[n]->address);
  m.layout.base_port = static_cast<int>(peers[0]->port);
  return m;
}

PeerReading ReadPeers(const jobs::NodesView& view, int64_t self, int64_t node_count, bool leader,
                      int64_t now_ms, std::map<int64_t, int64_t>* missing_since_ms) {
  PeerReading r;
  std::map<int64_t, const jobs::NodeReport*> peers = ByRank(view);
  const int64_t server_now = peers.count(self) ? peers[self]->updated_at : 0;
  for (int64_t n = 0; n < node_count; ++n) {
    if (n == self) continue;
    auto it = peers.find(n);
    // A node that has not reported counts as not started.
    const jobs::NodeState state = it == peers.end() ? jobs::NodeState::kReady : it->second->state;
    const bool ended = jobs::IsFinalNodeState(state);
    if (state != jobs::NodeState::kRunning && !ended) r.all_started = false;
    if (!ended) r.others_ended = false;
    std::string failure;
    std::optional<int> code;
    if (it == peers.end()) {
      // Gone from the server's memory (a restarted server) and not reporting again.
      auto [since, fresh] = missing_since_ms->try_emplace(n, now_ms);
      if (leader && !fresh && now_ms - since->second > kNodeSilentMs) {
        failure = "node " + std::to_string(n) + " stopped reporting (the server lost its state)";
      }
    } else {
      missing_since_ms->erase(n);
    }
    if (state == jobs::NodeState::kStopped) r.others_stopped = true;
    if (state == jobs::NodeState::kFailed) {
      failure =
          it->second->error.empty() ? "node " + std::to_string(n) + " failed" : it->second->error;
      code = it->second->exit_code;
    } else if (leader && it != peers.end() && !ended && server_now > 0 &&
               server_now - it->second->updated_at > kNodeSilentMs) {
      failure = "node " + std::to_string(n) + " stopped reporting " +
                std::to_string((server_now - it->second->updated_at) / 1000) +
                " s ago (its runner died or lost the server)";
    }
    if (!failure.empty() && r.failure.empty()) {
      r.failure = failure;
      r.failure_exit_code = code;
    }
  }
  return r;
}

NodeGroup::NodeGroup(ServerLink* link, RunnerClock* clock, NodeGroupOptions options)
    : link_(link), clock_(clock), options_(std::move(options)) {}

jobs::NodeReport NodeGroup::Report() const {
  return jobs::NodeReport{.rank = options_.node_rank,
                          .state = state_,
                          .address = address_,
                          .port = leader() ? layout_.base_port : 0};
}

Status NodeGroup::Meet(int ports) {
  address_ = options_.node_address;
  if (address_.empty()) {
    ASSIGN_OR_RETURN(address_, LocalAddressTowards(options_.server_url));
  }
  layout_.address = address_;
  if (leader()) {
    ASSIGN_OR_RETURN(layout_.base_port, FindFreePorts(ports));
  }
  state_ = jobs::NodeState::kReady;
  GLOG(Info) << "run '" << options_.run_name << "': " << name() << " of " << options_.node_count
             << " is ready at " << address_ << "; waiting for the other nodes";
  const int64_t deadline =
      clock_->NowMs() + static_cast<int64_t>(options_.rendezvous_seconds) * 1000;
  while (true) {
    Result<jobs::NodesView> view = link_->ReportNode(Report());
    if (view) {
      if (link_->stopped() || link_->cancel_requested()) return Status::Ok();
      Meeting meeting = ReadMeeting(*view, options_.node_count);
      if (meeting.failure) {
        stopped_for_peer_ = true;
        return FailedPreconditionError(*meeting.failure);
      }
      if (meeting.complete) {
        meeting.layout.address = address_;
        layout_ = std::move(meeting.layout);
        std::string hosts;
        for (const auto& h : layout_.hosts) hosts += (hosts.empty() ? "" : " ") + h;
        GLOG(Info) << "run '" << options_.run_name << "': all " << options_.node_count
                   << " nodes are ready: " << hosts << " (port " << layout_.base_port << ")";
        return Status::Ok();
      }
      if (clock_->NowMs() >= deadline) {
        return UnavailableError("node(s) " + meeting.missing + " of " +
                                std::to_string(options_.node_count) + " did not report within " +
                                std::to_string(options_.rendezvous_seconds) + " s");
      }
    } else if (view.error().code() != StatusCode::kUnavailable) {
      if (link_->stopped()) return Status::Ok();
      return view.error().WithPrefix("the server refused " + name() + "'s report");
    } else if (link_->GaveUp()) {
      return UnavailableError("the server was unreachable while the nodes met");
    }
    if (int sig = options_.runner_signal ? options_.runner_signal() : 0; sig != 0) {
      return UnavailableError("the runner was stopped by signal " + std::to_string(sig) +
                              " while waiting for the other nodes");
    }
    link_->Pause(options_.tick_ms);
  }
}

NodeGroup::PollResult NodeGroup::Poll() {
  PollResult result;
  if (!link_->Usable()) return result;
  Result<jobs::NodesView> view = link_->ReportNode(Report());
  if (!view || link_->stopped()) return result;
  PeerReading reading = ReadPeers(*view, options_.node_rank, options_.node_count, leader(),
                                  clock_->NowMs(), &missing_since_ms_);
  others_ended_ = reading.others_ended;
  if (reading.others_stopped) others_stopped_ = true;
  if (!reading.failure.empty() && peer_failure_.empty()) {
    peer_failure_ = reading.failure;
    peer_exit_code_ = reading.failure_exit_code;
    result.new_failure = true;
  }
  result.all_started = reading.all_started;
  return result;
}

jobs::NodeReport NodeGroup::FinalReport(jobs::RunStatus status, const std::string& error,
                                        std::optional<int> exit_code) {
  state_ = status == jobs::RunStatus::kCompleted                      ? jobs::NodeState::kSucceeded
           : status == jobs::RunStatus::kFailed && !stopped_for_peer_ ? jobs::NodeState::kFailed
                                                                      : jobs::NodeState::kStopped;
  jobs::NodeReport report = Report();
  if (!error.empty() && state_ == jobs::NodeState::kFailed) {
    report.error = error.find("(node ") != std::string::npos ? error : name() + ": " + error;
  }
  report.exit_code = exit_code;
  return report;
}

}  // namespace gantry::runner
