#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace gantry
