#include "serving/fast_json.h"

#include <gtest/gtest.h>

#include "common/json.h"

namespace gantry::serving {
namespace {

TEST(FastJsonTest, FlattensRowsAndKeepsTheirShape) {
  auto rows = ParseNumberArray(R"({"instances": [[1, 2.5, -3e2], [4, 5, 6]]})", "instances");
  ASSERT_TRUE(rows.has_value()) << rows.error().ToString();
  EXPECT_EQ(rows->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(rows->data, (std::vector<float>{1, 2.5f, -300, 4, 5, 6}));
  auto one = ParseNumberArray(R"({"data": [0.5, 1]})", "data");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->shape, (std::vector<int64_t>{2}));
  auto bare = ParseNumberArray("[[[1], [2]]]", "");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->shape, (std::vector<int64_t>{1, 2, 1}));
}

TEST(FastJsonTest, RefusesWhatIsNotARegularArrayOfNumbers) {
  for (const char* body : {R"({"x": [[1, 2], [3]]})", R"({"x": [[1, 2], 3]})", R"({"x": [1, [2]]})",
                           R"({"x": [[1, "2"]]})", R"({"x": [[1, null]]})",
                           R"({"x": [[1, 2]], "y": oops})", R"({"x": [[1, 2])"}) {
    auto r = ParseNumberArray(body, "x");
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << body;
  }
  auto missing = ParseNumberArray(R"({"inputs": [[1]]})", "instances");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
}

TEST(FastJsonTest, AcceptsNestingUpToTheJsonDepthLimit) {
  // The field's object is one level, so the array may nest kMaxJsonDepth - 1 deep.
  std::string rows = std::string(kMaxJsonDepth - 1, '[') + "1" + std::string(kMaxJsonDepth - 1, ']');
  auto r = ParseNumberArray(R"({"data": )" + rows + "}", "data");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->shape.size(), kMaxJsonDepth - 1);
  std::string bare = std::string(kMaxJsonDepth, '[') + "1" + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseNumberArray(bare, "").has_value());
}

TEST(FastJsonTest, RefusesNestingDeeperThanTheLimitWithParseJsonsMessage) {
  std::string too_deep =
      std::string(kMaxJsonDepth + 1, '[') + "1" + std::string(kMaxJsonDepth + 1, ']');
  for (const std::string& body : {too_deep, R"({"data": )" + too_deep.substr(1, too_deep.size() - 2) + "}",
                                  std::string(100'000, '[') + std::string(100'000, ']')}) {
    auto r = ParseNumberArray(body, body[0] == '{' ? "data" : "");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "JSON nesting deeper than 64 levels");
  }
}

TEST(FastJsonTest, RefusesANumberTooLargeForADouble) {
  auto r = ParseNumberArray(R"({"data": [[1, 1e400]]})", "data");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace gantry::serving
