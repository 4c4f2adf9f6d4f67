#include "runner/stderr_tail.h"

#include <gtest/gtest.h>

namespace gantry::runner {
namespace {

TEST(StderrTailTest, KeepsTheLastLinesAcrossChunkBoundaries) {
  StderrTail tail(3);
  tail.Append("one\ntw");
  tail.Append("o\nthree\nfo");
  tail.Append("ur\n");
  EXPECT_EQ(tail.Text(), "two\nthree\nfour");
}

TEST(StderrTailTest, IncludesAnUnterminatedLastLine) {
  StderrTail tail(2);
  tail.Append("a\nb\nTraceback: boom");
  EXPECT_EQ(tail.Text(), "b\nTraceback: boom");
}

TEST(StderrTailTest, EmptyAndBlankOutputGiveNothing) {
  StderrTail tail;
  EXPECT_EQ(tail.Text(), "");
  tail.Append("\n\n  \n");
  EXPECT_EQ(tail.Text(), "");
}

TEST(StderrTailTest, CarriageReturnKeepsOnlyTheLastStateOfAProgressBar) {
  StderrTail tail;
  tail.Append("epoch 1\n 10%\r 50%\r100%\nerror: disk full\n");
  EXPECT_EQ(tail.Text(), "epoch 1\n100%\nerror: disk full");
}

TEST(StderrTailTest, CutsOverlongLines) {
  StderrTail tail(5, 8);
  tail.Append(std::string(100, 'x') + "\nshort\n");
  EXPECT_EQ(tail.Text(), "xxxxxxxx [...]\nshort");
}

}  // namespace
}  // namespace gantry::runner
