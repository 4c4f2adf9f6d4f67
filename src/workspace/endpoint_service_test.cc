#include "workspace/endpoint_service.h"

#include <gtest/gtest.h>

#include <map>

#include "artifacts/local_blob_store.h"
#include "artifacts/tree.h"
#include "common/files.h"
#include "workspace/testing/fake_deployment_runtime.h"

namespace gantry::workspace {
namespace {

class EndpointServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-endpoints");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    models_ = std::make_unique<ModelService>(store_.get(), blobs_.get(), &clock_);
    environments_ = std::make_unique<EnvironmentService>(store_.get(), &clock_);
    service_ = std::make_unique<EndpointService>(store_.get(), blobs_.get(), models_.get(),
                                                 environments_.get(), runtime_, &clock_,
                                                 "/nonexistent-bin");
    RegisterModel("mnist", "PyTorch", "model/model.pt");
    RegisterModel("tf-mnist", "TensorFlow", "model/saved_model.pb");
    RegisterModel("sk", "ScikitLearn", "model.pkl");
    ASSERT_TRUE(service_->CreateEndpoint({.name = "mnist-ep"}).has_value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void RegisterModel(const std::string& name, const std::string& framework,
                     const std::string& file) {
    artifacts::Tree tree;
    std::string blob = *blobs_->Put("bytes of " + file);
    ASSERT_TRUE(tree.Add({file, blob, static_cast<int64_t>(9 + file.size()), 0644}).ok());
    RegisterModelRequest r;
    r.model.name = name;
    r.model.framework = framework;
    r.tree_id = *artifacts::StoreTree(*blobs_, tree);
    ASSERT_TRUE(models_->Register(r).has_value());
  }

  std::string UploadCode(const std::string& path) {
    artifacts::Tree tree;
    std::string blob = *blobs_->Put("def init(): pass\n");
    EXPECT_TRUE(tree.Add({path, blob, 17, 0644}).ok());
    return *artifacts::StoreTree(*blobs_, tree);
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<ModelService> models_;
  std::unique_ptr<EnvironmentService> environments_;
  testing::FakeDeploymentRuntime runtime_;
  std::unique_ptr<EndpointService> service_;
};

TEST_F(EndpointServiceTest, EndpointsGetTwoDistinctKeysAndValidNamesOnly) {
  auto e = service_->GetEndpoint("mnist-ep");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->primary_key.size(), 64u);
  EXPECT_NE(e->primary_key, e->secondary_key);
  EXPECT_EQ(service_->CreateEndpoint({.name = "mnist-ep"}).error().code(),
            StatusCode::kAlreadyExists);
  for (const std::string& bad :
       std::vector<std::string>{"ab", "1abc", "has_underscore", std::string(33, 'a')}) {
    auto r = service_->CreateEndpoint({.name = bad});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.error().message().find(bad), std::string::npos);
  }
  EXPECT_EQ(service_->CreateEndpoint({.name = "other", .auth_mode = "aad"}).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EndpointServiceTest, RegeneratingAKeyReplacesOnlyThatKey) {
  auto before = *service_->GetEndpoint("mnist-ep");
  auto after = service_->RegenerateKey("mnist-ep", "Primary");
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->primary_key, before.primary_key);
  EXPECT_EQ(after->secondary_key, before.secondary_key);
  EXPECT_EQ(service_->RegenerateKey("mnist-ep", "tertiary").error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EndpointServiceTest, NoCodeDeploymentPicksTheBackendFromTheFramework) {
  auto d = service_->PutDeployment({.endpoint = "mnist-ep", .name = "blue", .model = "mnist:1"});
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->spec["backend"], "torchscript");
  EXPECT_EQ(d->state, "Creating");
  EXPECT_EQ(d->generation, 1);

  // Updating makes a new generation.
  auto again = service_->PutDeployment(
      {.endpoint = "mnist-ep", .name = "blue", .model = "azureml:mnist@latest"});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->generation, 2);
  EXPECT_EQ(again->state, "Updating");

  // A TensorFlow SavedModel goes to the tensorflow backend, in an environment that is to
  // provide TensorFlow: the one named, else the curated TensorFlow one.
  auto tf =
      service_->PutDeployment({.endpoint = "mnist-ep", .name = "tf-blue", .model = "tf-mnist"});
  ASSERT_TRUE(tf.has_value()) << tf.error().ToString();
  EXPECT_EQ(tf->spec["backend"], "tensorflow");
  EXPECT_EQ(tf->spec["environment"]["name"], "Gantry-TensorFlow-2.21-CPU");
  auto tf_env = service_->PutDeployment({.endpoint = "mnist-ep",
                                         .name = "tf-green",
                                         .model = "tf-mnist",
                                         .environment = "Gantry-PyTorch-Debian",
                                         .max_batch_size = 16});
  ASSERT_TRUE(tf_env.has_value()) << tf_env.error().ToString();
  EXPECT_EQ(tf_env->spec["environment"]["name"], "Gantry-PyTorch-Debian");
  EXPECT_EQ(tf_env->spec["max_batch_size"], 16);
  auto tf_missing_env = service_->PutDeployment({.endpoint = "mnist-ep",
                                                 .name = "tf-red",
                                                 .model = "tf-mnist",
                                                 .environment = "NoSuchEnv:1"});
  EXPECT_EQ(tf_missing_env.error().code(), StatusCode::kNotFound);
  // A TorchScript model takes no environment.
  auto pt_env = service_->PutDeployment(
      {.endpoint = "mnist-ep", .name = "pt", .model = "mnist", .environment = "Gantry-Python3"});
  EXPECT_EQ(pt_env.error().code(), StatusCode::kInvalidArgument);

  // Other frameworks need a scoring script.
  auto sk = service_->PutDeployment({.endpoint = "mnist-ep", .name = "sk-blue", .model = "sk:1"});
  ASSERT_FALSE(sk.has_value());
  EXPECT_EQ(sk.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(sk.error().message().find("scoring script"), std::string::npos);
}

TEST_F(EndpointServiceTest, BadDeploymentInputNamesTheField) {
  auto missing =
      service_->PutDeployment({.endpoint = "mnist-ep", .name = "blue", .model = "nope:1"});
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  auto badver =
      service_->PutDeployment({.endpoint = "mnist-ep", .name = "blue", .model = "mnist:x"});
  EXPECT_EQ(badver.error().code(), StatusCode::kInvalidArgument);
  auto count = service_->PutDeployment(
      {.endpoint = "mnist-ep", .name = "blue", .model = "mnist", .instance_count = 0});
  EXPECT_NE(count.error().message().find("instance_count"), std::string::npos);
  auto noep = service_->PutDeployment({.endpoint = "ghost", .name = "blue", .model = "mnist"});
  EXPECT_EQ(noep.error().code(), StatusCode::kNotFound);
  auto script = service_->PutDeployment({.endpoint = "mnist-ep",
                                         .name = "code",
                                         .model = "sk",
                                         .code_tree = UploadCode("score.py"),
                                         .scoring_script = "other.py"});
  EXPECT_NE(script.error().message().find("other.py"), std::string::npos);
  auto env = service_->PutDeployment({.endpoint = "mnist-ep",
                                      .name = "code",
                                      .model = "sk",
                                      .code_tree = UploadCode("score.py"),
                                      .scoring_script = "score.py",
                                      .environment = "azureml:NoSuchEnv:3"});
  EXPECT_EQ(env.error().code(), StatusCode::kNotFound);
}

TEST_F(EndpointServiceTest, CodeDeploymentUsesThePythonBackendAndItsEnvironment) {
  auto d = service_->PutDeployment({.endpoint = "mnist-ep",
                                    .name = "code",
                                    .model = "sk",
                                    .code_tree = UploadCode("src/score.py"),
                                    .scoring_script = "src/score.py",
                                    .environment = "Gantry-PyTorch-Debian"});
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->spec["backend"], "python");
  EXPECT_EQ(d->spec["environment"]["name"], "Gantry-PyTorch-Debian");
  EXPECT_FALSE(d->spec["environment"]["hash"].get<std::string>().empty());
}

TEST_F(EndpointServiceTest, TrafficMustNameDeploymentsAndAddUpTo100) {
  ASSERT_TRUE(service_->PutDeployment({.endpoint = "mnist-ep", .name = "blue", .model = "mnist"}));
  ASSERT_TRUE(service_->PutDeployment({.endpoint = "mnist-ep", .name = "green", .model = "mnist"}));
  auto ok = service_->UpdateEndpoint("mnist-ep", {.traffic = Json{{"blue", 90}, {"green", 10}}});
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->traffic["green"], 10);
  auto sum = service_->UpdateEndpoint("mnist-ep", {.traffic = Json{{"blue", 90}, {"green", 20}}});
  EXPECT_NE(sum.error().message().find("110"), std::string::npos);
  auto ghost = service_->UpdateEndpoint("mnist-ep", {.traffic = Json{{"red", 100}}});
  EXPECT_NE(ghost.error().message().find("red"), std::string::npos);
  auto neg = service_->UpdateEndpoint("mnist-ep", {.traffic = Json{{"blue", -5}, {"green", 105}}});
  EXPECT_EQ(neg.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->GetEndpoint("mnist-ep")->traffic["blue"], 90);  // unchanged

  // A deployment with traffic cannot be deleted; at 0 it can, and leaves the split.
  EXPECT_EQ(service_->DeleteDeployment("mnist-ep", "green").code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->UpdateEndpoint("mnist-ep", {.traffic = Json{{"blue", 100}, {"green", 0}}}));
  ASSERT_TRUE(service_->DeleteDeployment("mnist-ep", "green").ok());
  EXPECT_FALSE(service_->GetEndpoint("mnist-ep")->traffic.contains("green"));

  // --all-traffic moves everything to the new deployment.
  ASSERT_TRUE(service_->PutDeployment(
      {.endpoint = "mnist-ep", .name = "green", .model = "mnist", .all_traffic = true}));
  auto e = *service_->GetEndpoint("mnist-ep");
  EXPECT_EQ(e.traffic["green"], 100);
  EXPECT_EQ(e.traffic["blue"], 0);
}

TEST_F(EndpointServiceTest, ScoringChecksTheKeyFirst) {
  auto e = *service_->GetEndpoint("mnist-ep");
  auto none = service_->Score("mnist-ep", "", "", "POST", "/score", "{}", "application/json");
  EXPECT_EQ(none.error().code(), StatusCode::kUnauthenticated);
  auto wrong = service_->Score("mnist-ep", "x" + e.primary_key.substr(1), "", "POST", "/score",
                               "{}", "application/json");
  EXPECT_EQ(wrong.error().code(), StatusCode::kUnauthenticated);
  // A valid key passes auth; with no traffic there is nowhere to send it.
  auto good =
      service_->Score("mnist-ep", e.secondary_key, "", "POST", "/score", "{}", "application/json");
  EXPECT_EQ(good.error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(service_->Score("ghost", "", "", "POST", "/score", "{}", "").error().code(),
            StatusCode::kNotFound);
}

TEST_F(EndpointServiceTest, TheRuntimeRunsWhatTheRecordsSayAndScoringFollowsTheTraffic) {
  auto e = *service_->GetEndpoint("mnist-ep");
  ASSERT_TRUE(
      service_
          ->PutDeployment(
              {.endpoint = "mnist-ep", .name = "blue", .model = "mnist:1", .all_traffic = true})
          .has_value());
  ASSERT_TRUE(service_->PutDeployment({.endpoint = "mnist-ep", .name = "green", .model = "mnist:1"})
                  .has_value());
  EXPECT_EQ(runtime_.applied(), (std::vector<std::string>{"mnist-ep/blue", "mnist-ep/green"}));

  // All traffic goes to blue; a request naming green goes there.
  auto scored = service_->Score("mnist-ep", e.primary_key, "", "POST", "/score", "{\"x\": 1}",
                                "application/json");
  ASSERT_TRUE(scored.has_value()) << scored.error().ToString();
  EXPECT_EQ(scored->deployment, "blue");
  EXPECT_EQ(scored->response.body, "{\"from\": \"blue\"}");
  auto named = service_->Score("mnist-ep", e.primary_key, "green", "POST", "/score", "{}", "");
  ASSERT_TRUE(named.has_value());
  EXPECT_EQ(named->deployment, "green");
  auto forwarded = runtime_.forwarded();
  ASSERT_EQ(forwarded.size(), 2u);
  EXPECT_EQ(forwarded[0].body, "{\"x\": 1}");
  EXPECT_EQ(forwarded[1].deployment, "green");
  EXPECT_EQ(service_->Replicas("mnist-ep", "blue").front().state, "Ready");
  EXPECT_EQ(*service_->DeploymentLogs("mnist-ep", "green", 7), "mnist-ep/green: last 7 lines\n");

  // A deployment that still takes traffic stays; one without is stopped, then deleted.
  EXPECT_EQ(service_->DeleteDeployment("mnist-ep", "blue").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(service_->DeleteDeployment("mnist-ep", "green").ok());
  EXPECT_EQ(runtime_.removed(), (std::vector<std::string>{"mnist-ep/green"}));
  ASSERT_TRUE(service_->DeleteEndpoint("mnist-ep").ok());
  EXPECT_EQ(runtime_.removed(), (std::vector<std::string>{"mnist-ep/green", "mnist-ep/blue"}));
}

}  // namespace
}  // namespace gantry::workspace
