#include <gtest/gtest.h>

#include "common/files.h"
#include "compute/compute_backend.h"

namespace gantry::compute {
namespace {

TEST(LocalBackendTest, LaunchesPollsAndKills) {
  auto dir = *MakeTempDir("gantry-local-backend");
  // A stand-in "gantry" that ignores its arguments and waits to be killed.
  fs::path fake = dir / "fake-gantry";
  ASSERT_TRUE(WriteFileAtomic(fake, "#!/bin/sh\nexec sleep 300\n").ok());
  fs::permissions(fake, fs::perms::owner_all);
  auto backend = NewLocalBackend({fake});
  auto handle = backend->Submit({"run1", "tok", "http://127.0.0.1:1", dir / "run1"});
  ASSERT_TRUE(handle.has_value()) << handle.error().ToString();
  EXPECT_EQ(backend->Poll(*handle).state, RunnerState::kRunning);
  ASSERT_TRUE(backend->Kill(*handle, 0).ok());
  // Poll reaps the killed child; bounded loop while the kernel delivers SIGKILL.
  RunnerState state = RunnerState::kRunning;
  for (int i = 0; i < 5000 && state == RunnerState::kRunning; ++i) {
    state = backend->Poll(*handle).state;
    if (state == RunnerState::kRunning) usleep(1000);
  }
  EXPECT_EQ(state, RunnerState::kGone);
  fs::remove_all(dir);
}

TEST(LocalBackendTest, RunnerGetsTheTokenAndItsOwnLog) {
  auto dir = *MakeTempDir("gantry-local-backend");
  fs::path fake = dir / "fake-gantry";
  ASSERT_TRUE(WriteFileAtomic(fake, "#!/bin/sh\necho \"$1 $GANTRY_RUN_TOKEN\"\n").ok());
  fs::permissions(fake, fs::perms::owner_all);
  auto backend = NewLocalBackend({fake});
  auto handle = backend->Submit({"run2", "secret", "http://127.0.0.1:1", dir / "run2"});
  ASSERT_TRUE(handle.has_value());
  RunnerState state = RunnerState::kRunning;
  for (int i = 0; i < 5000 && state == RunnerState::kRunning; ++i) {
    state = backend->Poll(*handle).state;
    if (state == RunnerState::kRunning) usleep(1000);
  }
  ASSERT_EQ(state, RunnerState::kGone);
  EXPECT_EQ(*ReadFile(dir / "run2" / "runner.log"), "runner secret\n");
  fs::remove_all(dir);
}

// The process's state letter from /proc/PID/stat ('Z' for a zombie), or 0 once it is gone.
char ProcState(int64_t pid) {
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.has_value()) return 0;
  auto close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() ? (*stat)[close + 2] : 0;
}

TEST(LocalBackendTest, ReapCollectsFinishedRunnersThatNobodyPolls) {
  auto dir = *MakeTempDir("gantry-local-backend");
  fs::path fake = dir / "fake-gantry";
  ASSERT_TRUE(WriteFileAtomic(fake, "#!/bin/sh\nexit 0\n").ok());
  fs::permissions(fake, fs::perms::owner_all);
  auto backend = NewLocalBackend({fake});
  auto handle = backend->Submit({"run3", "tok", "http://127.0.0.1:1", dir / "run3"});
  ASSERT_TRUE(handle.has_value());
  // Its run ended (the server stopped polling it); the runner exits and must not linger.
  char state = 'R';
  for (int i = 0; i < 5000 && state != 'Z' && state != 0; ++i) {
    state = ProcState(handle->pid);
    if (state != 'Z' && state != 0) usleep(1000);
  }
  ASSERT_EQ(state, 'Z');  // exited, not yet collected
  backend->Reap();
  EXPECT_EQ(ProcState(handle->pid), 0);
  fs::remove_all(dir);
}

TEST(LocalBackendTest, MissingExecutableIsAnError) {
  auto dir = *MakeTempDir("gantry-local-backend");
  auto backend = NewLocalBackend({"/no/such/gantry"});
  auto handle = backend->Submit({"run1", "tok", "http://127.0.0.1:1", dir / "run1"});
  ASSERT_FALSE(handle.has_value());
  EXPECT_NE(handle.error().message().find("/no/such/gantry"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gantry::compute
