// The MetricTable conformance suite: what every MetadataStore's metrics() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class MetricTableConformanceTest : public StoreConformanceTest {
 protected:
  MetricTable& metrics() { return store_->metrics(); }
};

TEST_P(MetricTableConformanceTest, MetricsGetStepsPerSeries) {
  std::vector<MetricPoint> batch;
  for (int i = 0; i < 5; ++i) batch.push_back({"loss", 1.0 / (i + 1), "", -1, 10});
  batch.push_back({"acc", 0.5, "", -1, 10});
  batch.push_back({"row", 0, R"({"a":1})", -1, 10});
  ASSERT_TRUE(metrics().AppendMetrics("r", batch).ok());
  ASSERT_TRUE(metrics().AppendMetrics("r", {{"loss", 0.1, "", -1, 11}}).ok());
  auto loss = metrics().GetMetrics("r", "loss");
  ASSERT_EQ(loss->size(), 6u);
  EXPECT_EQ((*loss)[5].step, 5);
  EXPECT_DOUBLE_EQ((*loss)[5].value, 0.1);
  auto latest = metrics().LatestMetrics("r");
  ASSERT_EQ(latest->size(), 3u);
  EXPECT_EQ((*latest)[0].key, "acc");
  EXPECT_EQ((*latest)[2].key, "row");
  EXPECT_EQ((*latest)[2].value_json, R"({"a":1})");
  EXPECT_EQ(metrics().GetMetrics("other", "")->size(), 0u);
}

TEST_P(MetricTableConformanceTest, MetricsKeepTheRankThatLoggedThem) {
  store::MetricPoint a{"loss", 0.5, "", 0, 1};
  a.rank = 0;
  store::MetricPoint b{"loss", 0.7, "", 0, 2};
  b.rank = 3;
  store::MetricPoint c{"loss", 0, R"("text")", 1, 3};
  c.rank = 2;
  store::MetricPoint d{"loss", 0.9, "", 2, 4};  // no rank
  ASSERT_TRUE(metrics().AppendMetrics("r", {a, b, c, d}).ok());
  auto points = *metrics().GetMetrics("r", "loss");
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].rank, 0);
  EXPECT_EQ(points[1].rank, 3);
  EXPECT_DOUBLE_EQ(points[1].value, 0.7);
  EXPECT_EQ(points[2].rank, 2);
  EXPECT_EQ(points[2].value_json, R"("text")");
  EXPECT_EQ(points[3].rank, -1);
  EXPECT_DOUBLE_EQ(points[3].value, 0.9);
}

TEST_P(MetricTableConformanceTest, ResentMetricBatchesAreStoredOnce) {
  ASSERT_TRUE(metrics().AppendMetrics("r", {{"m", 1, "", -1, 1}}, 40).ok());
  // The answer was lost and the sender resends the same batch: nothing new is stored.
  ASSERT_TRUE(metrics().AppendMetrics("r", {{"m", 1, "", -1, 1}}, 40).ok());
  ASSERT_TRUE(metrics().AppendMetrics("r", {{"m", 2, "", -1, 2}}, 80).ok());
  auto points = *metrics().GetMetrics("r", "m");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_DOUBLE_EQ(points[1].value, 2);
  // Cursors are per run, and per sender within a run.
  ASSERT_TRUE(metrics().AppendMetrics("other", {{"m", 5, "", -1, 1}}, 40).ok());
  EXPECT_EQ(metrics().GetMetrics("other", "m")->size(), 1u);
  ASSERT_TRUE(metrics().AppendMetrics("r", {{"m", 3, "", -1, 3}}, 40, "node_1").ok());
  ASSERT_TRUE(metrics().AppendMetrics("r", {{"m", 3, "", -1, 3}}, 40, "node_1").ok());
  EXPECT_EQ(metrics().GetMetrics("r", "m")->size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(AllStores, MetricTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
