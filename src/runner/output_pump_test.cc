#include "runner/output_pump.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>

#include "common/files.h"

namespace gantry::runner {
namespace {

class OutputPumpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("output-pump-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
    ASSERT_EQ(::pipe2(out_, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(err_, O_CLOEXEC), 0);
    auto pump = OutputPump::Start({.stdout_fd = out_[0],
                                   .stderr_fd = err_[0],
                                   .log_file = dir_ / "std_log.txt",
                                   .stderr_lines = 2});
    ASSERT_TRUE(pump.has_value()) << pump.error().ToString();
    pump_ = std::move(*pump);
  }
  void TearDown() override {
    pump_.reset();
    for (int fd : {out_[1], err_[1]}) {
      if (fd >= 0) ::close(fd);
    }
    fs::remove_all(dir_);
  }
  static void Write(int fd, const std::string& s) {
    ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  void CloseWriters() {
    ::close(out_[1]);
    ::close(err_[1]);
    out_[1] = err_[1] = -1;
  }
  std::string Log() { return ReadFile(dir_ / "std_log.txt").value_or("<missing>"); }

  fs::path dir_;
  int out_[2] = {-1, -1};
  int err_[2] = {-1, -1};
  std::unique_ptr<OutputPump> pump_;
};

TEST_F(OutputPumpTest, MergesBothStreamsIntoTheLogAndKeepsTheStderrTail) {
  Write(out_[1], "out 1\n");
  Write(err_[1], "err 1\nerr 2\n");
  Write(out_[1], "out 2\n");
  Write(err_[1], "err 3\n");
  CloseWriters();
  ASSERT_TRUE(pump_->WaitForEof(10'000));
  std::string log = Log();
  for (const char* line : {"out 1\n", "out 2\n", "err 1\nerr 2\n", "err 3\n"}) {
    EXPECT_NE(log.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(log.size(), 30u);
  EXPECT_EQ(pump_->bytes_logged(), 30);
  EXPECT_EQ(pump_->StderrText(), "err 2\nerr 3");
}

TEST_F(OutputPumpTest, StopKeepsWhatWasWrittenEvenWhileAWriterHoldsThePipe) {
  Write(out_[1], "before stop\n");
  EXPECT_FALSE(pump_->WaitForEof(0));
  pump_->Stop();  // must not wait for the writers
  EXPECT_EQ(Log(), "before stop\n");
  pump_->Stop();  // idempotent
}

TEST(OutputPumpCallbackTest, OnOutputGetsEveryChunkWithItsStreamAndNoLogIsWritten) {
  auto dir = MakeTempDir("output-pump-callback-test");
  ASSERT_TRUE(dir.has_value());
  int out[2], err[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(err, O_CLOEXEC), 0);
  std::mutex mu;
  std::string got_out, got_err;
  auto pump = OutputPump::Start({.stdout_fd = out[0],
                                 .stderr_fd = err[0],
                                 .log_file = *dir / "std_log.txt",
                                 .on_output = [&](std::string_view chunk, bool is_stderr) {
                                   std::lock_guard<std::mutex> lock(mu);
                                   (is_stderr ? got_err : got_out).append(chunk);
                                 }});
  ASSERT_TRUE(pump.has_value()) << pump.error().ToString();
  ASSERT_EQ(::write(out[1], "to out\n", 7), 7);
  ASSERT_EQ(::write(err[1], "to err\n", 7), 7);
  ::close(out[1]);
  ::close(err[1]);
  ASSERT_TRUE((*pump)->WaitForEof(10'000));
  (*pump)->Stop();
  EXPECT_EQ(got_out, "to out\n");
  EXPECT_EQ(got_err, "to err\n");
  EXPECT_EQ((*pump)->StderrText(), "to err");
  EXPECT_FALSE(fs::exists(*dir / "std_log.txt"));
  fs::remove_all(*dir);
}

}  // namespace
}  // namespace gantry::runner
