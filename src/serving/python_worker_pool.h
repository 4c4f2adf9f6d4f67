// PythonWorkerPool: `gantry serve --backend python`, Azure ML's entry-script contract. N
// Python worker processes each import the entry script and call its init() once; Score()
// hands a request body to a free worker's run(raw_data) over pipes with the framed protocol
// of worker_protocol.h, and queues (boundedly) while every worker is busy. A worker that
// dies, or runs past the request timeout, is killed with its whole process group and
// started again (init() again). The workers' stdout and stderr go to this process's stderr,
// each line prefixed "[worker N] ".
//
// Threads: one supervisor thread spawns every worker (so PR_SET_PDEATHSIG ties the workers'
// lives to it), watches starting and idle workers (init results, crashes), restarts the
// dead ones and forwards their output. Score() runs on the caller's thread and talks only
// to the worker it checked out. Thread-safe. Stop() ends the workers and the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/files.h"
#include "common/process.h"
#include "common/status.h"
#include "serving/raw_scorer.h"
#include "serving/worker_protocol.h"

namespace gantry::serving {

struct PythonWorkerPoolOptions {
  // The entry script defining init() and run(raw_data). Required.
  fs::path entry_script;
  // The workers' working folder and sys.path[0]. Default: the entry script's folder.
  fs::path source_dir;
  // The model folder, exported (absolute) as AZUREML_MODEL_DIR and GANTRY_MODEL_DIR.
  // Empty: neither variable is set.
  fs::path model_dir;
  // The interpreter; looked up on PATH when it has no slash.
  std::string python = "/usr/bin/python3";
  // Worker processes, at least 1.
  int workers = 1;
  // A request's limit from arrival to answer, in milliseconds. A worker still running it
  // then is killed and restarted.
  int64_t request_timeout_ms = 60'000;
  // Requests that may wait for a free worker; one more is refused with Unavailable.
  int max_queued = 64;
  // Where the workers' output lines go. Default: stderr.
  int log_fd = 2;
};

class PythonWorkerPool : public RawScorer {
 public:
  // Checks the options and starts the workers without waiting for their init().
  // InvalidArgument for bad numbers, NotFound for a missing entry script or folder.
  static Result<std::unique_ptr<PythonWorkerPool>> Start(PythonWorkerPoolOptions options);
  ~PythonWorkerPool() override;
  PythonWorkerPool(const PythonWorkerPool&) = delete;
  PythonWorkerPool& operator=(const PythonWorkerPool&) = delete;

  // Waits up to `timeout` for every worker's first init(). true: all are ready; false: some
  // are still starting. FailedPrecondition with the traceback (or how the worker ended)
  // when one could not be started or its init() failed.
  Result<bool> WaitUntilReady(std::chrono::milliseconds timeout);

  Result<std::string> Score(const std::string& body) override;
  ScorerStats Stats() const override;

  // Refuses new requests, lets the running ones finish (each is bounded by its timeout),
  // closes the workers' request pipes so they exit, kills whatever has not exited after a
  // grace period, reaps every worker, forwards their last output and joins the supervisor.
  // Idempotent; the destructor calls it.
  void Stop();

 private:
  enum class State { kDead, kStarting, kIdle, kBusy };
  struct Worker;
  struct LogStream;
  enum class Outcome { kReply, kDied, kTimedOut, kBroken };

  explicit PythonWorkerPool(PythonWorkerPoolOptions options);
  void Supervise();
  // Supervisor: starts (or restarts) worker `w`; on failure it stays dead and says why.
  void SpawnWorker(Worker& w);
  // Supervisor: what poll() said about a starting or idle worker (mu_ held).
  void OnWorkerEvent(Worker& w, bool process_exited, std::unique_lock<std::mutex>& lock);
  // Supervisor: a starting worker failed; records the startup error or schedules a retry.
  void InitFailed(Worker& w, const std::string& why);
  void ForwardLogs(LogStream& stream, bool eof);
  void ShutDownWorkers();
  // Request thread: sends `body` to its worker and reads the reply frame into `reply`.
  Outcome Exchange(Worker& w, const std::string& body,
                   std::chrono::steady_clock::time_point deadline, Frame& reply);
  // Kills the worker's process group if it still runs, reaps it and closes its pipes.
  // `wait_for_exit`: give an exiting worker a moment, so its own exit status is reported.
  ExitInfo Bury(Worker& w, bool wait_for_exit);
  void Wake();

  PythonWorkerPoolOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<LogStream>> logs_;  // supervisor thread only
  int wake_fd_ = -1;                              // eventfd that interrupts the supervisor
  mutable std::mutex mu_;
  std::condition_variable cv_;           // a worker became idle, startup ended, or stopping
  std::deque<Worker*> idle_;             // guarded by mu_
  int busy_ = 0;                         // guarded by mu_
  int queued_ = 0;                       // guarded by mu_
  int64_t restarts_ = 0;                 // guarded by mu_
  bool started_ = false;                 // guarded by mu_: every worker was ready once
  std::optional<Status> startup_error_;  // guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  std::once_flag stop_once_;
  std::thread supervisor_;
};

}  // namespace gantry::serving
