#include "sweep/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gantry::sweep {
namespace {

SearchSpace Space(const char* json) {
  auto s = ParseSearchSpace(Json::parse(json));
  EXPECT_TRUE(s.has_value()) << s.error().ToString();
  return s.value_or(SearchSpace{});
}

Sampling Parse(const Json& j, const SearchSpace& space) {
  auto s = ParseSampling(j, space);
  EXPECT_TRUE(s.has_value()) << s.error().ToString();
  return s.value_or(Sampling{});
}

TEST(SamplerTest, RandomIsSeededPerTrial) {
  SearchSpace space = Space(R"({"lr": {"type": "uniform", "min_value": 0, "max_value": 1},
                                "bs": {"type": "choice", "values": [16, 32, 64]}})");
  Sampling s = Parse(Json{{"type", "random"}, {"seed", 42}}, space);
  EXPECT_TRUE(s.seeded);
  auto a = Suggest(s, space, 5, Goal::kMaximize, {});
  auto b = Suggest(s, space, 5, Goal::kMaximize, {});
  auto c = Suggest(s, space, 6, Goal::kMaximize, {});
  ASSERT_TRUE(a.has_value() && b.has_value() && c.has_value());
  EXPECT_EQ(*a, *b);                  // same seed and index: same values
  EXPECT_NE((*a)["lr"], (*c)["lr"]);  // another trial: others
  Sampling other = s;
  other.seed = 43;
  EXPECT_NE((*Suggest(other, space, 5, Goal::kMaximize, {}))["lr"], (*a)["lr"]);
}

TEST(SamplerTest, SobolPointsAreTheSequences) {
  // Point 0 (all zeros) is skipped: trial n is point n + 1. Unshifted (seed 0):
  // dimension 1: 0.5, 0.75, 0.25, 0.375, 0.875; dimension 2: 0.5, 0.25, 0.75, 0.375, 0.875;
  // dimension 3 (s=2, a=1, m=1,3): 0.5, 0.25, 0.75, 0.625, 0.125.
  SearchSpace space = Space(R"({"a": {"type": "uniform", "min_value": 0, "max_value": 1},
                                "b": {"type": "uniform", "min_value": 0, "max_value": 1},
                                "c": {"type": "uniform", "min_value": 0, "max_value": 1}})");
  Sampling s = Parse(Json{{"type", "random"}, {"rule", "sobol"}}, space);
  const double a[] = {0.5, 0.75, 0.25, 0.375, 0.875};
  const double b[] = {0.5, 0.25, 0.75, 0.375, 0.875};
  const double c[] = {0.5, 0.25, 0.75, 0.625, 0.125};
  for (int n = 0; n < 5; ++n) {
    auto v = Suggest(s, space, n, Goal::kMaximize, {});
    ASSERT_TRUE(v.has_value());
    EXPECT_DOUBLE_EQ((*v)["a"].get<double>(), a[n]) << n;
    EXPECT_DOUBLE_EQ((*v)["b"].get<double>(), b[n]) << n;
    EXPECT_DOUBLE_EQ((*v)["c"].get<double>(), c[n]) << n;
  }
}

TEST(SamplerTest, QRoundingAndLoguniformExponentsThroughSuggest) {
  SearchSpace space = Space(R"({"q": {"type": "quniform", "min_value": 0, "max_value": 100, "q": 8},
                                "lr": {"type": "loguniform", "min_value": -6, "max_value": -1}})");
  Sampling s = Parse("random", space);
  for (int n = 0; n < 50; ++n) {
    auto v = *Suggest(s, space, n, Goal::kMaximize, {});
    double q = v["q"].get<double>();
    EXPECT_DOUBLE_EQ(q, std::round(q / 8) * 8);
    double lr = v["lr"].get<double>();
    EXPECT_GE(lr, std::exp(-6.0));
    EXPECT_LE(lr, std::exp(-1.0));
    EXPECT_TRUE(CheckPoint(space, v).ok());
  }
}

TEST(SamplerTest, GridOrderAndEnd) {
  SearchSpace space = Space(R"({"a": {"type": "choice", "values": [1, 2]},
                                "b": {"type": "choice", "values": ["x", "y"]}})");
  Sampling s = Parse("grid", space);
  std::vector<std::string> seen;
  for (int n = 0; n < 4; ++n) {
    auto v = *Suggest(s, space, n, Goal::kMaximize, {});
    seen.push_back(v["a"].dump() + v["b"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"1x", "1y", "2x", "2y"}));  // last name fastest
  EXPECT_EQ(Suggest(s, space, 4, Goal::kMaximize, {}).error().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(SpaceSize(space), 4);
}

TEST(SamplerTest, WhichExpressionsEachAlgorithmTakes) {
  SearchSpace log = Space(R"({"lr": {"type": "loguniform", "min_value": -6, "max_value": -1}})");
  auto bayes = ParseSampling("bayesian", log);
  ASSERT_FALSE(bayes.has_value());
  EXPECT_NE(bayes.error().message().find("search_space.lr: bayesian sampling supports only choice, "
                                         "uniform and quniform"),
            std::string::npos);
  SearchSpace uni = Space(R"({"x": {"type": "uniform", "min_value": 0, "max_value": 1}})");
  auto g = ParseSampling("grid", uni);
  ASSERT_FALSE(g.has_value());
  EXPECT_NE(g.error().message().find("search_space.x: grid sampling supports only choice"),
            std::string::npos);
  EXPECT_EQ(SpaceSize(uni), std::nullopt);
  auto seed = ParseSampling(Json{{"type", "random"}, {"seed", -1}}, uni);
  EXPECT_NE(seed.error().message().find("sampling_algorithm.seed"), std::string::npos);
  auto rule = ParseSampling(Json{{"type", "random"}, {"rule", "halton"}}, uni);
  EXPECT_NE(rule.error().message().find("sampling_algorithm.rule"), std::string::npos);
  EXPECT_EQ(ParseGoal("Maximize").value(), Goal::kMaximize);
  EXPECT_FALSE(ParseGoal("biggest").has_value());
}

TEST(SamplerTest, BayesianFindsTheTopOfAQuadratic) {
  // score = -(x - 0.3)^2: after the warm-up draws and a dozen suggestions the best x found
  // is near 0.3. Deterministic: the seed fixes every draw.
  SearchSpace space = Space(R"({"x": {"type": "uniform", "min_value": 0, "max_value": 1}})");
  Sampling s = Parse(Json{{"type", "bayesian"}, {"seed", 5}}, space);
  std::vector<Observation> history;
  double best_x = 0, best = -1e9;
  for (int n = 0; n < 15; ++n) {
    auto v = Suggest(s, space, n, Goal::kMaximize, history);
    ASSERT_TRUE(v.has_value());
    double x = (*v)["x"].get<double>();
    double score = -(x - 0.3) * (x - 0.3);
    if (score > best) {
      best = score;
      best_x = x;
    }
    history.push_back({*v, score});
  }
  EXPECT_NEAR(best_x, 0.3, 0.05);
  // The same history and index give the same suggestion.
  EXPECT_EQ(*Suggest(s, space, 15, Goal::kMaximize, history),
            *Suggest(s, space, 15, Goal::kMaximize, history));
}

TEST(SamplerTest, AnExternalSweepTakesItsValuesFromOutside) {
  SearchSpace space = Space(R"({"x": {"type": "uniform", "min_value": 0, "max_value": 1}})");
  Sampling s = Parse("external", space);
  EXPECT_EQ(s.type, SamplingType::kExternal);
  EXPECT_EQ(Suggest(s, space, 0, Goal::kMaximize, {}).error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckPoint(space, {{"x", 0.5}}).ok());
  EXPECT_NE(CheckPoint(space, {{"x", 7}}).message().find("values.x: 7 is outside the bounds"),
            std::string::npos);
}

TEST(SamplerTest, CheckPointNamesTheValue) {
  SearchSpace space = Space(R"({"bs": {"type": "choice", "values": [16, 32]},
                                "n": {"type": "randint", "upper": 3}})");
  EXPECT_TRUE(CheckPoint(space, {{"bs", 16}, {"n", 2}}).ok());
  EXPECT_NE(CheckPoint(space, {{"bs", 17}, {"n", 2}}).message().find("values.bs"),
            std::string::npos);
  EXPECT_NE(CheckPoint(space, {{"bs", 16}, {"n", 3}}).message().find("values.n"),
            std::string::npos);
  EXPECT_NE(CheckPoint(space, {{"bs", 16}}).message().find("values.n is missing"),
            std::string::npos);
}

}  // namespace
}  // namespace gantry::sweep
