#include "workspace/environment_service.h"

#include <gtest/gtest.h>

namespace gantry::workspace {
namespace {

class EnvironmentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    service_ = std::make_unique<EnvironmentService>(store_.get(), &clock_);
  }
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<EnvironmentService> service_;
};

TEST_F(EnvironmentServiceTest, SameSpecSameVersionAndHash) {
  Json spec = {{"pip", {"numpy"}}, {"python", {{"interpreter_path", "/usr/bin/python3"}}}};
  auto v1 = service_->Register("my-env", spec, "");
  ASSERT_TRUE(v1.has_value()) << v1.error().ToString();
  EXPECT_EQ(v1->version, 1);
  // Key order does not matter: the spec is canonical.
  Json reordered = {{"python", {{"interpreter_path", "/usr/bin/python3"}}}, {"pip", {"numpy"}}};
  EXPECT_EQ(service_->Register("my-env", reordered, "")->version, 1);
  auto v2 = service_->Register("my-env", {{"pip", {"numpy", "scipy"}}}, "");
  EXPECT_EQ(v2->version, 2);
  EXPECT_NE(v2->hash, v1->hash);
  // Another name with the same spec shares the build (hash).
  EXPECT_EQ(service_->Register("other", spec, "")->hash, v1->hash);
}

TEST_F(EnvironmentServiceTest, CuratedNamesAreReservedAndResolvable) {
  auto reserved = service_->Register("AzureML-TensorFlow-2.2-GPU", {{"pip", {"x"}}}, "");
  EXPECT_EQ(reserved.error().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(service_->Register("gantry-mine", {}, "").error().code(),
            StatusCode::kPermissionDenied);
  auto torch = service_->Resolve("azureml:Gantry-PyTorch-Debian@latest");
  ASSERT_TRUE(torch.has_value());
  EXPECT_EQ(torch->spec["requires_modules"][0], "torch");
  auto missing = service_->Get("Gantry-TensorFlow-1.0-GPU", 0);
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("Gantry-PyTorch-Debian"), std::string::npos);
  EXPECT_GE(service_->List()->size(), 2u);
}

TEST_F(EnvironmentServiceTest, AzureTensorFlowNamesResolveToTheLocalTensorFlowWithKeras2) {
  auto tf = service_->Get("Gantry-TensorFlow-2.21-CPU", 0);
  ASSERT_TRUE(tf.has_value()) << tf.error().ToString();
  EXPECT_EQ(tf->spec["pip"], Json({"tensorflow-cpu==2.21.0", "tf-keras==2.21.0"}));
  EXPECT_FALSE(tf->spec.contains("environment_variables"));
  for (const char* name : {"AzureML-TensorFlow-2.0-GPU", "AzureML-TensorFlow-1.13-GPU",
                           "AzureML-TensorFlow-2.2-GPU", "azureml-tensorflow-2.11-cuda11"}) {
    auto e = service_->Resolve(name);
    ASSERT_TRUE(e.has_value()) << name << ": " << e.error().ToString();
    EXPECT_EQ(e->name, name);
    EXPECT_EQ(e->spec["pip"], tf->spec["pip"]) << name;
    EXPECT_EQ(e->spec["environment_variables"]["TF_USE_LEGACY_KERAS"], "1") << name;
    auto stand_in = StandInFor(name);
    ASSERT_TRUE(stand_in.has_value());
    EXPECT_EQ(stand_in->environment, "Gantry-TensorFlow-2.21-CPU");
    EXPECT_EQ(e->description, stand_in->reason);
  }
  EXPECT_NE(StandInFor("AzureML-TensorFlow-1.13-GPU")
                ->reason.find("TensorFlow 1.13 does not install on Python 3.11"),
            std::string::npos);
  EXPECT_NE(StandInFor("azureml-tensorflow-2.11-cuda11")->reason.find("TensorFlow 2.11 does not"),
            std::string::npos);
  EXPECT_EQ(StandInFor("AzureML-PyTorch-1.6-GPU")->environment, "Gantry-PyTorch-Debian");
  EXPECT_FALSE(StandInFor("AzureML-Something-Else").has_value());
  EXPECT_FALSE(StandInFor("my-tensorflow").has_value());
  // Not a stand-in's version 2, and unknown Azure names still say what ships.
  EXPECT_EQ(service_->Get("AzureML-TensorFlow-2.0-GPU", 2).error().code(), StatusCode::kNotFound);
  auto unknown = service_->Get("AzureML-Something-Else", 0);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("Gantry-TensorFlow-2.21-CPU"), std::string::npos);
}

TEST_F(EnvironmentServiceTest, BadSpecsNameTheField) {
  auto r = service_->Register("e", {{"pyhton", {}}}, "");
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("pyhton"), std::string::npos);
  EXPECT_NE(service_->Register("e", {{"pip", "numpy"}}, "").error().message().find("pip"),
            std::string::npos);
  EXPECT_NE(service_->Register("e", {{"python", {{"interpreter_path", 3}}}}, "")
                .error()
                .message()
                .find("python.interpreter_path"),
            std::string::npos);
}

TEST_F(EnvironmentServiceTest, RefusesACondaFileOfNestedAliases) {
  std::string bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  for (char c = 'b'; c <= 'h'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ",*" : "*") + static_cast<char>(c - 1);
    bomb += "]\n";
  }
  auto r = service_->Register("e", {{"python", {{"conda_dependencies", bomb}}}}, "");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("more than 100000 nodes"), std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace gantry::workspace
