// ServerLink: the runner's side of its conversation with the workspace server about the run
// itself. It owns what that needs and nothing else: whether the server can be reached (and
// since when it cannot), the ordered queue of status and node reports still to deliver, the
// heartbeat, and what the server said about the run (a cancel request, the run's end, a
// refused token). Logs, metrics and artifacts travel through their own shippers, which report
// the outcome of each call here (Observe) so that one rule decides when to retry.
//
// The rules: a call that cannot reach the server (Unavailable) marks it down; while down,
// calls wait RetryEveryMs between attempts and nothing is lost; once it has been unreachable
// for server_wait_seconds since its last answer, the runner gives up. A refusal that means the
// server no longer wants this runner (NotFound, PermissionDenied, Unauthenticated) stops it;
// any other refusal is logged once per message. Statuses are delivered in order; a status the
// state machine refuses (412) is resolved by reading the run (an earlier attempt landed, a
// cancel is pending, or the run already ended).
//
// Time comes from a RunnerClock and the server through the narrow RunControl interface, so
// every rule is unit-tested (server_link_test.cc). Thread-compatible: the runner's thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/status.h"
#include "jobs/run_messages.h"
#include "runner/runner_system.h"

namespace gantry::runner {

// The run-control calls of the REST API for one run (RunClient implements them).
class RunControl {
 public:
  virtual ~RunControl() = default;
  // GET /runs/{name}: the run object.
  virtual Result<Json> GetRun() = 0;
  // POST /runs/{name}/status. FailedPrecondition when the state machine forbids the move.
  virtual Result<jobs::RunControlReply> PostStatus(const jobs::StatusReport& report) = 0;
  // POST /runs/{name}/heartbeat.
  virtual Result<jobs::RunControlReply> Heartbeat() = 0;
  // POST /runs/{name}/nodes/{rank}.
  virtual Result<jobs::NodesView> PostNode(const jobs::NodeReport& report) = 0;
};

struct ServerLinkOptions {
  std::string server_url;  // for messages
  std::string run_name;
  // How long the server may stay unreachable (since its last answer) before the runner gives
  // up.
  int server_wait_seconds = 3600;
  // While the server is unreachable, calls are tried again this often.
  int64_t retry_every_ms = 1000;
  // Called once when the server first says a cancel was requested.
  std::function<void()> on_cancel;
  // The signal the runner got (0: none); a runner being stopped stops waiting for a server
  // that cannot be reached.
  std::function<int()> runner_signal;
};

class ServerLink {
 public:
  ServerLink(RunControl* control, RunnerClock* clock, ServerLinkOptions options);

  RunControl& control() { return *control_; }

  // ---- reachability
  // Records the outcome of a call. Returns false when the server could not be reached.
  bool Observe(const Status& s);
  template <typename T>
  bool Observe(const Result<T>& r) {
    return Observe(internal::AsStatus(r));
  }
  // False while the server is down and the next retry is not due.
  bool Usable() const;
  bool down() const { return down_; }
  // The server has been unreachable for server_wait_seconds since it last answered.
  bool GaveUp() const;
  // The wait for an absent server counts from now, not from when it went away (the final
  // reports get the whole wait).
  void RestartWait();
  // Runs `call` until it answers something other than Unavailable, the runner is signalled or
  // the wait is over (Unavailable saying which).
  Status RetryWhileUnavailable(const std::function<Status()>& call);
  // Sleeps until the next attempt: retry_every_ms while the server is down, else `tick_ms`.
  void Pause(int64_t tick_ms);

  // ---- refusals and the run's end
  // Logs a refusal (not an outage) once per distinct message; stops the runner when the
  // server no longer knows the run or its token.
  void Refused(const std::string& what, const Status& s);
  // The server no longer wants this runner: nothing more is sent.
  void Stop(const std::string& reason);
  bool stopped() const { return stopped_; }
  bool cancel_requested() const { return cancel_requested_; }
  // Acts on what the server said about the run: a cancel request, or its end.
  void ObserveRun(const jobs::RunControlReply& reply);

  // ---- the ordered reports
  void EnqueueStatus(jobs::StatusReport report);
  // A node of a multi-node job (not node 0) reports its end as a node report, in the same
  // order as everything else.
  void EnqueueNodeReport(jobs::NodeReport report);
  // Delivers queued reports in order; stops at the first one the server cannot take now.
  void Flush();
  bool idle() const { return queue_.empty(); }
  // A final report was refused (not merely undelivered).
  bool final_refused() const { return final_refused_; }

  // POST heartbeat and act on the answer.
  void Heartbeat();
  // POST this node's report; Unavailable when the server could not be reached. A refusal is
  // passed to Refused and returned.
  Result<jobs::NodesView> ReportNode(const jobs::NodeReport& report);

 private:
  struct Queued {
    std::optional<jobs::StatusReport> status;  // else `node`
    jobs::NodeReport node;
  };
  // The server refused the front status (412): finds out why from the run. False when it
  // could not be asked (the report stays queued).
  bool ResolveRefusedStatus(const Status& refusal);
  void OnCancelRequested();
  int Signal() const;

  RunControl* control_;
  RunnerClock* clock_;
  ServerLinkOptions options_;

  bool down_ = false;
  int64_t retry_at_ms_ = 0;
  int64_t last_answer_ms_ = 0;
  std::map<std::string, std::string> last_refusal_;

  std::deque<Queued> queue_;
  bool final_refused_ = false;
  bool cancel_requested_ = false;
  bool stopped_ = false;
};

}  // namespace gantry::runner
