// The ArtifactTable conformance suite: what every MetadataStore's artifacts() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class ArtifactTableConformanceTest : public StoreConformanceTest {
 protected:
  ArtifactTable& artifacts() { return store_->artifacts(); }
};

TEST_P(ArtifactTableConformanceTest, ArtifactsListByPrefix) {
  ASSERT_TRUE(artifacts()
                  .PutArtifacts("r", {{"outputs/a.txt", std::string(64, 'a'), 3, 0644},
                                      {"logs/b.txt", std::string(64, 'b'), 4, 0644},
                                      {"outputs/m/c", std::string(64, 'c'), 5, 0755}})
                  .ok());
  auto outputs = artifacts().ListArtifacts("r", "outputs/");
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[1].path, "outputs/m/c");
  EXPECT_EQ((*outputs)[1].mode, 0755u);
  EXPECT_EQ(artifacts().ListArtifacts("r", "")->size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(AllStores, ArtifactTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
