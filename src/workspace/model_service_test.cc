#include "workspace/model_service.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "artifacts/tree.h"
#include "common/files.h"
#include "workspace/run_service.h"

namespace gantry::workspace {
namespace {

class ModelServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-models");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    runs_ = std::make_unique<RunService>(store_.get(), blobs_.get(), &clock_);
    models_ = std::make_unique<ModelService>(store_.get(), blobs_.get(), &clock_);
    SubmitRequest req;
    req.spec.command = "python train.py";
    run_ = runs_->Submit(req)->name;
    std::string token = *runs_->BeginLaunch(run_);
    a_ = *blobs_->Put("weights");
    b_ = *blobs_->Put("config");
    ASSERT_TRUE(runs_
                    ->AddArtifacts(run_, token,
                                   {{"outputs/model/model.pt", a_, 7, 0644},
                                    {"outputs/model/sub/cfg.json", b_, 6, 0644},
                                    {"outputs/model2/x", b_, 6, 0644},
                                    {"outputs/other.txt", b_, 6, 0644}})
                    .ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  RegisterModelRequest FromRun(const std::string& path) {
    RegisterModelRequest r;
    r.model.name = "tf-mnist";
    r.model.framework = "PyTorch";
    r.run_name = run_;
    r.run_path = path;
    return r;
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<RunService> runs_;
  std::unique_ptr<ModelService> models_;
  std::string run_, a_, b_;
};

TEST_F(ModelServiceTest, RegisteringFromARunKeepsTheFolderNameAndCountsVersions) {
  auto m = models_->Register(FromRun("outputs/model"));
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->version, 1);
  EXPECT_EQ(m->run_name, run_);
  auto tree = artifacts::LoadTree(*blobs_, m->tree_id);
  ASSERT_EQ(tree->entries().size(), 2u);  // outputs/model2 is not part of outputs/model
  EXPECT_EQ(tree->entries()[0].path, "model/model.pt");
  EXPECT_EQ(tree->entries()[1].path, "model/sub/cfg.json");
  EXPECT_EQ(models_->Register(FromRun("outputs/model/"))->version, 2);
  auto single = models_->Register(FromRun("outputs/other.txt"));
  EXPECT_EQ(artifacts::LoadTree(*blobs_, single->tree_id)->entries()[0].path, "other.txt");
}

TEST_F(ModelServiceTest, BadSourcesAreClearErrors) {
  auto missing = models_->Register(FromRun("outputs/nothing"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().message().find("outputs/nothing"), std::string::npos);
  EXPECT_EQ(models_->Register(FromRun("../escape")).error().code(), StatusCode::kInvalidArgument);
  auto bad_name = FromRun("outputs/model");
  bad_name.model.name = "no spaces";
  EXPECT_EQ(models_->Register(bad_name).error().code(), StatusCode::kInvalidArgument);
  RegisterModelRequest nothing;
  nothing.model.name = "x";
  EXPECT_EQ(models_->Register(nothing).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(ModelServiceTest, TagsChangePropertiesDoNot) {
  auto req = FromRun("outputs/model");
  req.model.properties = Json{{"accuracy", "0.88"}};
  auto m = *models_->Register(req);
  auto tagged = models_->UpdateTags(m.name, m.version, {{"stage", "prod"}}, {});
  EXPECT_EQ(tagged->tags["stage"], "prod");
  EXPECT_EQ(models_->UpdateTags(m.name, m.version, {}, {"stage"})->tags.size(), 0u);
  EXPECT_TRUE(models_->AddProperties(m.name, m.version, {{"dataset", "fashion"}}).has_value());
  auto change = models_->AddProperties(m.name, m.version, {{"accuracy", "0.99"}});
  ASSERT_FALSE(change.has_value());
  EXPECT_EQ(change.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(models_->Get(m.name, 0)->properties["accuracy"], "0.88");
}

}  // namespace
}  // namespace gantry::workspace
