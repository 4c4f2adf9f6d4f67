#include "sweep/policy.h"

#include <gtest/gtest.h>

#include <limits>

namespace gantry::sweep {
namespace {

Policy Parse(const char* json) {
  auto p = ParsePolicy(Json::parse(json));
  EXPECT_TRUE(p.has_value()) << p.error().ToString();
  return p.value_or(Policy{});
}

TEST(PolicyTest, BanditSlackFactorMaximize) {
  // Best 0.8 at interval 1, slack_factor 0.1: threshold 0.8 / 1.1 = 0.72727.
  Policy p = Parse(R"({"type": "bandit", "slack_factor": 0.1})");
  std::vector<TrialSeries> trials = {{"a", {0.8}}, {"b", {0.7}}, {"c", {0.75}}};
  auto stop = Judge(p, Goal::kMaximize, trials, 1);
  ASSERT_TRUE(stop.has_value());
  EXPECT_EQ(stop->policy, PolicyType::kBandit);
  EXPECT_EQ(stop->interval, 1);
  EXPECT_DOUBLE_EQ(stop->value, 0.7);
  EXPECT_NEAR(stop->threshold, 0.727272727, 1e-9);
  EXPECT_NE(stop->reason.find("0.7 is below 0.727273 (best 0.8 / (1 + slack_factor 0.1))"),
            std::string::npos)
      << stop->reason;
  EXPECT_FALSE(Judge(p, Goal::kMaximize, trials, 2).has_value());  // 0.75 is within the slack
  EXPECT_FALSE(Judge(p, Goal::kMaximize, trials, 0).has_value());  // the best itself
}

TEST(PolicyTest, BanditMinimizeAndSlackAmount) {
  // Minimize, best 0.2, slack_factor 0.1: threshold 0.22.
  Policy f = Parse(R"({"type": "bandit", "slack_factor": 0.1})");
  std::vector<TrialSeries> trials = {{"a", {0.2}}, {"b", {0.23}}, {"c", {0.21}}};
  auto stop = Judge(f, Goal::kMinimize, trials, 1);
  ASSERT_TRUE(stop.has_value());
  EXPECT_NEAR(stop->threshold, 0.22, 1e-12);
  EXPECT_FALSE(Judge(f, Goal::kMinimize, trials, 2).has_value());
  // slack_amount 0.05, maximize: best 0.8 → threshold 0.75.
  Policy a = Parse(R"({"type": "bandit", "slack_amount": 0.05})");
  std::vector<TrialSeries> max = {{"a", {0.8}}, {"b", {0.74}}, {"c", {0.76}}};
  auto cut = Judge(a, Goal::kMaximize, max, 1);
  ASSERT_TRUE(cut.has_value());
  EXPECT_NEAR(cut->threshold, 0.75, 1e-12);
  EXPECT_FALSE(Judge(a, Goal::kMaximize, max, 2).has_value());
  // Minimize with slack_amount 0.05: best 0.2 → 0.25.
  std::vector<TrialSeries> min = {{"a", {0.2}}, {"b", {0.26}}};
  auto low = Judge(a, Goal::kMinimize, min, 1);
  ASSERT_TRUE(low.has_value());
  EXPECT_NEAR(low->threshold, 0.25, 1e-12);
}

TEST(PolicyTest, BanditSlackFactorWithANegativeBestKeepsTheBestTrial) {
  // A log-likelihood to maximize: best -1.0, slack_factor 0.1 → threshold -1.1, not -1 / 1.1
  // (= -0.909, above the best, which would stop every trial, the best among them).
  Policy p = Parse(R"({"type": "bandit", "slack_factor": 0.1})");
  std::vector<TrialSeries> max = {{"a", {-1.0}}, {"b", {-1.05}}, {"c", {-1.2}}};
  EXPECT_FALSE(Judge(p, Goal::kMaximize, max, 0).has_value());
  EXPECT_FALSE(Judge(p, Goal::kMaximize, max, 1).has_value());
  auto stop = Judge(p, Goal::kMaximize, max, 2);
  ASSERT_TRUE(stop.has_value());
  EXPECT_NEAR(stop->threshold, -1.1, 1e-12);
  EXPECT_NE(stop->reason.find("-1.2 is below -1.1 (best -1 * (1 + slack_factor 0.1), a negative "
                              "best)"),
            std::string::npos)
      << stop->reason;
  // Minimizing a negative loss: best -2.2, slack_factor 0.1 → threshold -2.2 / 1.1 = -2.
  std::vector<TrialSeries> min = {{"a", {-2.2}}, {"b", {-2.1}}, {"c", {-1.9}}};
  EXPECT_FALSE(Judge(p, Goal::kMinimize, min, 0).has_value());
  EXPECT_FALSE(Judge(p, Goal::kMinimize, min, 1).has_value());
  auto low = Judge(p, Goal::kMinimize, min, 2);
  ASSERT_TRUE(low.has_value());
  EXPECT_NEAR(low->threshold, -2.0, 1e-12);
}

TEST(PolicyTest, ADivergedTrialCountsAsTheWorstAndIsStopped) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(PrimaryMetricValue(0.5, "", Goal::kMaximize), 0.5);
  EXPECT_EQ(PrimaryMetricValue(0, "\"NaN\"", Goal::kMaximize), -inf);
  EXPECT_EQ(PrimaryMetricValue(0, "\"NaN\"", Goal::kMinimize), inf);
  EXPECT_EQ(PrimaryMetricValue(0, "\"Infinity\"", Goal::kMinimize), inf);
  EXPECT_EQ(PrimaryMetricValue(0, "\"-Infinity\"", Goal::kMaximize), -inf);
  EXPECT_EQ(PrimaryMetricValue(0, "\"fast\"", Goal::kMaximize), std::nullopt);
  EXPECT_EQ(PrimaryMetricValue(0, "[1,2]", Goal::kMaximize), std::nullopt);
  // A loss that went NaN at interval 1 is stopped by the bandit policy.
  Policy p = Parse(R"({"type": "bandit", "slack_amount": 0.5})");
  std::vector<TrialSeries> trials = {{"a", {0.3}}, {"b", {inf}}};
  auto stop = Judge(p, Goal::kMinimize, trials, 1);
  ASSERT_TRUE(stop.has_value());
  EXPECT_NEAR(stop->threshold, 0.8, 1e-12);
  EXPECT_FALSE(Judge(p, Goal::kMinimize, trials, 0).has_value());
}

TEST(PolicyTest, DelayAndIntervalDecideWhichIntervalsAreJudged) {
  // delay 2, interval 2: intervals 4, 6, ... are judged; 1, 2, 3, 5 are not.
  Policy p = Parse(R"({"type": "bandit", "slack_factor": 0.0, "evaluation_interval": 2,
                       "delay_evaluation": 2})");
  for (size_t k = 1; k <= 6; ++k) {
    std::vector<TrialSeries> trials = {{"a", std::vector<double>(k, 1.0)},
                                       {"b", std::vector<double>(k, 0.5)}};
    EXPECT_EQ(Judge(p, Goal::kMaximize, trials, 1).has_value(), k == 4 || k == 6) << k;
  }
}

TEST(PolicyTest, MedianStoppingUsesRunningAverages) {
  // At interval 2: running averages of the others: a (0.6+0.8)/2 = 0.7, b (0.4+0.6)/2 = 0.5,
  // c (0.9+0.7)/2 = 0.8 → median 0.7. d's best so far is 0.65 < 0.7: stopped; e's 0.75 is not.
  Policy p = Parse(R"({"type": "median_stopping"})");
  std::vector<TrialSeries> trials = {
      {"a", {0.6, 0.8}}, {"b", {0.4, 0.6}}, {"c", {0.9, 0.7}}, {"d", {0.5, 0.65}}};
  auto stop = Judge(p, Goal::kMaximize, trials, 3);
  ASSERT_TRUE(stop.has_value());
  EXPECT_DOUBLE_EQ(stop->value, 0.65);
  EXPECT_DOUBLE_EQ(stop->threshold, 0.7);
  trials[3].values = {0.75, 0.5};
  EXPECT_FALSE(Judge(p, Goal::kMaximize, trials, 3).has_value());
  // Alone at an interval: no judgement.
  std::vector<TrialSeries> alone = {{"a", {0.1}}};
  EXPECT_FALSE(Judge(p, Goal::kMaximize, alone, 0).has_value());
}

TEST(PolicyTest, TruncationCutsTheWorstPercentage) {
  // 5 trials at interval 1, 40%: the worst floor(5 * 0.4) = 2 are cut.
  Policy p = Parse(R"({"type": "truncation_selection", "truncation_percentage": 40})");
  std::vector<TrialSeries> trials = {
      {"a", {0.9}}, {"b", {0.5}}, {"c", {0.7}}, {"d", {0.6}}, {"e", {0.8}}};
  auto b = Judge(p, Goal::kMaximize, trials, 1);
  ASSERT_TRUE(b.has_value());
  EXPECT_DOUBLE_EQ(b->threshold, 0.7);                             // the worst that survives
  EXPECT_TRUE(Judge(p, Goal::kMaximize, trials, 3).has_value());   // 0.6
  EXPECT_FALSE(Judge(p, Goal::kMaximize, trials, 2).has_value());  // 0.7 survives
  // Minimizing, the high values are the worst.
  EXPECT_TRUE(Judge(p, Goal::kMinimize, trials, 0).has_value());
  // exclude_finished_jobs: finished trials are not counted.
  Policy ex = Parse(R"({"type": "truncation_selection", "truncation_percentage": 40,
                        "exclude_finished_jobs": true})");
  for (size_t i : {0u, 2u, 4u}) trials[i].finished = true;
  // Left: b (0.5) and d (0.6): floor(2 * 0.4) = 0 cut.
  EXPECT_FALSE(Judge(ex, Goal::kMaximize, trials, 1).has_value());
}

TEST(PolicyTest, ParseErrorsNameTheField) {
  auto err = [](const char* json) {
    auto p = ParsePolicy(Json::parse(json));
    return p.has_value() ? std::string("(accepted)") : p.error().message();
  };
  EXPECT_NE(err(R"({"type": "bandit"})").find("exactly one of slack_factor and slack_amount"),
            std::string::npos);
  EXPECT_NE(
      err(R"({"type": "bandit", "slack_factor": 0.1, "slack_amount": 1})").find("exactly one"),
      std::string::npos);
  EXPECT_NE(err(R"({"type": "bandit", "slack_factor": -1})").find("early_termination.slack_factor"),
            std::string::npos);
  EXPECT_NE(err(R"({"type": "median_stopping", "evaluation_interval": 0})")
                .find("early_termination.evaluation_interval"),
            std::string::npos);
  EXPECT_NE(err(R"({"type": "truncation_selection", "truncation_percentage": 100})")
                .find("early_termination.truncation_percentage"),
            std::string::npos);
  EXPECT_NE(err(R"({"type": "hyperband"})").find("early_termination.type"), std::string::npos);
  EXPECT_EQ(ParsePolicy(Json())->type, PolicyType::kNone);
}

}  // namespace
}  // namespace gantry::sweep
