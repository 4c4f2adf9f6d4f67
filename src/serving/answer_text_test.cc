#include "serving/answer_text.h"

#include <gtest/gtest.h>

#include <limits>

#include "common/json.h"

namespace gantry::serving {
namespace {

Tensor Make(std::string name, std::vector<int64_t> shape, std::string datatype,
            std::vector<float> data) {
  return Tensor{std::move(name), std::move(shape), std::move(datatype), std::move(data)};
}

// TF MNIST's two outputs: the class of each row (INT64, one per row) and its logits.
std::vector<Tensor> ClassesAndLogits() {
  return {Make("logits", {2, 3}, "FP32", {0.5f, -1.25f, 3, 1, 2, 0.1f}),
          Make("classes", {2}, "INT64", {2, 1})};
}

TEST(AnswerTextTest, PredictionsOfOneOutputAreItsRows) {
  auto text = PredictionsText({Make("y", {2, 2}, "FP32", {1, 0.5f, -2, 3.25f})});
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, R"({"predictions":[[1,0.5],[-2,3.25]]})");
}

TEST(AnswerTextTest, PredictionsOfSeveralOutputsAreOneObjectPerRowInNameOrder) {
  auto text = PredictionsText(ClassesAndLogits());
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, R"({"predictions":[{"classes":2,"logits":[0.5,-1.25,3]},)"
                   R"({"classes":1,"logits":[1,2,0.1]}]})");
}

TEST(AnswerTextTest, ValuesAreWrittenByDatatype) {
  const float inf = std::numeric_limits<float>::infinity();
  auto text = PredictionsText({Make("b", {1, 2}, "BOOL", {1, 0}),
                               Make("f", {1, 3}, "FP32", {inf, std::nanf(""), 1e-7f}),
                               Make("i", {1, 2}, "INT32", {-7, 3e9f})});
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text,
            R"({"predictions":[{"b":[true,false],"f":[null,null,1e-07],"i":[-7,3000000000]}]})");
  // The text is JSON that reads back as the values (the float's shortest digits).
  auto back = ParseJson(*text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ((*back)["predictions"][0]["f"][2].get<float>(), 1e-7f);
}

TEST(AnswerTextTest, WhatIsNotRowsIsLeftToTheGeneralAnswer) {
  // A scalar output has no rows; outputs of different lengths cannot be split; values that
  // do not fill the shape; two outputs of one name.
  EXPECT_FALSE(PredictionsText({Make("s", {}, "FP32", {1})}).has_value());
  EXPECT_FALSE(PredictionsText({Make("a", {2}, "FP32", {1, 2}), Make("b", {3}, "FP32", {1, 2, 3})})
                   .has_value());
  EXPECT_FALSE(PredictionsText({Make("a", {2, 2}, "FP32", {1, 2, 3})}).has_value());
  EXPECT_FALSE(ColumnsText({Make("a", {2, 2}, "FP32", {1, 2, 3})}).has_value());
  EXPECT_FALSE(
      PredictionsText({Make("a", {1}, "FP32", {1}), Make("a", {1}, "FP32", {2})}).has_value());
  EXPECT_FALSE(PredictionsText({}).has_value());
}

TEST(AnswerTextTest, ColumnsAreTheWholeTensorsByName) {
  auto one = ColumnsText({Make("y", {1, 2}, "FP32", {1, 2})});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, "[[1,2]]");
  auto scalar = ColumnsText({Make("s", {}, "FP32", {4.5f})});
  ASSERT_TRUE(scalar.has_value());
  EXPECT_EQ(*scalar, "4.5");
  auto two = ColumnsText(ClassesAndLogits());
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(*two, R"({"classes":[2,1],"logits":[[0.5,-1.25,3],[1,2,0.1]]})");
}

TEST(AnswerTextTest, V2AnswerHasEveryOutputFlatWithItsShape) {
  EXPECT_EQ(V2AnswerText("mnist", "1", ClassesAndLogits(), std::nullopt),
            R"({"model_name":"mnist","model_version":"1","outputs":[)"
            R"({"data":[0.5,-1.25,3,1,2,0.1],"datatype":"FP32","name":"logits","shape":[2,3]},)"
            R"({"data":[2,1],"datatype":"INT64","name":"classes","shape":[2]}]})");
  // Names and the id are JSON strings, escaped.
  auto text = V2AnswerText("a\"b", "1", {Make("o\n", {1}, "FP32", {1})}, "req-\\1");
  auto back = ParseJson(text);
  ASSERT_TRUE(back.has_value()) << text;
  EXPECT_EQ((*back)["model_name"], "a\"b");
  EXPECT_EQ((*back)["id"], "req-\\1");
  EXPECT_EQ((*back)["outputs"][0]["name"], "o\n");
}

}  // namespace
}  // namespace gantry::serving
