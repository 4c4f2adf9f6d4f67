#include "serving/fast_json.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace gantry::serving
