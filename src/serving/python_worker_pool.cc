#include "serving/python_worker_pool.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/logging.h"

namespace gantry::serving {

// The worker program, src/serving/python_worker.py, embedded by CMake at build time so that
// the binary needs no file beside it.
extern const char kPythonWorkerSource[];

namespace {

using Clock = std::chrono::steady_clock;

// How long workers whose request pipe was closed at shutdown may take to exit.
constexpr auto kStopGrace = std::chrono::seconds(5);
// How long a worker that closed its reply pipe may take to exit, so that its own exit
// status (not our SIGKILL) is what gets reported.
constexpr auto kExitGrace = std::chrono::seconds(2);
// How long the last output of stopped workers is waited for.
constexpr auto kLastOutputGrace = std::chrono::seconds(1);
// Restarts after failed init()s back off up to this.
constexpr auto kMaxRestartDelay = std::chrono::seconds(30);
constexpr size_t kMaxLogLine = 64 * 1024;

int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  // -1 on kernels without pidfds; the reply pipe's end-of-file then tells an exit alone.
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  return -1;
#endif
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Milliseconds left until `t`, rounded up so that a poll() does not wake just before it.
int MillisUntil(Clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t - Clock::now()).count();
  if (us <= 0) return 0;
  return static_cast<int>(std::min<int64_t>((us + 999) / 1000, 1 << 30));
}

// True once `pid` (our child) has ended; does not reap it, so its pid and process group id
// stay reserved until WaitFor.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

std::string DescribeExit(const ExitInfo& info) {
  if (info.signal != 0) {
    const char* name = ::sigabbrev_np(info.signal);
    return "was killed by signal " + std::to_string(info.signal) +
           (name ? " (SIG" + std::string(name) + ")" : "");
  }
  if (info.code < 0) return "ended (exit status unknown)";
  return "exited with code " + std::to_string(info.code);
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

struct PythonWorkerPool::Worker {
  int number = 0;  // 1-based, as the logs show it
  State state = State::kDead;
  pid_t pid = -1;
  int pidfd = -1;
  int to_worker = -1;    // its fd 3: request frames
  int from_worker = -1;  // its fd 4: reply frames
  FrameDecoder decoder;
  Clock::time_point restart_at;
  int spawns = 0;
  int failed_starts = 0;  // init() failures in a row; reset when it becomes ready
};

struct PythonWorkerPool::LogStream {
  int fd = -1;
  int worker = 0;
  std::string partial;  // a line without its newline yet
};

PythonWorkerPool::PythonWorkerPool(PythonWorkerPoolOptions options)
    : options_(std::move(options)) {}

PythonWorkerPool::~PythonWorkerPool() { Stop(); }

Result<std::unique_ptr<PythonWorkerPool>> PythonWorkerPool::Start(PythonWorkerPoolOptions options) {
  if (options.workers < 1) return Err(InvalidArgumentError("--workers must be at least 1"));
  if (options.request_timeout_ms <= 0) {
    return Err(InvalidArgumentError("--request-timeout-ms must be positive"));
  }
  if (options.max_queued < 0) return Err(InvalidArgumentError("the queue bound must be >= 0"));
  if (options.entry_script.empty()) {
    return Err(InvalidArgumentError("--backend python needs --entry-script"));
  }
  std::error_code ec;
  options.entry_script = fs::absolute(options.entry_script, ec).lexically_normal();
  if (!fs::is_regular_file(options.entry_script, ec)) {
    return Err(NotFoundError("entry script " + options.entry_script.string() + " does not exist"));
  }
  options.source_dir = options.source_dir.empty()
                           ? options.entry_script.parent_path()
                           : fs::absolute(options.source_dir, ec).lexically_normal();
  if (!fs::is_directory(options.source_dir, ec)) {
    return Err(NotFoundError("source folder " + options.source_dir.string() + " does not exist"));
  }
  if (!options.model_dir.empty()) {
    options.model_dir = fs::absolute(options.model_dir, ec).lexically_normal();
    if (!fs::exists(options.model_dir, ec)) {
      return Err(NotFoundError("model folder " + options.model_dir.string() + " does not exist"));
    }
  }
  auto pool = std::unique_ptr<PythonWorkerPool>(new PythonWorkerPool(std::move(options)));
  pool->wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (pool->wake_fd_ < 0)
    return Err(InternalError(std::string("eventfd: ") + std::strerror(errno)));
  for (int i = 0; i < pool->options_.workers; ++i) {
    auto w = std::make_unique<Worker>();
    w->number = i + 1;
    pool->workers_.push_back(std::move(w));
  }
  PythonWorkerPool* raw = pool.get();
  pool->supervisor_ = std::thread([raw] { raw->Supervise(); });
  return pool;
}

Result<bool> PythonWorkerPool::WaitUntilReady(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return started_ || startup_error_.has_value(); });
  if (startup_error_.has_value()) return Err(*startup_error_);
  return started_;
}

ScorerStats PythonWorkerPool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ScorerStats s;
  s.workers = static_cast<int>(workers_.size());
  for (const auto& w : workers_) {
    if (w->state == State::kIdle || w->state == State::kBusy) ++s.workers_ready;
  }
  s.busy = busy_;
  s.queued = queued_;
  s.restarts = restarts_;
  return s;
}

void PythonWorkerPool::Wake() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
}

void PythonWorkerPool::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (wake_fd_ >= 0) Wake();
    if (supervisor_.joinable()) supervisor_.join();
    CloseFd(wake_fd_);
  });
}

// ---- Requests (the caller's thread) ----------------------------------------------------

Result<std::string> PythonWorkerPool::Score(const std::string& body) {
  const auto timeout = std::chrono::milliseconds(options_.request_timeout_ms);
  const auto deadline = Clock::now() + timeout;
  const std::string timeout_text = std::to_string(options_.request_timeout_ms) + " ms";
  for (;;) {
    Worker* w = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return Err(UnavailableError("the server is shutting down"));
      if (idle_.empty()) {
        if (queued_ >= options_.max_queued) {
          return Err(UnavailableError("all " + std::to_string(workers_.size()) +
                                      " workers are busy and " + std::to_string(queued_) +
                                      " requests are already waiting; try again later"));
        }
        ++queued_;
        bool free = cv_.wait_until(lock, deadline, [this] { return stopping_ || !idle_.empty(); });
        --queued_;
        if (stopping_) return Err(UnavailableError("the server is shutting down"));
        if (!free) {
          return Err(DeadlineExceededError("no worker became free within " + timeout_text +
                                           " (--request-timeout-ms)"));
        }
      }
      w = idle_.front();
      idle_.pop_front();
      w->state = State::kBusy;
      ++busy_;
    }
    auto release = [this, w](bool alive) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        --busy_;
        if (alive) {
          w->state = State::kIdle;
          idle_.push_back(w);
        } else {
          w->state = State::kDead;
          w->restart_at = Clock::now();
        }
      }
      cv_.notify_all();
      Wake();  // the supervisor watches idle workers and restarts dead ones
    };
    const int number = w->number;
    const pid_t pid = w->pid;
    // A worker that died while idle and is not noticed yet must not fail this request.
    if (pollfd p{w->pidfd, POLLIN, 0}; w->pidfd >= 0 && ::poll(&p, 1, 0) > 0) {
      ExitInfo info = Bury(*w, true);
      release(false);
      GLOG(Warning) << "worker " << number << " (pid " << pid << ") " << DescribeExit(info)
                    << " while idle; restarting";
      continue;
    }
    Frame reply;
    switch (Exchange(*w, body, deadline, reply)) {
      case Outcome::kReply:
        if (reply.kind == FrameKind::kResult) {
          release(true);
          return std::move(reply.payload);
        }
        if (reply.kind == FrameKind::kRunError) {
          release(true);
          return Err(InternalError("run() raised " + reply.payload));
        }
        [[fallthrough]];
      case Outcome::kBroken: {
        Bury(*w, false);
        release(false);
        GLOG(Error) << "worker " << number << " (pid " << pid
                    << ") broke the reply protocol; killed; restarting";
        return Err(InternalError("worker " + std::to_string(number) +
                                 " sent a corrupt reply; it was killed and is being restarted"));
      }
      case Outcome::kDied: {
        ExitInfo info = Bury(*w, true);
        release(false);
        GLOG(Warning) << "worker " << number << " (pid " << pid << ") " << DescribeExit(info)
                      << " while running a request; restarting";
        return Err(InternalError("worker " + std::to_string(number) + " " + DescribeExit(info) +
                                 " while running the request; it is being restarted"));
      }
      case Outcome::kTimedOut: {
        Bury(*w, false);
        release(false);
        GLOG(Warning) << "worker " << number << " (pid " << pid << "): a request ran past "
                      << timeout_text << "; killed; restarting";
        return Err(DeadlineExceededError(
            "run() did not answer within " + timeout_text + " (--request-timeout-ms); worker " +
            std::to_string(number) + " was killed and is being restarted"));
      }
    }
  }
}

PythonWorkerPool::Outcome PythonWorkerPool::Exchange(Worker& w, const std::string& body,
                                                     Clock::time_point deadline, Frame& reply) {
  const std::string frame = EncodeFrame(FrameKind::kScore, body);
  size_t sent = 0;
  while (sent < frame.size()) {
    ssize_t n = ::write(w.to_worker, frame.data() + sent, frame.size() - sent);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return Outcome::kDied;  // EPIPE: nobody reads the pipe
    pollfd p[2] = {{w.to_worker, POLLOUT, 0}, {w.pidfd, POLLIN, 0}};
    if (::poll(p, 2, MillisUntil(deadline)) == 0 && Clock::now() >= deadline) {
      return Outcome::kTimedOut;
    }
    if (p[1].revents != 0) return Outcome::kDied;
  }
  char buf[64 * 1024];
  for (;;) {
    auto next = w.decoder.Next();
    if (!next.has_value()) return Outcome::kBroken;
    if (next->has_value()) {
      reply = std::move(**next);
      return Outcome::kReply;
    }
    pollfd p[2] = {{w.from_worker, POLLIN, 0}, {w.pidfd, POLLIN, 0}};
    int ready = ::poll(p, 2, MillisUntil(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      if (Clock::now() >= deadline) return Outcome::kTimedOut;
      continue;
    }
    // Read what the worker wrote before believing it is gone: a reply may precede its exit.
    if (p[0].revents != 0) {
      ssize_t n = ::read(w.from_worker, buf, sizeof(buf));
      if (n > 0) {
        w.decoder.Append(std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      return Outcome::kDied;
    }
    if (p[1].revents != 0) return Outcome::kDied;
  }
}

ExitInfo PythonWorkerPool::Bury(Worker& w, bool wait_for_exit) {
  if (wait_for_exit) {
    auto deadline = Clock::now() + kExitGrace;
    while (!HasExited(w.pid) && Clock::now() < deadline) {
      pollfd p{w.pidfd, POLLIN, 0};
      ::poll(&p, w.pidfd >= 0 ? 1 : 0, w.pidfd >= 0 ? MillisUntil(deadline) : 10);
    }
  }
  // The worker is unreaped, so its process group id is still reserved: whatever is left of
  // the group (the worker itself, or subprocesses the user's code started) goes.
  (void)SignalGroup(w.pid, SIGKILL);
  ExitInfo info = WaitFor(w.pid);
  w.pid = -1;
  CloseFd(w.pidfd);
  CloseFd(w.to_worker);
  CloseFd(w.from_worker);
  w.decoder = FrameDecoder();
  return info;
}

// ---- The supervisor thread -------------------------------------------------------------

void PythonWorkerPool::SpawnWorker(Worker& w) {
  int req[2] = {-1, -1}, rep[2] = {-1, -1}, log[2] = {-1, -1};
  Result<pid_t> pid;
  if (::pipe2(req, O_CLOEXEC) != 0 || ::pipe2(rep, O_CLOEXEC) != 0 ||
      ::pipe2(log, O_CLOEXEC) != 0) {
    pid = Err(InternalError(std::string("pipe: ") + std::strerror(errno)));
  } else {
    SpawnOptions spawn;
    spawn.argv = {options_.python,
                  "-c",
                  kPythonWorkerSource,
                  options_.entry_script.string(),
                  options_.source_dir.string(),
                  std::to_string(w.number)};
    spawn.env = CurrentEnvironment();
    if (!options_.model_dir.empty()) {
      spawn.env["AZUREML_MODEL_DIR"] = options_.model_dir.string();
      spawn.env["GANTRY_MODEL_DIR"] = options_.model_dir.string();
    }
    spawn.env["PYTHONUNBUFFERED"] = "1";  // prints reach the log as they happen
    spawn.cwd = options_.source_dir;
    spawn.new_session = true;  // its own process group, killed as one
    spawn.stdout_fd = log[1];
    spawn.stderr_fd = log[1];
    spawn.parent_death_signal = SIGKILL;  // this thread outlives every worker it starts
    spawn.inherit_fds = {req[0], rep[1]};
    pid = Spawn(spawn);
  }
  for (int* fd : {&req[0], &rep[1], &log[1]}) CloseFd(*fd);
  if (!pid.has_value()) {
    for (int* fd : {&req[1], &rep[0], &log[0]}) CloseFd(*fd);
    std::lock_guard<std::mutex> lock(mu_);
    InitFailed(w, pid.error().message());
    return;
  }
  SetNonBlocking(req[1]);
  SetNonBlocking(rep[0]);
  SetNonBlocking(log[0]);
  auto stream = std::make_unique<LogStream>();
  stream->fd = log[0];
  stream->worker = w.number;
  logs_.push_back(std::move(stream));
  std::lock_guard<std::mutex> lock(mu_);
  w.pid = *pid;
  w.pidfd = OpenPidfd(*pid);
  w.to_worker = req[1];
  w.from_worker = rep[0];
  w.decoder = FrameDecoder();
  w.state = State::kStarting;
  if (w.spawns++ > 0) ++restarts_;
  GLOG(Info) << "worker " << w.number << " started (pid " << *pid << "); calling init()";
}

void PythonWorkerPool::InitFailed(Worker& w, const std::string& why) {
  std::string message = "worker " + std::to_string(w.number) + " (" +
                        options_.entry_script.filename().string() + "): " + why;
  w.state = State::kDead;
  if (!started_) {
    // At startup a failed init() fails `gantry serve`: the deployment learns its model
    // did not load. No retry.
    if (!startup_error_.has_value()) startup_error_ = FailedPreconditionError(message);
    w.restart_at = Clock::time_point::max();
    cv_.notify_all();
    return;
  }
  ++w.failed_starts;
  auto delay = std::min<std::chrono::seconds>(
      kMaxRestartDelay, std::chrono::seconds(int64_t{1} << std::min(w.failed_starts - 1, 5)));
  w.restart_at = Clock::now() + delay;
  GLOG(Error) << message << "\nrestarting worker " << w.number << " in " << delay.count() << " s";
}

void PythonWorkerPool::OnWorkerEvent(Worker& w, bool process_exited,
                                     std::unique_lock<std::mutex>& lock) {
  char buf[64 * 1024];
  bool closed = false;
  for (;;) {
    ssize_t n = ::read(w.from_worker, buf, sizeof(buf));
    if (n > 0) {
      w.decoder.Append(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    closed = n == 0 || errno != EAGAIN;
    break;
  }
  const bool starting = w.state == State::kStarting;
  auto next = w.decoder.Next();
  std::string why;      // what went wrong, when there is more to say than how it ended
  bool exiting = true;  // whether the worker is expected to end by itself
  if (!next.has_value()) {
    why = "sent a corrupt frame (" + next.error().message() + ")";
    exiting = false;
  } else if (next->has_value()) {
    const Frame& frame = **next;
    if (starting && frame.kind == FrameKind::kReady) {
      w.state = State::kIdle;
      w.failed_starts = 0;
      idle_.push_back(&w);
      GLOG(Info) << "worker " << w.number << " (pid " << w.pid << ") is ready";
      if (std::all_of(workers_.begin(), workers_.end(),
                      [](const auto& x) { return x->state == State::kIdle; })) {
        started_ = true;  // before the HTTP server starts, so no worker can be busy
      }
      cv_.notify_all();
      return;
    }
    exiting = starting && frame.kind == FrameKind::kInitFailed;
    why = exiting ? "init() failed:\n" + frame.payload : "sent an unexpected frame";
  } else if (!closed && !process_exited) {
    if (starting || !w.decoder.partial()) return;  // a frame is on its way, or a stale wake-up
    why = "wrote to its reply pipe outside a request";
    exiting = false;
  }
  // The worker is gone or broke the protocol. Reaping can take a moment, so it happens with
  // mu_ released; the dead state keeps everyone else away from the worker meanwhile.
  if (!starting) idle_.erase(std::find(idle_.begin(), idle_.end(), &w));
  w.state = State::kDead;
  w.restart_at = Clock::time_point::max();
  const pid_t pid = w.pid;
  lock.unlock();
  ExitInfo info = Bury(w, exiting);
  lock.lock();
  if (starting) {
    InitFailed(w, why.empty() ? DescribeExit(info) + " before init() returned" : why);
    return;
  }
  w.restart_at = Clock::now();
  GLOG(Warning) << "worker " << w.number << " (pid " << pid << ") "
                << (why.empty() ? DescribeExit(info) + " while idle" : why + "; killed")
                << "; restarting";
}

void PythonWorkerPool::ForwardLogs(LogStream& stream, bool eof) {
  char buf[64 * 1024];
  if (!eof) {
    ssize_t n = ::read(stream.fd, buf, sizeof(buf));
    if (n > 0) {
      stream.partial.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      eof = true;
    }
  }
  const std::string prefix = "[worker " + std::to_string(stream.worker) + "] ";
  std::string out;
  size_t start = 0;
  for (size_t nl; (nl = stream.partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    out += prefix;
    out.append(stream.partial, start, nl + 1 - start);
  }
  stream.partial.erase(0, start);
  if (!stream.partial.empty() && (eof || stream.partial.size() > kMaxLogLine)) {
    out += prefix + stream.partial + "\n";
    stream.partial.clear();
  }
  WriteAll(options_.log_fd, out);
  if (eof) CloseFd(stream.fd);
}

void PythonWorkerPool::Supervise() {
  for (auto& w : workers_) SpawnWorker(*w);
  std::vector<pollfd> fds;
  std::vector<std::pair<Worker*, size_t>> watched;  // a worker and its first entry in fds
  for (;;) {
    fds.clear();
    watched.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    for (auto& stream : logs_) fds.push_back({stream->fd, POLLIN, 0});
    int timeout_ms = -1;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ && busy_ == 0) break;
      for (auto& w : workers_) {
        if (w->state == State::kStarting || w->state == State::kIdle) {
          watched.emplace_back(w.get(), fds.size());
          fds.push_back({w->from_worker, POLLIN, 0});
          fds.push_back({w->pidfd, POLLIN, 0});  // poll() skips a negative fd
        } else if (w->state == State::kDead && !stopping_ &&
                   w->restart_at != Clock::time_point::max()) {
          int ms = MillisUntil(w->restart_at);
          timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
        }
      }
    }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      GLOG(Error) << "worker supervisor: poll: " << std::strerror(errno);
    }
    if (fds[0].revents != 0) {
      uint64_t count;
      (void)!::read(wake_fd_, &count, sizeof(count));
    }
    for (size_t i = 0; i < logs_.size(); ++i) {
      if (fds[1 + i].revents != 0) ForwardLogs(*logs_[i], false);
    }
    std::erase_if(logs_, [](const auto& s) { return s->fd < 0; });
    {
      std::unique_lock<std::mutex> lock(mu_);
      for (auto [w, i] : watched) {
        // The state is checked again: a request may have taken the worker since.
        bool starting_or_idle = w->state == State::kStarting || w->state == State::kIdle;
        if (starting_or_idle && (fds[i].revents != 0 || fds[i + 1].revents != 0)) {
          OnWorkerEvent(*w, fds[i + 1].revents != 0, lock);
        }
      }
    }
    for (auto& w : workers_) {
      bool due;
      {
        std::lock_guard<std::mutex> lock(mu_);
        due = w->state == State::kDead && !stopping_ && Clock::now() >= w->restart_at;
      }
      if (due) SpawnWorker(*w);
    }
  }
  ShutDownWorkers();
}

void PythonWorkerPool::ShutDownWorkers() {
  std::vector<Worker*> alive;
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.clear();
    for (auto& w : workers_) {
      if (w->state == State::kDead) continue;
      alive.push_back(w.get());
      // Idle workers leave their loop when the request pipe closes; one still in init()
      // has nothing to finish.
      CloseFd(w->to_worker);
      // It may have exited already; nothing else to do then.
      if (w->state == State::kStarting) (void)SignalGroup(w->pid, SIGTERM);
      w->state = State::kDead;
    }
  }
  // Waits until the workers in `waiting` have exited (or, with `until_output_ends`, until
  // every output pipe has closed too), forwarding what they still print.
  auto drain = [this](std::vector<Worker*> waiting, Clock::time_point deadline,
                      bool until_output_ends) {
    std::vector<pollfd> fds;
    for (;;) {
      std::erase_if(waiting, [](Worker* w) { return HasExited(w->pid); });
      std::erase_if(logs_, [](const auto& s) { return s->fd < 0; });
      bool done = waiting.empty() && (!until_output_ends || logs_.empty());
      if (done || Clock::now() >= deadline) return;
      fds.clear();
      for (auto& stream : logs_) fds.push_back({stream->fd, POLLIN, 0});
      bool pidfds = true;
      for (Worker* w : waiting) {
        fds.push_back({w->pidfd, POLLIN, 0});
        pidfds = pidfds && w->pidfd >= 0;
      }
      int ms = MillisUntil(deadline);
      ::poll(fds.data(), fds.size(), pidfds ? ms : std::min(ms, 10));
      for (size_t i = 0; i < logs_.size(); ++i) {
        if (fds[i].revents != 0) ForwardLogs(*logs_[i], false);
      }
    }
  };
  drain(alive, Clock::now() + kStopGrace, false);
  for (Worker* w : alive) {
    const pid_t pid = w->pid;
    bool exited = HasExited(pid);
    ExitInfo info = Bury(*w, false);
    if (exited) {
      GLOG(Info) << "worker " << w->number << " (pid " << pid << ") " << DescribeExit(info);
    } else {
      GLOG(Warning) << "worker " << w->number << " (pid " << pid << ") did not exit within "
                    << kStopGrace.count() << " s; killed";
    }
  }
  // The output pipes close once every process that held them is gone.
  drain({}, Clock::now() + kLastOutputGrace, true);
  for (auto& stream : logs_) {
    if (stream->fd >= 0) ForwardLogs(*stream, true);
  }
  logs_.clear();
}

}  // namespace gantry::serving
