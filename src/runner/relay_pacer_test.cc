#include "runner/relay_pacer.h"

#include <gtest/gtest.h>

namespace gantry::runner {
namespace {

TEST(RelayPacerTest, FirstPassIsDue) {
  RelayPacer pacer;
  EXPECT_TRUE(pacer.Due(1000, 0, 0));
}

TEST(RelayPacerTest, NewBytesGoOutAfterTheMinimumGapNotTheRegularCadence) {
  RelayPacer pacer({.every_ms = 200, .min_gap_ms = 20});
  pacer.Passed(1000);
  // Nothing new: only the regular cadence makes a pass due.
  EXPECT_FALSE(pacer.Due(1019, 100, 100));
  EXPECT_FALSE(pacer.Due(1199, 100, 100));
  EXPECT_TRUE(pacer.Due(1200, 100, 100));
  // A point appended 5 ms after the pass waits out the gap, then goes at once.
  EXPECT_FALSE(pacer.Due(1005, 160, 100));
  EXPECT_FALSE(pacer.Due(1019, 160, 100));
  EXPECT_TRUE(pacer.Due(1020, 160, 100));
}

TEST(RelayPacerTest, AQuietFileIsRelayedTheMomentItGrows) {
  RelayPacer pacer({.every_ms = 200, .min_gap_ms = 20});
  pacer.Passed(1000);
  pacer.Passed(1200);  // a regular pass
  EXPECT_FALSE(pacer.Due(1350, 500, 500));
  EXPECT_TRUE(pacer.Due(1350, 560, 500));
}

TEST(RelayPacerTest, ATightLoggingLoopGetsOnePassPerGap) {
  RelayPacer pacer({.every_ms = 200, .min_gap_ms = 20});
  int passes = 0;
  int64_t file = 0, relayed = 0;
  for (int64_t now = 0; now < 1000; now += 5) {
    file += 60;  // a point every 5 ms
    if (pacer.Due(now, file, relayed)) {
      pacer.Passed(now);
      relayed = file;
      ++passes;
    }
  }
  EXPECT_EQ(passes, 50);
}

TEST(RelayPacerTest, UndeliveredBytesAreRetriedNoFasterThanTheGap) {
  // A pass that could not deliver leaves the offset behind: the next try still waits the gap.
  RelayPacer pacer({.every_ms = 200, .min_gap_ms = 20});
  pacer.Passed(1000);
  EXPECT_FALSE(pacer.Due(1010, 300, 100));
  EXPECT_TRUE(pacer.Due(1020, 300, 100));
}

}  // namespace
}  // namespace gantry::runner
