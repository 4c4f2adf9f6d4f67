#include "sweep/search_space.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gantry::sweep {
namespace {

SearchSpace Parse(const char* text) {
  auto space = ParseSearchSpace(Json::parse(text));
  EXPECT_TRUE(space.has_value()) << space.error().ToString();
  return space.value_or(SearchSpace{});
}

std::string Error(const char* text) {
  auto space = ParseSearchSpace(Json::parse(text));
  EXPECT_FALSE(space.has_value()) << text;
  return space.has_value() ? "" : space.error().message();
}

TEST(SearchSpaceTest, EveryExpressionTypeIsRead) {
  SearchSpace s = Parse(R"({
    "batch_size": {"type": "choice", "values": [16, 32, 64]},
    "layers": {"type": "randint", "upper": 4},
    "lr": {"type": "uniform", "min_value": 0.001, "max_value": 0.1},
    "wd": {"type": "loguniform", "min_value": -6, "max_value": -1},
    "units": {"type": "quniform", "min_value": 32, "max_value": 512, "q": 32},
    "eps": {"type": "qloguniform", "min_value": -8, "max_value": -2, "q": 0.0001},
    "m": {"type": "normal", "mu": 0.9, "sigma": 0.05},
    "b": {"type": "lognormal", "mu": 0, "sigma": 1},
    "n": {"type": "qnormal", "mu": 10, "sigma": 2, "q": 1},
    "g": {"type": "qlognormal", "mu": 1, "sigma": 0.5, "q": 0.5}
  })");
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(s["batch_size"].values.size(), 3u);
  EXPECT_EQ(s["layers"].upper, 4);
  EXPECT_EQ(s["units"].q, 32);
  EXPECT_EQ(s["g"].type, ExpressionType::kQlognormal);
}

TEST(SearchSpaceTest, BadExpressionsNameTheParameterAndField) {
  EXPECT_EQ(Error(R"({"lr": {"type": "uniform", "min_value": 5, "max_value": 1}})"),
            "search_space.lr: min_value (5) must be below max_value (1)");
  EXPECT_EQ(Error(R"({"lr": {"type": "uniform", "min_value": 1}})"),
            "search_space.lr: 'max_value' is required");
  EXPECT_EQ(Error(R"({"lr": {"type": "uniform", "min_value": "a", "max_value": 2}})"),
            "search_space.lr: 'min_value' must be a number");
  EXPECT_EQ(Error(R"({"bs": {"type": "choice", "values": []}})"),
            "search_space.bs: choice needs a non-empty 'values' list");
  EXPECT_EQ(Error(R"({"k": {"type": "randint", "upper": 0}})"),
            "search_space.k: randint's 'upper' must be a whole number of at least 1");
  EXPECT_EQ(Error(R"({"m": {"type": "normal", "mu": 0, "sigma": 0}})"),
            "search_space.m: 'sigma' must be positive");
  EXPECT_EQ(Error(R"({"u": {"type": "quniform", "min_value": 0, "max_value": 1, "q": -1}})"),
            "search_space.u: 'q' must be positive");
  EXPECT_NE(Error(R"({"x": {"type": "beta"}})").find("type 'beta' is not one of"),
            std::string::npos);
  EXPECT_EQ(Error("{}"), "search_space must be a mapping of at least one parameter");
}

TEST(SearchSpaceTest, DrawsStayInTheirDomainAndAreSeeded) {
  SearchSpace s = Parse(R"({
    "k": {"type": "randint", "upper": 3},
    "lr": {"type": "uniform", "min_value": 0.5, "max_value": 0.75},
    "wd": {"type": "loguniform", "min_value": -3, "max_value": -1},
    "units": {"type": "quniform", "min_value": 32, "max_value": 512, "q": 32}
  })");
  std::mt19937_64 rng(42);
  for (int i = 0; i < 1000; ++i) {
    int64_t k = Draw(s["k"], rng).get<int64_t>();
    EXPECT_TRUE(k >= 0 && k < 3);
    double lr = Draw(s["lr"], rng).get<double>();
    EXPECT_TRUE(lr >= 0.5 && lr <= 0.75);
    double wd = Draw(s["wd"], rng).get<double>();  // the bounds are exponents
    EXPECT_TRUE(wd >= std::exp(-3) && wd <= std::exp(-1)) << wd;
    double units = Draw(s["units"], rng).get<double>();
    EXPECT_EQ(std::fmod(units, 32.0), 0.0) << units;  // q-rounded
    EXPECT_TRUE(units >= 32 && units <= 512);
  }
  std::mt19937_64 a(7), b(7);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Draw(s["lr"], a), Draw(s["lr"], b));
}

TEST(SearchSpaceTest, QRoundingIsRoundOfXOverQTimesQ) {
  Expression e{.type = ExpressionType::kQnormal, .mu = 10.26, .sigma = 1e-12, .q = 0.5};
  std::mt19937_64 rng(1);
  EXPECT_DOUBLE_EQ(Draw(e, rng).get<double>(), 10.5);  // round(20.52) * 0.5
  e.mu = 10.24;
  EXPECT_DOUBLE_EQ(Draw(e, rng).get<double>(), 10.0);  // round(20.48) * 0.5
}

TEST(SearchSpaceTest, TheGridVariesTheLastParameterFastestAndTakesOnlyChoices) {
  SearchSpace s = Parse(R"({
    "a": {"type": "choice", "values": [1, 2]},
    "b": {"type": "choice", "values": ["x", "y", "z"]}
  })");
  auto grid = Grid(s);
  ASSERT_TRUE(grid.has_value());
  ASSERT_EQ(grid->size(), 6u);
  EXPECT_EQ((*grid)[0], (std::map<std::string, Json>{{"a", 1}, {"b", "x"}}));
  EXPECT_EQ((*grid)[1], (std::map<std::string, Json>{{"a", 1}, {"b", "y"}}));
  EXPECT_EQ((*grid)[3], (std::map<std::string, Json>{{"a", 2}, {"b", "x"}}));
  SearchSpace mixed = Parse(R"({
    "a": {"type": "choice", "values": [1]},
    "lr": {"type": "uniform", "min_value": 0, "max_value": 1}
  })");
  auto refused = Grid(mixed);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message(),
            "search_space.lr: grid sampling supports only choice, not uniform");
}

}  // namespace
}  // namespace gantry::sweep
