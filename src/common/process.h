// Process spawning and signalling: the one place that calls fork/exec. Thread-safe.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/status.h"

namespace gantry {

struct SpawnOptions {
  // argv[0] is looked up on PATH when it has no slash.
  std::vector<std::string> argv;
  // The child's whole environment. When empty, the parent's environment is inherited.
  std::map<std::string, std::string> env;
  // Working folder; the parent's when empty.
  fs::path cwd;
  // setsid(): the child leads a new session and process group, so it outlives its parent's
  // terminal and can be signalled as a group.
  bool new_session = true;
  // Without new_session: setpgid(0, 0), so the child leads a new process group but stays in
  // its parent's session (a distributed job's ranks: each is signalled as a group, and all
  // can still be found through the runner's session).
  bool new_process_group = false;
  // Where stdout/stderr go. -1 → /dev/null. Pass the write end of a pipe or an open file.
  int stdout_fd = -1;
  int stderr_fd = -1;
  // When non-zero, the child gets this signal when the thread that spawned it exits
  // (PR_SET_PDEATHSIG): children that must not outlive the server, such as model servers.
  int parent_death_signal = 0;
  // Descriptors the child gets as fd 3, 4, ... in this order, for pipes beside stdio (a
  // worker's request and reply channels). Every other descriptor above 2 is closed.
  std::vector<int> inherit_fds;
};

// Starts a child. Returns its pid (also its process-group id when new_session is set).
Result<pid_t> Spawn(const SpawnOptions& options);

// Exit status of a finished child: exit code, or 128 + signal number.
struct ExitInfo {
  int code = 0;
  int signal = 0;  // non-zero when killed by a signal
};

// Non-blocking reap of our own child. nullopt while it runs.
std::optional<ExitInfo> TryWait(pid_t pid);
// Blocking reap of our own child.
ExitInfo WaitFor(pid_t pid);
// True when a process with this pid exists (and is not a zombie of ours).
bool ProcessAlive(pid_t pid);
// Sends `sig` to the whole group `pgid`. OK when the group is already gone.
Status SignalGroup(pid_t pgid, int sig);
// True when any process of the group still exists.
bool GroupAlive(pid_t pgid);
// The live processes (not zombies) whose session id is `sid`, read from /proc.
std::vector<pid_t> SessionMembers(pid_t sid);
// Sends `sig` to every process of session `sid` except `except` (e.g. the caller, when it
// leads that session). OK when none is left. InvalidArgument for sid <= 1.
Status SignalSession(pid_t sid, int sig, pid_t except = 0);

// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant orphaned by its
// parent's exit (a daemon that double-forked or called setsid()) becomes this process's child
// instead of init's, so KillDescendants still finds it. Idempotent. Internal on failure.
Status BecomeChildSubreaper();
// The children of process `pid`, zombies included, read from /proc.
std::vector<pid_t> ChildrenOf(pid_t pid);
// SIGKILLs and reaps every child of this process, then the orphans that inherits (as a
// subreaper), until none is left; with BecomeChildSubreaper that ends every descendant,
// daemonised or not. Returns how many processes were reaped. Only for a process whose
// children all belong to what is being ended, with no other thread waiting for one.
int KillDescendants();

// A finished command: its exit code and the last bytes of its stdout and stderr together.
struct CommandOutput {
  int code = -1;
  std::string text;
};

// Runs argv (environment `env`, ours when empty) to completion, handing each output line to
// `on_line` when set, and keeps the last `keep_bytes` of the output.
Result<CommandOutput> RunCommand(const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& env = {},
                                 const std::function<void(const std::string&)>& on_line = nullptr,
                                 size_t keep_bytes = 1 << 20);

// The first of `names` found as an executable on `path_env` (a ':'-separated PATH); a name
// with a slash is taken as a path. nullopt when none is.
std::optional<fs::path> FindExecutable(const std::vector<std::string>& names,
                                       const std::string& path_env);

// The current environment as a map.
std::map<std::string, std::string> CurrentEnvironment();
// Absolute path of the running executable.
fs::path SelfExecutable();

}  // namespace gantry
