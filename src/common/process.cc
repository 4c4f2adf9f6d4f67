#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace gantry {

Result<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return Err(InvalidArgumentError("empty command"));
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  // Allocated before fork(): the child of a threaded parent must not call malloc.
  std::vector<int> moved_fds(options.inherit_fds.size());
  const int kept = static_cast<int>(options.inherit_fds.size());

  // A pipe with CLOEXEC reports exec failure (errno) back to the parent.
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Err(InternalError(std::string("pipe: ") + std::strerror(errno)));
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    return Err(InternalError(std::string("fork: ") + std::strerror(errno)));
  }
  if (pid == 0) {
    ::close(err_pipe[0]);
    if (options.new_session) {
      ::setsid();
    } else if (options.new_process_group) {
      ::setpgid(0, 0);
    }
    if (options.parent_death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
      if (::getppid() == 1) ::_exit(127);  // the parent is already gone
    }
    // Restore default signal dispositions the parent may have changed.
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGCHLD, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(options.stdout_fd >= 0 ? options.stdout_fd : devnull, 1);
    ::dup2(options.stderr_fd >= 0 ? options.stderr_fd : devnull, 2);
    // Lift the error pipe and the descriptors to pass above fds 3..3+kept first, so that
    // placing one of them cannot overwrite another.
    int err_fd = err_pipe[1];
    if (kept > 0) {
      err_fd = ::fcntl(err_pipe[1], F_DUPFD_CLOEXEC, 3 + kept);
      for (int i = 0; i < kept; ++i)
        moved_fds[i] = ::fcntl(options.inherit_fds[i], F_DUPFD, 3 + kept);
      for (int i = 0; i < kept; ++i) ::dup2(moved_fds[i], 3 + i);
    }
    // Close every other inherited descriptor so children never hold server sockets.
    for (int fd = 3 + kept; fd < 1024; ++fd) {
      if (fd != err_fd) ::close(fd);
    }
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(err_fd, &e, sizeof(e));
      ::_exit(127);
    }
    if (options.env.empty()) {
      ::execvp(argv[0], argv.data());
    } else {
      ::execvpe(argv[0], argv.data(), envp.data());
    }
    int e = errno;
    (void)!::write(err_fd, &e, sizeof(e));
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  // Also from the parent, so that the group exists before anyone signals it (either call
  // may run first; the loser fails harmlessly).
  if (!options.new_session && options.new_process_group) (void)::setpgid(pid, pid);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n == sizeof(child_errno)) {
    ::waitpid(pid, nullptr, 0);
    return Err(FailedPreconditionError("cannot start '" + options.argv[0] +
                                       "': " + std::strerror(child_errno)));
  }
  return pid;
}

namespace {
ExitInfo FromWaitStatus(int st) {
  ExitInfo info;
  if (WIFEXITED(st)) {
    info.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    info.signal = WTERMSIG(st);
    info.code = 128 + info.signal;
  }
  return info;
}
}  // namespace

std::optional<ExitInfo> TryWait(pid_t pid) {
  int st = 0;
  pid_t r = ::waitpid(pid, &st, WNOHANG);
  if (r == pid) return FromWaitStatus(st);
  if (r < 0 && errno == ECHILD) return ExitInfo{.code = -1};
  return std::nullopt;
}

ExitInfo WaitFor(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return ExitInfo{.code = -1};
  }
  return FromWaitStatus(st);
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0) return errno == EPERM;
  // A zombie still answers kill(); read its state from /proc.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  std::getline(stat, content);
  auto close_paren = content.rfind(')');
  if (close_paren != std::string::npos && close_paren + 2 < content.size()) {
    return content[close_paren + 2] != 'Z';
  }
  return true;
}

Status SignalGroup(pid_t pgid, int sig) {
  if (pgid <= 1)
    return InvalidArgumentError("refusing to signal process group " + std::to_string(pgid));
  if (::kill(-pgid, sig) != 0 && errno != ESRCH) {
    return InternalError("kill(-" + std::to_string(pgid) + "): " + std::strerror(errno));
  }
  return Status::Ok();
}

bool GroupAlive(pid_t pgid) {
  if (pgid <= 1) return false;
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

namespace {
struct ProcStat {
  pid_t pid = 0;
  std::string state;
  long ppid = 0, pgrp = 0, session = 0;
};

// Calls `visit` with each process in /proc that can be read.
template <typename F>
void ForEachProcess(F&& visit) {
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc", ec); !ec && it != fs::end(it); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(it->path() / "stat");
    std::string content;
    std::getline(stat, content);
    // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
    auto close_paren = content.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream fields(content.substr(close_paren + 1));
    ProcStat p;
    if (!(fields >> p.state >> p.ppid >> p.pgrp >> p.session)) continue;
    p.pid = static_cast<pid_t>(std::stol(name));
    visit(p);
  }
}
}  // namespace

std::vector<pid_t> SessionMembers(pid_t sid) {
  std::vector<pid_t> out;
  ForEachProcess([&](const ProcStat& p) {
    if (p.session == sid && p.state != "Z") out.push_back(p.pid);
  });
  return out;
}

Status SignalSession(pid_t sid, int sig, pid_t except) {
  if (sid <= 1) return InvalidArgumentError("refusing to signal session " + std::to_string(sid));
  for (pid_t pid : SessionMembers(sid)) {
    if (pid == except) continue;
    if (::kill(pid, sig) != 0 && errno != ESRCH) {
      return InternalError("kill(" + std::to_string(pid) + "): " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

Status BecomeChildSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return InternalError(std::string("cannot become a child subreaper: ") + std::strerror(errno));
  }
  return Status::Ok();
}

std::vector<pid_t> ChildrenOf(pid_t parent) {
  std::vector<pid_t> out;
  ForEachProcess([&](const ProcStat& p) {
    if (p.ppid == parent) out.push_back(p.pid);
  });
  return out;
}

int KillDescendants() {
  int reaped = 0;
  // Each round ends the current children; their own children, orphaned by that, are ours in
  // the next. A process killed cannot fork again, so the rounds end with the tree; the bound
  // only guards against a /proc that keeps listing a child we cannot reap.
  for (int round = 0; round < 10'000; ++round) {
    std::vector<pid_t> children = ChildrenOf(::getpid());
    if (children.empty()) break;
    for (pid_t pid : children) (void)::kill(pid, SIGKILL);
    bool any = false;
    for (pid_t pid : children) {
      int st = 0;
      pid_t r;
      do {
        r = ::waitpid(pid, &st, 0);
      } while (r < 0 && errno == EINTR);
      if (r == pid) {
        ++reaped;
        any = true;
      }
    }
    if (!any) break;  // children someone else reaped meanwhile: nothing more to do here
  }
  return reaped;
}

Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env,
                                 const std::function<void(const std::string&)>& on_line,
                                 size_t keep_bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Err(InternalError(std::string("cannot create a pipe: ") + std::strerror(errno)));
  }
  auto pid = Spawn({.argv = argv, .env = env, .stdout_fd = fds[1], .stderr_fd = fds[1]});
  ::close(fds[1]);
  if (!pid.has_value()) {
    ::close(fds[0]);
    return Err(pid.error());
  }
  CommandOutput out;
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.text.append(buf, static_cast<size_t>(n));
    if (out.text.size() > keep_bytes) out.text.erase(0, out.text.size() - keep_bytes);
    if (!on_line) continue;
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      on_line(pending.substr(0, nl));
    }
  }
  ::close(fds[0]);
  if (on_line && !pending.empty()) on_line(pending);
  out.code = WaitFor(*pid).code;
  return out;
}

std::optional<fs::path> FindExecutable(const std::vector<std::string>& names,
                                       const std::string& path_env) {
  for (const auto& name : names) {
    if (name.find('/') != std::string::npos) {
      if (::access(name.c_str(), X_OK) == 0) return fs::path(name);
      continue;
    }
    size_t start = 0;
    while (start <= path_env.size()) {
      size_t end = path_env.find(':', start);
      if (end == std::string::npos) end = path_env.size();
      fs::path candidate = fs::path(path_env.substr(start, end - start)) / name;
      if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return std::nullopt;
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string s(*e);
    auto eq = s.find('=');
    if (eq != std::string::npos) env[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return env;
}

fs::path SelfExecutable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("gantry") : p;
}

}  // namespace gantry
