#include "common/json.h"

#include <gtest/gtest.h>

namespace gantry {
namespace {

std::string Nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(ParseJsonTest, AcceptsNestingUpToTheLimit) {
  auto j = ParseJson(Nested(kMaxJsonDepth));
  ASSERT_TRUE(j.has_value()) << j.error().message();
  EXPECT_TRUE(j->is_array());
}

TEST(ParseJsonTest, RefusesNestingOverTheLimitNamingIt) {
  auto j = ParseJson(Nested(kMaxJsonDepth + 1), "request body");
  ASSERT_FALSE(j.has_value());
  EXPECT_EQ(j.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(j.error().message(), "JSON nesting deeper than 64 levels in request body at byte 64");
}

TEST(ParseJsonTest, RefusesAHundredThousandLevelsWithoutBuildingThem) {
  std::string doc;
  for (int i = 0; i < 100'000; ++i) doc += R"({"a":)";
  doc += "1" + std::string(100'000, '}');
  auto j = ParseJson(doc);
  ASSERT_FALSE(j.has_value());
  EXPECT_NE(j.error().message().find("JSON nesting deeper than 64 levels"), std::string::npos);
  // Unclosed documents are refused the same way, before the parser sees them.
  auto open = ParseJson(std::string(100'000, '['));
  ASSERT_FALSE(open.has_value());
  EXPECT_NE(open.error().message().find("deeper than 64"), std::string::npos);
}

TEST(ParseJsonTest, MixedObjectsAndArraysCountTogether) {
  std::string doc;
  for (size_t i = 0; i < kMaxJsonDepth; ++i) doc += i % 2 ? "[" : R"({"k":)";
  std::string closing;
  for (size_t i = kMaxJsonDepth; i-- > 0;) closing += i % 2 ? "]" : "}";
  EXPECT_TRUE(ParseJson(doc + "1" + closing).has_value());
  EXPECT_FALSE(ParseJson(doc + "[1]" + closing).has_value());
}

TEST(ParseJsonTest, BracketsInsideStringsDoNotCount) {
  std::string deep_text = "\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"";
  auto j = ParseJson(R"({"name":)" + deep_text + "}");
  ASSERT_TRUE(j.has_value()) << j.error().message();
  EXPECT_EQ((*j)["name"].get<std::string>().size(), 2001u);
}

TEST(ParseJsonTest, RefusesANumberTooLargeForADoubleNamingWhereItIs) {
  auto j = ParseJson(R"({"metrics":[{"key":"loss","value":1e400}]})", "request body");
  ASSERT_FALSE(j.has_value());
  EXPECT_EQ(j.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(j.error().message(),
            "number out of range in request body at metrics[0].value (larger than a double can "
            "hold)");
  EXPECT_FALSE(ParseJson("-1e400").has_value());
  EXPECT_NE(ParseJson("[1e999]").error().message().find("at [0]"), std::string::npos);
  // Tiny numbers round to zero, which is still a number.
  EXPECT_TRUE(ParseJson("[1e-400]").has_value());
}

TEST(ParseJsonTest, ReportsWhereMalformedTextBreaks) {
  auto j = ParseJson("{\"a\": tru}", "server response");
  ASSERT_FALSE(j.has_value());
  EXPECT_NE(j.error().message().find("malformed JSON in server response at byte"),
            std::string::npos);
}

TEST(GetIntTest, NamesTheFieldOfAnIntegerBeyondInt64) {
  auto body = ParseJson(R"({"step": 9223372036854775808, "big": 100000000000000000000,
                            "ok": 9223372036854775807, "neg": -9223372036854775808,
                            "frac": 2.5, "text": "3"})");
  ASSERT_TRUE(body.has_value());
  auto step = GetInt(*body, "step");
  ASSERT_FALSE(step.has_value());
  EXPECT_EQ(step.error().message(), "field 'step' is out of range for a 64-bit integer");
  auto big = GetInt(*body, "big");
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message(), "field 'big' is out of range for a 64-bit integer");
  EXPECT_EQ(*GetInt(*body, "ok"), 9223372036854775807);
  EXPECT_EQ(*GetInt(*body, "neg"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(GetInt(*body, "frac").error().message(), "field 'frac' must be an integer");
  EXPECT_EQ(GetInt(*body, "text").error().message(), "field 'text' must be an integer");
  EXPECT_EQ(*GetInt(*body, "absent", 7), 7);
}

}  // namespace
}  // namespace gantry
