#include "runner/server_link.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"
#include "jobs/run_status.h"

namespace gantry::runner {
namespace {

bool IsTerminalName(const std::string& status) {
  Result<jobs::RunStatus> st = jobs::ParseRunStatus(status);
  return st && jobs::IsTerminal(*st);
}

}  // namespace

ServerLink::ServerLink(RunControl* control, RunnerClock* clock, ServerLinkOptions options)
    : control_(control), clock_(clock), options_(std::move(options)) {
  last_answer_ms_ = clock_->NowMs();
}

bool ServerLink::Observe(const Status& s) {
  if (s.code() == StatusCode::kUnavailable) {
    if (!down_) {
      GLOG(Warning) << "the server went away (" << s.message()
                    << "); keeping the run's data and retrying";
    }
    down_ = true;
    retry_at_ms_ = clock_->NowMs() + options_.retry_every_ms;
    return false;
  }
  if (down_) GLOG(Info) << "the server at " << options_.server_url << " is back";
  down_ = false;
  last_answer_ms_ = clock_->NowMs();
  return true;
}

bool ServerLink::Usable() const { return !down_ || clock_->NowMs() >= retry_at_ms_; }

bool ServerLink::GaveUp() const {
  return down_ && clock_->NowMs() - last_answer_ms_ >=
                      static_cast<int64_t>(options_.server_wait_seconds) * 1000;
}

void ServerLink::RestartWait() { last_answer_ms_ = std::max(last_answer_ms_, clock_->NowMs()); }

int ServerLink::Signal() const { return options_.runner_signal ? options_.runner_signal() : 0; }

Status ServerLink::RetryWhileUnavailable(const std::function<Status()>& call) {
  while (true) {
    Status s = call();
    if (Observe(s)) return s;
    // Stopped while waiting for an absent server: nothing to wait for any more.
    if (int sig = Signal(); sig != 0) {
      return UnavailableError("stopped by signal " + std::to_string(sig) +
                              " while the server was unreachable: " + s.message());
    }
    if (GaveUp()) {
      return UnavailableError("gave up after " + std::to_string(options_.server_wait_seconds) +
                              " s: " + s.message());
    }
    clock_->SleepMs(options_.retry_every_ms);
  }
}

void ServerLink::Pause(int64_t tick_ms) {
  clock_->SleepMs(down_ ? options_.retry_every_ms : tick_ms);
}

void ServerLink::Refused(const std::string& what, const Status& s) {
  if (s.code() == StatusCode::kNotFound || s.code() == StatusCode::kPermissionDenied ||
      s.code() == StatusCode::kUnauthenticated) {
    Stop(what + ": " + s.ToString());
    return;
  }
  std::string& last = last_refusal_[what];
  if (last != s.ToString()) {
    GLOG(Warning) << what << " refused by the server: " << s.ToString();
    last = s.ToString();
  }
}

void ServerLink::Stop(const std::string& reason) {
  if (!stopped_) GLOG(Error) << "stopping run '" << options_.run_name << "': " << reason;
  stopped_ = true;
  queue_.clear();
}

void ServerLink::ObserveRun(const jobs::RunControlReply& reply) {
  if (reply.cancel_requested) OnCancelRequested();
  if (IsTerminalName(reply.status)) Stop("the server ended it as " + reply.status);
}

void ServerLink::OnCancelRequested() {
  if (cancel_requested_) return;
  cancel_requested_ = true;
  GLOG(Info) << "run '" << options_.run_name << "': cancel requested";
  if (options_.on_cancel) options_.on_cancel();
}

void ServerLink::EnqueueStatus(jobs::StatusReport report) {
  queue_.push_back(Queued{.status = std::move(report)});
}

void ServerLink::EnqueueNodeReport(jobs::NodeReport report) {
  queue_.push_back(Queued{.node = std::move(report)});
}

void ServerLink::Flush() {
  while (!queue_.empty() && !stopped_ && Usable()) {
    Queued& front = queue_.front();
    if (!front.status) {
      Result<jobs::NodesView> r = control_->PostNode(front.node);
      if (!Observe(r)) return;
      if (!r) {
        Refused("node report", r.error());
        final_refused_ = true;
      }
      if (!queue_.empty()) queue_.pop_front();
      continue;
    }
    Result<jobs::RunControlReply> r = control_->PostStatus(*front.status);
    if (!Observe(r)) return;
    if (r) {
      queue_.pop_front();
      // The server takes progress reports quietly while a cancel is pending.
      if (r->status == jobs::RunStatusName(jobs::RunStatus::kCancelRequested)) OnCancelRequested();
      continue;
    }
    if (r.error().code() == StatusCode::kFailedPrecondition) {
      if (!ResolveRefusedStatus(r.error())) return;
      if (!queue_.empty()) queue_.pop_front();
      continue;
    }
    const bool final = jobs::IsTerminal(front.status->status);
    Refused("status update", r.error());
    if (stopped_) return;
    if (final) final_refused_ = true;
    queue_.pop_front();
  }
}

bool ServerLink::ResolveRefusedStatus(const Status& refusal) {
  const jobs::RunStatus target_status = queue_.front().status->status;
  const std::string target(jobs::RunStatusName(target_status));
  Result<Json> run = control_->GetRun();
  if (!Observe(run)) return false;
  if (!run) {
    Refused("reading the run", run.error());
    return true;
  }
  Result<jobs::RunControlReply> reply = jobs::RunControlReplyFromJson(*run);
  const std::string current = reply ? reply->status : "";
  if (current == target) return true;  // an earlier attempt landed; only its answer was lost
  if (current == jobs::RunStatusName(jobs::RunStatus::kCancelRequested)) {
    OnCancelRequested();
    return true;
  }
  if (IsTerminalName(current)) {
    Stop("the server already ended it as " + current);
    return true;
  }
  GLOG(Warning) << "the server refused moving run '" << options_.run_name << "' to " << target
                << " (it is " << current << "): " << refusal.message();
  if (jobs::IsTerminal(target_status)) final_refused_ = true;
  return true;
}

void ServerLink::Heartbeat() {
  Result<jobs::RunControlReply> r = control_->Heartbeat();
  if (!Observe(r)) return;
  if (!r) {
    Refused("heartbeat", r.error());
    return;
  }
  ObserveRun(*r);
}

Result<jobs::NodesView> ServerLink::ReportNode(const jobs::NodeReport& report) {
  Result<jobs::NodesView> view = control_->PostNode(report);
  if (!Observe(view)) return view;
  if (!view) {
    Refused("node report", view.error());
    return view;
  }
  ObserveRun(view->run);
  return view;
}

}  // namespace gantry::runner
