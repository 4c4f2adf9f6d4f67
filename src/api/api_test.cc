#include "api/api.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "common/files.h"
#include "common/hashing.h"

namespace gantry::api {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-api");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    runs_ = std::make_unique<workspace::RunService>(store_.get(), blobs_.get(), &clock_);
    models_ = std::make_unique<workspace::ModelService>(store_.get(), blobs_.get(), &clock_);
    api_ = std::make_unique<Api>(runs_.get(), models_.get(), nullptr, nullptr, nullptr, blobs_.get(),
                                 ApiOptions{});
  }
  void TearDown() override { fs::remove_all(dir_); }

  http::Response Call(const std::string& method, const std::string& path, std::string body = "",
                      std::string token = "") {
    http::Request req;
    req.method = method;
    req.path = path;
    req.body = std::move(body);
    if (!token.empty()) req.headers["authorization"] = "Bearer " + token;
    return api_->Handle(req);
  }
  Json Body(const http::Response& r) { return Json::parse(r.body); }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<workspace::RunService> runs_;
  std::unique_ptr<workspace::ModelService> models_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, ErrorsHaveOneShapeAndFittingCodes) {
  auto malformed = Call("POST", "/api/v1/runs", "{not json");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(Body(malformed)["error"]["code"], "InvalidArgument");
  auto unknown = Call("GET", "/api/v1/runs/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(Body(unknown)["error"]["message"].get<std::string>().find("nope"), std::string::npos);
  EXPECT_EQ(Call("GET", "/api/v1/runs/x/artifacts/content/../../etc/passwd").status, 400);
  EXPECT_EQ(Call("DELETE", "/api/v1/runs").status, 405);
}

TEST_F(ApiTest, SubmitShowAndMetricsRoundTrip) {
  auto created = Call("POST", "/api/v1/runs",
                      R"({"spec": {"command": "python train.py", "experiment_name": "e"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string name = Body(created)["name"];
  std::string token = *runs_->BeginLaunch(name);
  auto m = Call("POST", "/api/v1/runs/" + name + "/metrics",
                R"({"metrics": [{"key": "loss", "value": 0.5}, {"key": "loss", "value": 0.25},
                                {"key": "row", "value": {"a": 1}}]})",
                token);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + name + "/metrics", R"({"metrics": []})").status, 401);
  auto shown = Body(Call("GET", "/api/v1/runs/" + name));
  EXPECT_EQ(shown["status"], "Preparing");
  EXPECT_EQ(shown["metrics"]["loss"], 0.25);
  EXPECT_EQ(shown["metrics"]["row"]["a"], 1);
  EXPECT_EQ(shown["status_history"].size(), 3u);
  auto history = Body(Call("GET", "/api/v1/runs/" + name + "/metrics"));
  EXPECT_EQ(history["metrics"]["loss"].size(), 2u);
  EXPECT_EQ(history["metrics"]["loss"][1]["step"], 1);
}

TEST_F(ApiTest, BlobUploadIsVerified) {
  std::string data = "hello";
  std::string wrong(64, 'a');
  auto bad = Call("PUT", "/api/v1/blobs/" + wrong, data);
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(blobs_->Has(wrong));
  auto missing = Body(Call("POST", "/api/v1/blobs/missing",
                           Json{{"blobs", {Sha256Hex(data)}}}.dump()));
  EXPECT_EQ(missing["missing"].size(), 1u);
  EXPECT_EQ(Call("PUT", "/api/v1/blobs/" + Sha256Hex(data), data).status, 201);
  auto tree = Call("POST", "/api/v1/trees",
                   Json{{"entries", {{{"path", "a.txt"}, {"blob", Sha256Hex(data)}, {"size", 5},
                                      {"mode", 420}}}}}
                       .dump());
  EXPECT_EQ(tree.status, 201) << tree.body;
  auto escaping = Call("POST", "/api/v1/trees",
                       Json{{"entries", {{{"path", "../a.txt"}, {"blob", Sha256Hex(data)},
                                          {"size", 5}, {"mode", 420}}}}}
                           .dump());
  EXPECT_EQ(escaping.status, 400);
}


TEST_F(ApiTest, BlobUploadStreamedToAFileIsMovedIntoTheStore) {
  auto* local = static_cast<artifacts::LocalBlobStore*>(blobs_.get());
  Api streaming(runs_.get(), models_.get(), nullptr, nullptr, nullptr, blobs_.get(),
                ApiOptions{.upload_dir = local->temp_dir().string()});
  EXPECT_EQ(streaming.BodyToFile("PUT", "/api/v1/blobs/" + std::string(64, 'a')),
            local->temp_dir().string());
  EXPECT_EQ(streaming.BodyToFile("POST", "/api/v1/runs"), "");
  EXPECT_EQ(api_->BodyToFile("PUT", "/api/v1/blobs/" + std::string(64, 'a')), "");
  std::string data = "streamed blob";
  fs::path upload = local->temp_dir() / "upload-test";
  ASSERT_TRUE(WriteFileAtomic(upload, data).ok());
  http::Request req;
  req.method = "PUT";
  req.path = "/api/v1/blobs/" + Sha256Hex(data);
  req.body_file = upload.string();
  auto r = streaming.Handle(req);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(*blobs_->Get(Sha256Hex(data)), data);
  EXPECT_FALSE(fs::exists(upload));
}

}  // namespace
}  // namespace gantry::api
