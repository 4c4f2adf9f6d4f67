// FakeBackend: a ComputeBackend for tests that records launches and lets the test decide
// which runners are alive. Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <vector>

#include "compute/compute_backend.h"

namespace gantry::workspace::testing {

class FakeBackend : public compute::ComputeBackend {
 public:
  Result<compute::LaunchHandle> Submit(const compute::LaunchRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_next_) {
      fail_next_ = false;
      return Err(FailedPreconditionError("no gantry binary"));
    }
    launched.push_back(request);
    alive_.insert(next_pid_);
    return compute::LaunchHandle{next_pid_++, ""};
  }
  compute::RunnerPoll Poll(const compute::LaunchHandle& handle) override {
    std::lock_guard<std::mutex> lock(mu_);
    return {alive_.count(handle.pid) ? compute::RunnerState::kRunning : compute::RunnerState::kGone,
            ""};
  }
  Status Kill(const compute::LaunchHandle& handle, int64_t process_group) override {
    std::lock_guard<std::mutex> lock(mu_);
    alive_.erase(handle.pid);
    killed_groups.push_back(process_group);
    return Status::Ok();
  }
  void Die(int64_t pid) {
    std::lock_guard<std::mutex> lock(mu_);
    alive_.erase(pid);
  }
  void FailNextSubmit() { fail_next_ = true; }

  std::vector<compute::LaunchRequest> launched;
  std::vector<int64_t> killed_groups;

 private:
  std::mutex mu_;
  std::set<int64_t> alive_;
  int64_t next_pid_ = 1000;
  bool fail_next_ = false;
};

}  // namespace gantry::workspace::testing
