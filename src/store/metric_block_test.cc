#include "store/metric_block.h"

#include <gtest/gtest.h>

namespace gantry::store {
namespace {

MetricPoint Numeric(int64_t step, double value) {
  MetricPoint p;
  p.step = step;
  p.timestamp = 1000 + step;
  p.value = value;
  return p;
}

TEST(MetricBlockTest, ANumericPointIsTwentyFiveBytes) {
  std::string block;
  AppendToMetricBlock(block, Numeric(3, 0.5));
  // step 8 + timestamp 8 + kind 1 + double 8.
  ASSERT_EQ(block.size(), 25u);
  EXPECT_EQ(block[16], 0);  // kind: numeric, no rank
  std::vector<MetricPoint> out;
  ASSERT_TRUE(DecodeMetricBlock("loss", block, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "loss");
  EXPECT_EQ(out[0].step, 3);
  EXPECT_EQ(out[0].timestamp, 1003);
  EXPECT_DOUBLE_EQ(out[0].value, 0.5);
  EXPECT_EQ(out[0].value_json, "");
  EXPECT_EQ(out[0].rank, -1);
}

TEST(MetricBlockTest, JsonValuesAndRanksRoundTrip) {
  MetricPoint p;
  p.step = 7;
  p.timestamp = 9;
  p.value_json = R"("a")";
  p.rank = 2;
  std::string block;
  AppendToMetricBlock(block, p);
  // step 8 + timestamp 8 + kind 1 + length 4 + 3 bytes of JSON + rank 4.
  ASSERT_EQ(block.size(), 28u);
  EXPECT_EQ(block[16], 3);  // kind: JSON and rank
  std::vector<MetricPoint> out;
  ASSERT_TRUE(DecodeMetricBlock("text", block, out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].step, 7);
  EXPECT_EQ(out[0].timestamp, 9);
  EXPECT_EQ(out[0].value_json, R"("a")");
  EXPECT_EQ(out[0].rank, 2);
}

TEST(MetricBlockTest, PointsKeepTheirOrderAndDecodingAppends) {
  std::string block;
  AppendToMetricBlock(block, Numeric(5, 1));
  AppendToMetricBlock(block, Numeric(2, 2));
  MetricPoint ranked = Numeric(9, 3);
  ranked.rank = 0;
  AppendToMetricBlock(block, ranked);
  std::vector<MetricPoint> out(1);  // what was there stays
  ASSERT_TRUE(DecodeMetricBlock("m", block, out).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].step, 5);
  EXPECT_EQ(out[2].step, 2);
  EXPECT_EQ(out[3].step, 9);
  EXPECT_EQ(out[3].rank, 0);
  EXPECT_DOUBLE_EQ(out[3].value, 3);
}

TEST(MetricBlockTest, AnEmptyBlockHasNoPoints) {
  std::vector<MetricPoint> out;
  EXPECT_TRUE(DecodeMetricBlock("m", "", out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(MetricBlockTest, ATruncatedBlockIsDataLossAfterItsWholePoints) {
  std::string block;
  AppendToMetricBlock(block, Numeric(0, 1));
  AppendToMetricBlock(block, Numeric(1, 2));
  std::vector<MetricPoint> out;
  Status st = DecodeMetricBlock("loss", std::string_view(block).substr(0, 40), out);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("loss"), std::string::npos);
  EXPECT_EQ(out.size(), 1u);
}

TEST(MetricBlockTest, AJsonLengthPastTheEndIsDataLoss) {
  MetricPoint p;
  p.step = 0;
  p.value_json = "[1,2,3]";
  std::string block;
  AppendToMetricBlock(block, p);
  block.pop_back();
  std::vector<MetricPoint> out;
  EXPECT_EQ(DecodeMetricBlock("m", block, out).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace gantry::store
