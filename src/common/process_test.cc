#include "common/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace gantry {
namespace {

TEST(ProcessTest, ReportsExitCodeAndOutput) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  SpawnOptions opts;
  opts.argv = {"sh", "-c", "echo hello; exit 3"};
  opts.stdout_fd = fds[1];
  auto pid = Spawn(opts);
  ASSERT_TRUE(pid.has_value());
  close(fds[1]);
  char buf[64] = {};
  ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
  close(fds[0]);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "hello\n");
  EXPECT_EQ(WaitFor(*pid).code, 3);
}

TEST(ProcessTest, InheritedDescriptorsArriveAsThreeAndFourInOrder) {
  int a[2], b[2];
  ASSERT_EQ(pipe2(a, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(b, O_CLOEXEC), 0);
  SpawnOptions opts;
  // fd 5 must be closed in the child even though the parent had it open.
  opts.argv = {"sh", "-c", "echo first >&3; echo second >&4; echo leak >&5 || echo closed >&4"};
  opts.inherit_fds = {a[1], b[1]};
  auto pid = Spawn(opts);
  ASSERT_TRUE(pid.has_value());
  close(a[1]);
  close(b[1]);
  auto read_all = [](int fd) {
    std::string out;
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
    close(fd);
    return out;
  };
  EXPECT_EQ(read_all(a[0]), "first\n");
  EXPECT_EQ(read_all(b[0]), "second\nclosed\n");
  EXPECT_EQ(WaitFor(*pid).code, 0);
}

TEST(ProcessTest, MissingProgramIsAnError) {
  SpawnOptions opts;
  opts.argv = {"/no/such/program"};
  auto pid = Spawn(opts);
  ASSERT_FALSE(pid.has_value());
  EXPECT_NE(pid.error().message().find("/no/such/program"), std::string::npos);
}

TEST(ProcessTest, SignalGroupKillsGrandchildren) {
  SpawnOptions opts;
  // The shell starts a grandchild and waits; killing the group must end both.
  opts.argv = {"sh", "-c", "sleep 100 & wait"};
  auto pid = Spawn(opts);
  ASSERT_TRUE(pid.has_value());
  EXPECT_TRUE(GroupAlive(*pid));
  ASSERT_TRUE(SignalGroup(*pid, SIGKILL).ok());
  EXPECT_EQ(WaitFor(*pid).signal, SIGKILL);
  // The orphaned grandchild is reparented and reaped by init; bounded wait for it to go.
  for (int i = 0; i < 2000 && GroupAlive(*pid); ++i) usleep(1000);
  EXPECT_FALSE(GroupAlive(*pid));
}

TEST(ProcessTest, SignalSessionReachesEveryMember) {
  // A session leader of our own (like a runner started by a backend) and its grandchild.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  SpawnOptions leader;
  leader.argv = {"sh", "-c", "sh -c 'echo $$; exec sleep 100' & wait"};
  leader.stdout_fd = ready[1];
  auto sid = Spawn(leader);
  ::close(ready[1]);
  ASSERT_TRUE(sid.has_value());
  char buf[32] = {};
  ASSERT_GT(::read(ready[0], buf, sizeof(buf) - 1), 0);
  ::close(ready[0]);
  const pid_t member = static_cast<pid_t>(std::stol(buf));
  auto members = SessionMembers(*sid);
  EXPECT_NE(std::find(members.begin(), members.end(), member), members.end());
  EXPECT_NE(std::find(members.begin(), members.end(), *sid), members.end());
  ASSERT_TRUE(SignalSession(*sid, SIGKILL).ok());
  EXPECT_EQ(WaitFor(*sid).signal, SIGKILL);
  for (int i = 0; i < 2000 && !SessionMembers(*sid).empty(); ++i) usleep(1000);
  EXPECT_TRUE(SessionMembers(*sid).empty());
}

TEST(ProcessTest, NewProcessGroupLeadsItsOwnGroup) {
  SpawnOptions opts;
  opts.argv = {"sleep", "100"};
  opts.new_session = false;
  opts.new_process_group = true;
  auto pid = Spawn(opts);
  ASSERT_TRUE(pid.has_value());
  EXPECT_EQ(::getpgid(*pid), *pid);
  EXPECT_EQ(::getsid(*pid), ::getsid(0));
  ASSERT_TRUE(SignalGroup(*pid, SIGKILL).ok());
  EXPECT_EQ(WaitFor(*pid).signal, SIGKILL);
}

TEST(ProcessTest, ASubreaperEndsADaemonThatLeftItsSession) {
  fs::path dir = *MakeTempDir("gantry-subreaper");
  fs::path pid_file = dir / "pid";
  // In a child process, so that the test binary itself does not become a subreaper. The
  // child reports what went wrong through its exit code.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!BecomeChildSubreaper().ok()) ::_exit(10);
    // A double fork into a new session: the subshell exits and leaves the daemon orphaned.
    auto sh =
        Spawn({.argv = {"sh", "-c", "(setsid sleep 1000 & echo $! > " + pid_file.string() + ")"}});
    if (!sh.has_value()) ::_exit(11);
    WaitFor(*sh);
    pid_t daemon = 0;
    std::ifstream(pid_file) >> daemon;
    if (daemon <= 0 || !ProcessAlive(daemon)) ::_exit(12);
    std::vector<pid_t> children = ChildrenOf(::getpid());
    if (std::find(children.begin(), children.end(), daemon) == children.end()) ::_exit(13);
    if (KillDescendants() != 1) ::_exit(14);
    ::_exit(ProcessAlive(daemon) || !ChildrenOf(::getpid()).empty() ? 15 : 0);
  }
  ExitInfo info = WaitFor(child);
  EXPECT_EQ(info.code, 0) << "10: prctl, 11: spawn, 12: no daemon, 13: not reparented, "
                             "14: not killed, 15: still alive";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gantry
