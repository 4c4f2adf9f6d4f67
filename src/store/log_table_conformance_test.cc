// The LogTable conformance suite: what every MetadataStore's logs() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class LogTableConformanceTest : public StoreConformanceTest {
 protected:
  LogTable& logs() { return store_->logs(); }
};

TEST_P(LogTableConformanceTest, LogsAppendIdempotentlyAndRejectGaps) {
  EXPECT_EQ(*logs().AppendLog("r", "std_log.txt", 0, "hello "), 6);
  // A resend of bytes already stored is absorbed.
  EXPECT_EQ(*logs().AppendLog("r", "std_log.txt", 0, "hello world\n"), 12);
  EXPECT_EQ(logs().AppendLog("r", "std_log.txt", 20, "x").error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(*logs().ReadLog("r", "std_log.txt", 0, 100), "hello world\n");
  EXPECT_EQ(*logs().ReadLog("r", "std_log.txt", 3, 4), "lo w");
  EXPECT_EQ(*logs().ReadLog("r", "std_log.txt", 12, 100), "");
  auto streams = logs().ListLogs("r");
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].second, 12);
}

INSTANTIATE_TEST_SUITE_P(AllStores, LogTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
