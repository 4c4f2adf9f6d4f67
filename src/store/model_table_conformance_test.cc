// The ModelTable conformance suite: what every MetadataStore's models() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class ModelTableConformanceTest : public StoreConformanceTest {
 protected:
  ModelTable& models() { return store_->models(); }
};

TEST_P(ModelTableConformanceTest, ModelVersionsCountUpPerName) {
  for (int i = 0; i < 3; ++i) {
    ModelRecord m;
    m.name = i < 2 ? "mnist" : "other";
    m.tree_id = std::string(64, 'a');
    m.properties = Json{{"accuracy", "0.9"}};
    ASSERT_TRUE(models().CreateModel(m).ok());
    EXPECT_EQ(m.version, i < 2 ? i + 1 : 1);
  }
  EXPECT_EQ(models().GetModel("mnist", 0)->version, 2);
  EXPECT_EQ(models().GetModel("mnist", 1)->properties["accuracy"], "0.9");
  EXPECT_EQ(models().GetModel("mnist", 7).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(models().GetModel("nope", 0).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(models().ListModels("")->size(), 3u);
  EXPECT_EQ(models().ListModels("mnist")->size(), 2u);
  ModelRecord m = *models().GetModel("mnist", 1);
  m.tags["stage"] = "prod";
  ASSERT_TRUE(models().UpdateModel(m).ok());
  EXPECT_EQ(models().GetModel("mnist", 1)->tags["stage"], "prod");
}

INSTANTIATE_TEST_SUITE_P(AllStores, ModelTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
