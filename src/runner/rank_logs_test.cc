#include "runner/rank_logs.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/files.h"

namespace gantry::runner {
namespace {

class RankLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("rank-logs-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<RankLogs> Open(int64_t world, size_t max_line = 64 << 10) {
    auto logs = RankLogs::Open({.merged_log = dir_ / "std_log.txt",
                                .dir = dir_,
                                .world_size = world,
                                .max_line_bytes = max_line,
                                .stderr_lines = 2});
    EXPECT_TRUE(logs.has_value()) << logs.error().ToString();
    return logs ? std::move(*logs) : nullptr;
  }
  std::string Read(const std::string& name) {
    auto text = ReadFile(dir_ / name);
    return text.has_value() ? *text : "<missing>";
  }
  fs::path dir_;
};

TEST_F(RankLogsTest, EachRankHasItsFileAndTheMergedLogHasPrefixedWholeLines) {
  auto logs = Open(2);
  ASSERT_TRUE(logs);
  logs->Append(0, false, "hel");
  logs->Append(1, false, "one\n");
  logs->Append(0, false, "lo\nwor");
  logs->Append(1, true, "oops\n");
  logs->Append(0, false, "ld\n");
  EXPECT_EQ(Read("std_log_process_0.txt"), "hello\nworld\n");
  EXPECT_EQ(Read("std_log_process_1.txt"), "one\noops\n");
  EXPECT_EQ(Read("std_log.txt"), "[rank 1] one\n[rank 0] hello\n[rank 1] oops\n[rank 0] world\n");
  EXPECT_EQ(logs->StderrText(1), "oops");
  EXPECT_EQ(logs->StderrText(0), "");
}

TEST_F(RankLogsTest, StdoutAndStderrOfOneRankAreNotSplicedAndFlushEndsPartialLines) {
  auto logs = Open(1);
  ASSERT_TRUE(logs);
  logs->Append(0, false, "progress 50%");
  logs->Append(0, true, "warning\n");
  logs->Append(0, true, "no newline at exit");
  logs->Flush();
  EXPECT_EQ(Read("std_log.txt"),
            "[rank 0] warning\n[rank 0] progress 50%\n[rank 0] no newline at exit\n");
  EXPECT_EQ(Read("std_log_process_0.txt"), "progress 50%warning\nno newline at exit");
  EXPECT_EQ(logs->StderrText(0), "warning\nno newline at exit");
}

TEST_F(RankLogsTest, OverlongLinesAreCutIntoPrefixedPieces) {
  auto logs = Open(1, /*max_line=*/4);
  ASSERT_TRUE(logs);
  logs->Append(0, false, "abcdefghij\nxy\n");
  EXPECT_EQ(Read("std_log.txt"), "[rank 0] abcd\n[rank 0] efgh\n[rank 0] ij\n[rank 0] xy\n");
}

TEST_F(RankLogsTest, ConcurrentRanksNeverInterleaveWithinALine) {
  auto logs = Open(4);
  ASSERT_TRUE(logs);
  std::vector<std::thread> threads;
  for (int r = 0; r < 4; ++r) {
    threads.emplace_back([&logs, r] {
      const std::string line = "rank-" + std::to_string(r) + "-" + std::string(100, 'a' + r);
      for (int i = 0; i < 200; ++i) {
        // Lines arrive split in two chunks, as a pipe may deliver them.
        logs->Append(r, false, line.substr(0, 37));
        logs->Append(r, false, line.substr(37) + "\n");
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string merged = Read("std_log.txt");
  int lines = 0;
  size_t start = 0;
  while (start < merged.size()) {
    size_t nl = merged.find('\n', start);
    ASSERT_NE(nl, std::string::npos);
    std::string line = merged.substr(start, nl - start);
    const int r = line[6] - '0';
    EXPECT_EQ(line, "[rank " + std::to_string(r) + "] rank-" + std::to_string(r) + "-" +
                        std::string(100, 'a' + r));
    ++lines;
    start = nl + 1;
  }
  EXPECT_EQ(lines, 800);
}

TEST_F(RankLogsTest, TheLaunchersOwnOutputGoesOnlyToTheMergedLog) {
  auto logs = RankLogs::Open({.merged_log = dir_ / "std_log.txt",
                              .dir = dir_,
                              .world_size = 1,
                              .launcher_name = "mpirun"});
  ASSERT_TRUE(logs.has_value());
  (*logs)->Append(RankLogs::kLauncher, true, "mpirun noticed that process rank 0 exited\n");
  (*logs)->Append(5, false, "not a rank\n");
  EXPECT_EQ(Read("std_log.txt"), "[mpirun] mpirun noticed that process rank 0 exited\n");
  EXPECT_EQ(Read("std_log_process_0.txt"), "");
  EXPECT_EQ((*logs)->StderrText(RankLogs::kLauncher), "mpirun noticed that process rank 0 exited");
}

TEST_F(RankLogsTest, StreamNamesFollowAzure) {
  EXPECT_EQ(RankLogs::StreamName(0), "std_log_process_0.txt");
  EXPECT_EQ(RankLogs::StreamName(12), "std_log_process_12.txt");
}

}  // namespace
}  // namespace gantry::runner
