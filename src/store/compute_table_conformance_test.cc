// The ComputeTable conformance suite: what every MetadataStore's computes() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class ComputeTableConformanceTest : public StoreConformanceTest {
 protected:
  ComputeTable& computes() { return store_->computes(); }
};

TEST_P(ComputeTableConformanceTest, ComputeTargets) {
  ComputeRecord c{"gpu-cluster", "amlcompute", "STANDARD_NC6", 0, 4, 120, 1};
  ASSERT_TRUE(computes().CreateCompute(c).ok());
  EXPECT_EQ(computes().CreateCompute(c).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(computes().GetCompute("gpu-cluster")->max_nodes, 4);
  EXPECT_EQ(computes().ListComputes()->size(), 1u);
  ASSERT_TRUE(computes().DeleteCompute("gpu-cluster").ok());
  EXPECT_EQ(computes().DeleteCompute("gpu-cluster").code(), StatusCode::kNotFound);
  EXPECT_EQ(computes().GetCompute("gpu-cluster").error().code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(AllStores, ComputeTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
