// The EnvironmentTable conformance suite: what every MetadataStore's environments() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class EnvironmentTableConformanceTest : public StoreConformanceTest {
 protected:
  EnvironmentTable& environments() { return store_->environments(); }
};

TEST_P(EnvironmentTableConformanceTest, EnvironmentVersions) {
  EnvironmentRecord e{"tf", 0, "", Json{{"pip", {"numpy"}}}, "h1", 1};
  ASSERT_TRUE(environments().CreateEnvironment(e).ok());
  EXPECT_EQ(e.version, 1);
  e.hash = "h2";
  ASSERT_TRUE(environments().CreateEnvironment(e).ok());
  EXPECT_EQ(e.version, 2);
  EXPECT_EQ(environments().GetEnvironment("tf", 0)->hash, "h2");
  EXPECT_EQ(environments().GetEnvironment("tf", 1)->spec["pip"][0], "numpy");
  EXPECT_EQ(environments().GetEnvironment("tf", 3).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(environments().ListEnvironments()->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(AllStores, EnvironmentTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
