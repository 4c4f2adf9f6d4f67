// The EndpointTable conformance suite: what every MetadataStore's endpoints() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class EndpointTableConformanceTest : public StoreConformanceTest {
 protected:
  EndpointTable& endpoints() { return store_->endpoints(); }
};

TEST_P(EndpointTableConformanceTest, EndpointsAndDeployments) {
  EndpointRecord e;
  e.name = "mnist";
  e.primary_key = "p";
  e.secondary_key = "s";
  ASSERT_TRUE(endpoints().CreateEndpoint(e).ok());
  EXPECT_EQ(endpoints().CreateEndpoint(e).code(), StatusCode::kAlreadyExists);
  DeploymentRecord d;
  d.endpoint = "mnist";
  d.name = "blue";
  d.spec = {{"instance_count", 2}};
  ASSERT_TRUE(endpoints().PutDeployment(d).ok());
  d.state = "Succeeded";
  d.generation = 2;
  ASSERT_TRUE(endpoints().PutDeployment(d).ok());  // replaces
  auto got = endpoints().GetDeployment("mnist", "blue");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, "Succeeded");
  EXPECT_EQ(got->generation, 2);
  EXPECT_EQ(got->spec["instance_count"], 2);
  // A state change for an older generation loses to the update.
  EXPECT_EQ(endpoints().SetDeploymentState("mnist", "blue", 1, "Failed", "old", 5).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(endpoints().SetDeploymentState("mnist", "blue", 2, "Failed", "boom", 5).ok());
  EXPECT_EQ(endpoints().GetDeployment("mnist", "blue")->error, "boom");
  d.endpoint = "nope";
  EXPECT_EQ(endpoints().PutDeployment(d).code(), StatusCode::kFailedPrecondition);

  e.traffic = {{"blue", 100}};
  e.primary_key = "p2";
  ASSERT_TRUE(endpoints().UpdateEndpoint(e).ok());
  EXPECT_EQ(endpoints().GetEndpoint("mnist")->traffic["blue"], 100);
  EXPECT_EQ(endpoints().GetEndpoint("mnist")->primary_key, "p2");
  EXPECT_EQ(endpoints().ListDeployments("mnist")->size(), 1u);
  EXPECT_EQ(endpoints().ListDeployments("")->size(), 1u);
  EXPECT_EQ(endpoints().ListDeployments("other")->size(), 0u);

  // Deleting the endpoint takes its deployments with it.
  ASSERT_TRUE(endpoints().DeleteEndpoint("mnist").ok());
  EXPECT_EQ(endpoints().GetEndpoint("mnist").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(endpoints().ListDeployments("")->size(), 0u);
  EXPECT_EQ(endpoints().DeleteEndpoint("mnist").code(), StatusCode::kNotFound);
  EXPECT_EQ(endpoints().DeleteDeployment("mnist", "blue").code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(AllStores, EndpointTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
