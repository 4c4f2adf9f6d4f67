#include "serving/tensor_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "serving/answer_text.h"

namespace gantry::serving {
namespace {

Tensor Make(std::string name, std::vector<int64_t> shape, std::string datatype,
            std::vector<float> data) {
  return Tensor{std::move(name), std::move(shape), std::move(datatype), std::move(data)};
}

TEST(TensorJsonTest, FlattenKeepsTheShapeAndReadsBoolsAsNumbers) {
  std::vector<float> data;
  std::vector<int64_t> shape;
  ASSERT_TRUE(FlattenJson(Json::parse("[[1, 2.5], [true, false]]"), data, shape).ok());
  EXPECT_EQ(shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(data, (std::vector<float>{1, 2.5f, 1, 0}));
}

TEST(TensorJsonTest, FlattenRefusesRaggedMixedAndNonNumbers) {
  for (const auto& [text, message] : std::vector<std::pair<const char*, const char*>>{
           {"[[1, 2], [3]]", "rows have different lengths"},
           {"[1, [2]]", "ragged or mixed nesting"},
           {"[[1], 2]", "ragged or mixed nesting"},
           {"[\"a\"]", "expected numbers, got string"}}) {
    std::vector<float> data;
    std::vector<int64_t> shape;
    Status st = FlattenJson(Json::parse(text), data, shape);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(st.message(), message) << text;
  }
}

TEST(TensorJsonTest, ValuesTakeTheFormTheTextAnswersGiveThem) {
  EXPECT_EQ(ValueJson(1, "BOOL"), Json(true));
  EXPECT_EQ(ValueJson(0, "BOOL"), Json(false));
  EXPECT_EQ(ValueJson(-7, "INT32"), Json(-7));
  EXPECT_TRUE(ValueJson(-7, "INT32").is_number_integer());
  EXPECT_TRUE(ValueJson(2.5f, "FP32").is_number_float());
  // Past int64 an integer datatype's value stays a number; non-finite values are null.
  EXPECT_TRUE(ValueJson(1e19f, "UINT64").is_number_float());
  EXPECT_EQ(ValueJson(std::numeric_limits<float>::infinity(), "FP32").dump(), "null");
  EXPECT_EQ(ValueJson(std::nanf(""), "INT64").dump(), "null");
  EXPECT_EQ(FormOf(std::nanf(""), false, true), ValueForm::kNull);
  EXPECT_EQ(FormOf(3, false, true), ValueForm::kInteger);
}

TEST(TensorJsonTest, RowsOfSeveralOutputsAreOneObjectPerRow) {
  auto rows = RowsOfOutputs(
      {Make("logits", {2, 2}, "FP32", {0.5f, 1, 2, 3}), Make("classes", {2}, "INT64", {1, 0})});
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(rows->dump(), R"([{"classes":1,"logits":[0.5,1.0]},{"classes":0,"logits":[2.0,3.0]}])");
}

TEST(TensorJsonTest, RowsRefuseScalarsAndDifferentFirstDimensionsNamingTheFix) {
  auto scalar = RowsOfOutputs({Make("loss", {}, "FP32", {1})});
  ASSERT_FALSE(scalar.has_value());
  EXPECT_EQ(scalar.error().message(),
            "output 'loss' is a scalar, which has no rows; ask for columnar \"inputs\" instead");
  auto uneven = RowsOfOutputs({Make("a", {2}, "FP32", {1, 2}), Make("b", {3}, "FP32", {1, 2, 3})});
  ASSERT_FALSE(uneven.has_value());
  EXPECT_NE(uneven.error().message().find("different first dimensions"), std::string::npos);
}

TEST(TensorJsonTest, ColumnsNameSeveralOutputsAndCheckTheShape) {
  auto columns =
      ColumnsOfOutputs({Make("a", {1, 2}, "FP32", {1, 2}), Make("b", {1}, "INT32", {4})});
  ASSERT_TRUE(columns.has_value());
  EXPECT_EQ(columns->dump(), R"({"a":[[1.0,2.0]],"b":[4]})");
  auto short_of_values = ColumnsOfOutputs({Make("a", {2, 2}, "FP32", {1, 2, 3})});
  ASSERT_FALSE(short_of_values.has_value());
  EXPECT_EQ(short_of_values.error().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace gantry::serving
