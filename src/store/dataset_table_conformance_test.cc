// The DatasetTable conformance suite: what every MetadataStore's datasets() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class DatasetTableConformanceTest : public StoreConformanceTest {
 protected:
  DatasetTable& datasets() { return store_->datasets(); }
};

TEST_P(DatasetTableConformanceTest, DatasetVersions) {
  DatasetRecord d;
  d.name = "mnist";
  d.tree_id = std::string(64, 'a');
  d.sources = Json::array({"http://x/a.gz"});
  ASSERT_TRUE(datasets().CreateDataset(d).ok());
  EXPECT_EQ(d.version, 1);
  DatasetRecord explicit_version = d;
  explicit_version.version = 5;
  ASSERT_TRUE(datasets().CreateDataset(explicit_version).ok());
  EXPECT_EQ(datasets().CreateDataset(explicit_version).code(), StatusCode::kAlreadyExists);
  d.version = 0;
  ASSERT_TRUE(datasets().CreateDataset(d).ok());
  EXPECT_EQ(d.version, 6);
  EXPECT_EQ(datasets().GetDataset("mnist", 0)->version, 6);
  EXPECT_EQ(datasets().GetDataset("mnist", 1)->sources[0], "http://x/a.gz");
  EXPECT_EQ(datasets().GetDataset("mnist", 2).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(datasets().ListDatasets("")->size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(AllStores, DatasetTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
