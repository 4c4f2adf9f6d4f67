#include "deploy/traffic.h"

#include <gtest/gtest.h>

#include <map>

namespace gantry::deploy {
namespace {

TEST(TrafficTest, PickByTrafficFollowsTheWeights) {
  Json traffic = {{"blue", 90}, {"green", 10}, {"red", 0}};
  std::map<std::string, int> seen;
  for (int draw = 0; draw < 100; ++draw) ++seen[PickByTraffic(traffic, draw)];
  EXPECT_EQ(seen["blue"], 90);
  EXPECT_EQ(seen["green"], 10);
  EXPECT_EQ(seen.count("red"), 0u);
  EXPECT_EQ(PickByTraffic(Json{{"blue", 0}}, 0), "");
  EXPECT_EQ(PickByTraffic(Json::object(), 0), "");
}

TEST(TrafficTest, ReadyReplicasOfTheNewGenerationAnswerInTurn) {
  EXPECT_EQ(PickReplica(3, 2, 0), 0u);
  EXPECT_EQ(PickReplica(3, 2, 1), 1u);
  EXPECT_EQ(PickReplica(3, 2, 2), 2u);
  EXPECT_EQ(PickReplica(3, 2, 3), 0u);
}

TEST(TrafficTest, ThePreviousGenerationAnswersUntilTheNewOneHasAReadyReplica) {
  // Indices past the current ones are the previous generation's.
  EXPECT_EQ(PickReplica(0, 2, 0), 0u);
  EXPECT_EQ(PickReplica(0, 2, 1), 1u);
  EXPECT_EQ(PickReplica(0, 2, 2), 0u);
  EXPECT_FALSE(PickReplica(0, 0, 7).has_value());
}

}  // namespace
}  // namespace gantry::deploy
