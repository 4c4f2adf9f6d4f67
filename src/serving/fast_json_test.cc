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
  std::string rows =
      std::string(kMaxJsonDepth - 1, '[') + "1" + std::string(kMaxJsonDepth - 1, ']');
  auto r = ParseNumberArray(R"({"data": )" + rows + "}", "data");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->shape.size(), kMaxJsonDepth - 1);
  std::string bare = std::string(kMaxJsonDepth, '[') + "1" + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseNumberArray(bare, "").has_value());
}

TEST(FastJsonTest, RefusesNestingDeeperThanTheLimitWithParseJsonsMessage) {
  std::string too_deep =
      std::string(kMaxJsonDepth + 1, '[') + "1" + std::string(kMaxJsonDepth + 1, ']');
  for (const std::string& body :
       {too_deep, R"({"data": )" + too_deep.substr(1, too_deep.size() - 2) + "}",
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

TEST(FastJsonTest, ReadsTheCommonV2Request) {
  auto r = ParseV2Request(R"({"id": "r1", "inputs": [
      {"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3, 4.5]]},
      {"shape": [3], "data": [7, 8, 9]}]})");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->id, "r1");
  ASSERT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->inputs[0].name, "x");
  EXPECT_EQ(r->inputs[0].datatype, "FP32");
  EXPECT_EQ(r->inputs[0].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(r->inputs[0].data, (std::vector<float>{1, 2, 3, 4.5f}));
  // Left out: the caller's defaults apply.
  EXPECT_EQ(r->inputs[1].name, "");
  EXPECT_EQ(r->inputs[1].datatype, "");
  EXPECT_FALSE(ParseV2Request(R"({"inputs": [{"shape": [0], "data": []}]})")->id.has_value());
}

TEST(FastJsonTest, LeavesEveryOtherV2RequestToTheGeneralParser) {
  for (
      const char* body :
      {R"({"inputs": [{"shape": [1], "data": [1]}], "outputs": [{"name": "y"}]})",
       R"({"inputs": [{"shape": [1], "data": [1]}], "parameters": {"binary_data_output": true}})",
       R"({"inputs": [{"shape": [4], "datatype": "FP32", "parameters": {"binary_data_size": 16}}]})",
       R"({"inputs": [{"shape": [3], "data": [1, 2]}]})",  // data does not fill the shape
       R"({"inputs": [{"shape": [-1], "data": [1]}]})",
       R"({"inputs": [{"shape": [1], "data": [true]}]})",
       R"({"inputs": [{"shape": [1], "data": [1], "data": [2]}]})",  // a key twice
       R"({"inputs": [{"shape": [1], "data": [1]}], "id": 5})", R"({"inputs": []})",
       R"({"inputs": [{"shape": [1]}]})", R"([1, 2])", R"({"inputs": [)"}) {
    auto r = ParseV2Request(body);
    ASSERT_FALSE(r.has_value()) << body;
    EXPECT_EQ(r.error().code(), StatusCode::kNotFound) << body;
  }
}

}  // namespace
}  // namespace gantry::serving
