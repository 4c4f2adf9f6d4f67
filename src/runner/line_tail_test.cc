#include "runner/line_tail.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/files.h"

namespace gantry::runner {
namespace {

class LineTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDir("line-tail-test");
    ASSERT_TRUE(dir.has_value());
    dir_ = *dir;
    path_ = dir_ / "metrics.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Append(const std::string& data) {
    std::ofstream out(path_, std::ios::binary | std::ios::app);
    out << data;
  }
  static std::vector<std::string> Texts(const std::vector<TailLine>& lines) {
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l.cut ? "<cut>" : l.text);
    return out;
  }

  fs::path dir_, path_;
};

TEST_F(LineTailTest, AbsentFileHasNoLines) {
  LineTail tail(path_);
  auto lines = tail.Peek(1024);
  ASSERT_TRUE(lines.has_value());
  EXPECT_TRUE(lines->empty());
}

TEST_F(LineTailTest, ReturnsOnlyCompleteLinesAndWaitsForTheRest) {
  Append("a\nbb\ncc");
  LineTail tail(path_);
  auto lines = tail.Peek(1024);
  ASSERT_TRUE(lines.has_value());
  EXPECT_EQ(Texts(*lines), (std::vector<std::string>{"a", "bb"}));
  EXPECT_EQ(lines->back().end_offset, 5);

  tail.Advance(lines->back().end_offset);
  Append("c\n");
  lines = tail.Peek(1024);
  ASSERT_TRUE(lines.has_value());
  EXPECT_EQ(Texts(*lines), (std::vector<std::string>{"ccc"}));
  EXPECT_EQ(lines->back().end_offset, 9);
}

TEST_F(LineTailTest, PeekWithoutAdvanceReadsTheSameLinesAgain) {
  Append("x\ny\n");
  LineTail tail(path_);
  auto first = tail.Peek(1024);
  auto second = tail.Peek(1024);
  ASSERT_TRUE(first.has_value() && second.has_value());
  EXPECT_EQ(Texts(*first), Texts(*second));
  EXPECT_EQ(tail.offset(), 0);
}

TEST_F(LineTailTest, IncludePartialReturnsTheUnterminatedLastLine) {
  Append("a\nlast");
  LineTail tail(path_);
  auto lines = tail.Peek(1024, /*include_partial=*/true);
  ASSERT_TRUE(lines.has_value());
  EXPECT_EQ(Texts(*lines), (std::vector<std::string>{"a", "last"}));
  EXPECT_EQ(lines->back().end_offset, 6);
}

TEST_F(LineTailTest, ReadsAboutMaxBytesButAlwaysAWholeLine) {
  Append("0123456789\nabc\ndef\n");
  LineTail tail(path_, 0, /*max_line_bytes=*/64);
  auto lines = tail.Peek(4);
  ASSERT_TRUE(lines.has_value());
  EXPECT_EQ(Texts(*lines), (std::vector<std::string>{"0123456789"}));
}

TEST_F(LineTailTest, OverlongLinesComeBackCutSoTheyCannotStallTheTail) {
  Append(std::string(25, 'x') + "\nok\n");
  LineTail tail(path_, 0, /*max_line_bytes=*/10);
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i) {
    auto lines = tail.Peek(4);
    ASSERT_TRUE(lines.has_value());
    if (lines->empty()) break;
    for (auto& t : Texts(*lines)) all.push_back(t);
    tail.Advance(lines->back().end_offset);
  }
  // 25 bytes: two cut pieces of 10, then a 5-byte remainder that reads as a (bad) line.
  EXPECT_EQ(all, (std::vector<std::string>{"<cut>", "<cut>", "xxxxx", "ok"}));
}

}  // namespace
}  // namespace gantry::runner
