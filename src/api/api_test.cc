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

TEST_F(ApiTest, RunArtifactsTakeOnlySanePathsSizesAndModes) {
  auto created = Call("POST", "/api/v1/runs", R"({"spec": {"command": "true"}})");
  ASSERT_EQ(created.status, 201) << created.body;
  std::string name = Body(created)["name"];
  std::string token = *runs_->BeginLaunch(name);
  std::string blob = *blobs_->Put("x");
  auto post = [&](const std::string& path, int64_t size, int64_t mode) {
    Json body = {{"artifacts", Json::array({{{"path", path}, {"blob", blob}, {"size", size},
                                             {"mode", mode}}})}};
    return Call("POST", "/api/v1/runs/" + name + "/artifacts", body.dump(), token);
  };
  const std::vector<std::string> unsafe = {"../x",        "/etc/x", "outputs//x",
                                           "outputs/./x", "a\\b",   std::string(4097, 'p')};
  for (const std::string& path : unsafe) {
    auto r = post(path, 1, 0644);
    EXPECT_EQ(r.status, 400) << path;
    std::string message = Body(r)["error"]["message"];
    EXPECT_NE(message.find(path.substr(0, 20)), std::string::npos) << message;
  }
  EXPECT_EQ(post("outputs/x", -1, 0644).status, 400);
  EXPECT_EQ(post("outputs/x", int64_t{1} << 41, 0644).status, 400);
  EXPECT_EQ(post("outputs/x", 1, 010000).status, 400);
  ASSERT_EQ(post("outputs/tool", 1, 04755).status, 200);
  auto listed = Body(Call("GET", "/api/v1/runs/" + name + "/artifacts"));
  ASSERT_EQ(listed["artifacts"].size(), 1u);
  EXPECT_EQ(listed["artifacts"][0]["mode"], 0755);
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

}  // namespace
}  // namespace gantry::api
