#include "runner/log_shipper.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/files.h"

namespace gantry::runner {
namespace {

// Behaves like the server's log stream: resends absorbed, a gap refused.
class FakeLogSink : public LogSink {
 public:
  Result<int64_t> AppendLog(int64_t offset, std::string_view data) override {
    ++calls;
    if (down) return Err(UnavailableError("down"));
    if (offset > static_cast<int64_t>(stored.size())) {
      return Err(FailedPreconditionError("gap at " + std::to_string(offset)));
    }
    size_t skip = stored.size() - static_cast<size_t>(offset);
    if (skip < data.size()) stored.append(data.substr(skip));
    max_chunk = std::max(max_chunk, data.size());
    if (lose_answer) return Err(UnavailableError("answer lost"));
    return static_cast<int64_t>(stored.size());
  }

  std::string stored;
  bool down = false;
  bool lose_answer = false;
  int calls = 0;
  size_t max_chunk = 0;
};

class LogShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("log-shipper-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
    path_ = dir_ / "std_log.txt";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Append(const std::string& data) {
    std::ofstream out(path_, std::ios::binary | std::ios::app);
    out << data;
  }

  fs::path dir_, path_;
  FakeLogSink sink_;
};

TEST_F(LogShipperTest, AbsentFileIsNothingToShip) {
  LogShipper shipper(path_, &sink_);
  EXPECT_TRUE(shipper.Ship().ok());
  EXPECT_EQ(sink_.calls, 0);
}

TEST_F(LogShipperTest, ShipsInChunksAndOnlyNewBytesLater) {
  Append(std::string(2500, 'a'));
  LogShipper shipper(path_, &sink_, /*chunk_bytes=*/1000);
  ASSERT_TRUE(shipper.Ship().ok());
  EXPECT_EQ(sink_.calls, 3);
  EXPECT_EQ(sink_.max_chunk, 1000u);
  EXPECT_EQ(shipper.shipped(), 2500);
  Append("tail\n");
  ASSERT_TRUE(shipper.Ship().ok());
  EXPECT_EQ(sink_.calls, 4);
  EXPECT_EQ(sink_.stored, std::string(2500, 'a') + "tail\n");
}

TEST_F(LogShipperTest, KeepsItsPlaceWhileTheServerIsAway) {
  Append("hello\n");
  LogShipper shipper(path_, &sink_);
  sink_.down = true;
  EXPECT_EQ(shipper.Ship().code(), StatusCode::kUnavailable);
  EXPECT_EQ(shipper.shipped(), 0);
  Append("world\n");
  sink_.down = false;
  ASSERT_TRUE(shipper.Ship().ok());
  EXPECT_EQ(sink_.stored, "hello\nworld\n");
}

TEST_F(LogShipperTest, ALostAnswerCostsOnlyAResend) {
  Append("one\n");
  LogShipper shipper(path_, &sink_);
  sink_.lose_answer = true;
  EXPECT_FALSE(shipper.Ship().ok());
  sink_.lose_answer = false;
  Append("two\n");
  ASSERT_TRUE(shipper.Ship().ok());
  EXPECT_EQ(sink_.stored, "one\ntwo\n");
}

TEST_F(LogShipperTest, StartsOverWhenTheServerReportsAGap) {
  Append("abc\n");
  LogShipper shipper(path_, &sink_);
  ASSERT_TRUE(shipper.Ship().ok());
  sink_.stored.clear();  // the server lost its copy
  Append("def\n");
  ASSERT_TRUE(shipper.Ship().ok());
  EXPECT_EQ(sink_.stored, "abc\ndef\n");
}

}  // namespace
}  // namespace gantry::runner
