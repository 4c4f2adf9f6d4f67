#include "api/api.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "common/files.h"
#include "common/hashing.h"
#include "workspace/testing/fake_deployment_runtime.h"

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
    access_ = std::make_unique<workspace::AccessService>(store_.get(), &clock_);
    owner_ = access_->CreateToken(workspace::Role::kOwner, "owner", 0, "")->secret;
    datasets_ =
        std::make_unique<workspace::DatasetService>(store_.get(), blobs_.get(), nullptr, &clock_);
    computes_ = std::make_unique<workspace::ComputeService>(store_.get(), &clock_, 1);
    environments_ = std::make_unique<workspace::EnvironmentService>(store_.get(), &clock_);
    endpoints_ = std::make_unique<workspace::EndpointService>(store_.get(), blobs_.get(),
                                                              models_.get(), environments_.get(),
                                                              runtime_, &clock_, "/usr/bin");
    sweeps_ = std::make_unique<workspace::SweepService>(runs_.get(), &clock_);
    api_ = std::make_unique<Api>(Services(), ApiOptions{});
  }
  void TearDown() override { fs::remove_all(dir_); }

  ApiServices Services() {
    return ApiServices{.access = *access_,
                       .runs = *runs_,
                       .models = *models_,
                       .datasets = *datasets_,
                       .computes = *computes_,
                       .environments = *environments_,
                       .endpoints = *endpoints_,
                       .sweeps = *sweeps_,
                       .blobs = *blobs_};
  }

  // Sends as the owner unless another token is given ("-" for none).
  http::Response Call(const std::string& method, const std::string& path, std::string body = "",
                      std::string token = "", std::map<std::string, std::string> headers = {}) {
    http::Request req;
    req.method = method;
    req.path = path;
    req.body = std::move(body);
    req.headers = std::move(headers);
    if (token.empty()) token = owner_;
    if (token != "-" && !req.headers.contains("authorization")) {
      req.headers["authorization"] = "Bearer " + token;
    }
    return api_->Handle(req);
  }
  std::string Submit() {
    auto created = Call("POST", "/api/v1/runs", R"({"spec": {"command": "true"}})");
    EXPECT_EQ(created.status, 201) << created.body;
    return Body(created)["name"];
  }
  Json Body(const http::Response& r) { return Json::parse(r.body); }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<workspace::RunService> runs_;
  std::unique_ptr<workspace::ModelService> models_;
  std::unique_ptr<workspace::AccessService> access_;
  std::unique_ptr<workspace::DatasetService> datasets_;
  std::unique_ptr<workspace::ComputeService> computes_;
  std::unique_ptr<workspace::EnvironmentService> environments_;
  workspace::testing::FakeDeploymentRuntime runtime_;
  std::unique_ptr<workspace::EndpointService> endpoints_;
  std::unique_ptr<workspace::SweepService> sweeps_;
  std::string owner_;
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
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + name + "/metrics", R"({"metrics": []})", "-").status,
            401);
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
    Json body = {{"artifacts",
                  Json::array({{{"path", path}, {"blob", blob}, {"size", size}, {"mode", mode}}})}};
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

TEST_F(ApiTest, PeopleAddFilesToARunWithoutReplacingAny) {
  std::string name = Submit();
  std::string other = Submit();
  std::string token = *runs_->BeginLaunch(name);
  std::string other_token = *runs_->BeginLaunch(other);
  std::string blob = *blobs_->Put("png");
  auto post = [&](const std::string& path, const std::string& as) {
    Json body = {
        {"files", Json::array({{{"path", path}, {"blob", blob}, {"size", 3}, {"mode", 0644}}})}};
    return Call("POST", "/api/v1/runs/" + name + "/files", body.dump(), as);
  };
  std::string reader = access_->CreateToken(workspace::Role::kReader, "r", 0, "")->secret;
  std::string contributor = access_->CreateToken(workspace::Role::kContributor, "c", 0, "")->secret;
  EXPECT_EQ(post("images/a.png", "-").status, 401);
  EXPECT_EQ(post("images/a.png", reader).status, 403);
  EXPECT_EQ(post("images/a.png", other_token).status, 403);  // another run's token
  auto added = post("images/a.png", contributor);
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_EQ(post("images/b.png", token).status, 201);  // the run's own scripts
  auto again = post("images/a.png", contributor);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Body(again)["error"]["code"], "AlreadyExists");
  EXPECT_EQ(post("../a.png", contributor).status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + name + "/files", R"({"files": {}})").status, 400);
  auto listed = Body(Call("GET", "/api/v1/runs/" + name + "/artifacts"));
  ASSERT_EQ(listed["artifacts"].size(), 2u);
  EXPECT_EQ(listed["artifacts"][0]["path"], "images/a.png");
}

TEST_F(ApiTest, BlobUploadIsVerified) {
  std::string data = "hello";
  std::string wrong(64, 'a');
  auto bad = Call("PUT", "/api/v1/blobs/" + wrong, data);
  EXPECT_EQ(bad.status, 400);
  EXPECT_FALSE(blobs_->Has(wrong));
  auto missing =
      Body(Call("POST", "/api/v1/blobs/missing", Json{{"blobs", {Sha256Hex(data)}}}.dump()));
  EXPECT_EQ(missing["missing"].size(), 1u);
  EXPECT_EQ(Call("PUT", "/api/v1/blobs/" + Sha256Hex(data), data).status, 201);
  auto tree =
      Call("POST", "/api/v1/trees",
           Json{{"entries",
                 {{{"path", "a.txt"}, {"blob", Sha256Hex(data)}, {"size", 5}, {"mode", 420}}}}}
               .dump());
  EXPECT_EQ(tree.status, 201) << tree.body;
  auto escaping =
      Call("POST", "/api/v1/trees",
           Json{{"entries",
                 {{{"path", "../a.txt"}, {"blob", Sha256Hex(data)}, {"size", 5}, {"mode", 420}}}}}
               .dump());
  EXPECT_EQ(escaping.status, 400);
}

TEST_F(ApiTest, EveryRouteButHealthAndScoringNeedsACredential) {
  for (auto [method, path] :
       std::initializer_list<std::pair<const char*, const char*>>{{"POST", "/api/v1/runs"},
                                                                  {"GET", "/api/v1/runs"},
                                                                  {"GET", "/api/v1/runs/x"},
                                                                  {"POST", "/api/v1/runs/x/cancel"},
                                                                  {"GET", "/api/v1/blobs/x"},
                                                                  {"PUT", "/api/v1/blobs/x"},
                                                                  {"GET", "/api/v1/models"},
                                                                  {"POST", "/api/v1/models"},
                                                                  {"GET", "/api/v1/tokens"},
                                                                  {"POST", "/api/v1/tokens"},
                                                                  {"GET", "/api/v1/audit"}}) {
    auto r = Call(method, path, "{}", "-");
    EXPECT_EQ(r.status, 401) << method << " " << path << ": " << r.body;
    EXPECT_EQ(Body(r)["error"]["code"], "Unauthenticated");
  }
  EXPECT_EQ(Call("GET", "/api/v1/health", "", "-").status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", "gtp_forged").status, 401);
}

TEST_F(ApiTest, RolesLimitWhatATokenDoes) {
  std::string reader = access_->CreateToken(workspace::Role::kReader, "r", 0, "")->secret;
  std::string contributor = access_->CreateToken(workspace::Role::kContributor, "c", 0, "")->secret;
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", reader).status, 200);
  auto denied = Call("POST", "/api/v1/runs", R"({"spec": {"command": "true"}})", reader);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/runs", R"({"spec": {"command": "true"}})", contributor).status,
            201);
  EXPECT_EQ(Call("POST", "/api/v1/tokens", R"({"role": "owner"})", contributor).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/tokens", "", reader).status, 403);
  auto made = Call("POST", "/api/v1/tokens", R"({"role": "reader", "name": "ci"})");
  ASSERT_EQ(made.status, 201) << made.body;
  std::string secret = Body(made)["token"];
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", secret).status, 200);
  auto listed = Body(Call("GET", "/api/v1/tokens"));
  EXPECT_EQ(listed.dump().find(secret), std::string::npos);  // never shown again
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/" + Body(made)["id"].get<std::string>()).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", secret).status, 401);
}

TEST_F(ApiTest, BasicAuthCarriesTheTokenAsItsPassword) {
  // base64("mlflow:" + owner_) computed by hand would be brittle; build it.
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = "mlflow:" + owner_, out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", "-", {{"authorization", "Basic " + out}}).status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", "-", {{"authorization", "Basic !!!"}}).status, 401);
}

TEST_F(ApiTest, ARunsTokenReportsForItsRunOnlyAndOnlyWhileItRuns) {
  std::string a = Submit(), b = Submit();
  std::string token_a = *runs_->BeginLaunch(a);
  ASSERT_TRUE(runs_->BeginLaunch(b).has_value());
  const std::string metrics = R"({"metrics": [{"key": "loss", "value": 1}]})";
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + a + "/metrics", metrics, token_a).status, 200);
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + b + "/metrics", metrics, token_a).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/runs/" + b, "", token_a).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", token_a).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/runs", R"({"spec": {"command": "id"}})", token_a).status, 403);
  // An owner cannot forge a runner's report either.
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + a + "/metrics", metrics).status, 403);
  for (const char* status : {"Starting", "Running", "Finalizing", "Completed"}) {
    auto r = Call("POST", "/api/v1/runs/" + a + "/status",
                  Json{{"status", status}, {"exit_code", 0}}.dump(), token_a);
    ASSERT_EQ(r.status, 200) << status << ": " << r.body;
  }
  auto after = Call("POST", "/api/v1/runs/" + a + "/metrics", metrics, token_a);
  EXPECT_EQ(after.status, 403);
  EXPECT_NE(after.body.find("has ended"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/runs/" + a + "/heartbeat", "", token_a).status, 403);
  EXPECT_EQ(Call("GET", "/api/v1/runs/" + a, "", token_a).status, 200);  // may still read it
}

TEST_F(ApiTest, CrossOriginBrowserRequestsAreRefused) {
  std::map<std::string, std::string> evil = {{"origin", "http://evil.example"},
                                             {"host", "127.0.0.1:8765"}};
  auto r = Call("POST", "/api/v1/runs", R"({"spec": {"command": "id"}})", "", evil);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Body(Call("GET", "/api/v1/runs"))["runs"].size(), 0u);
  std::map<std::string, std::string> own = {{"origin", "http://127.0.0.1:8765"},
                                            {"host", "127.0.0.1:8765"}};
  EXPECT_EQ(Call("GET", "/api/v1/runs", "", "", own).status, 200);
}

TEST_F(ApiTest, MutatingCallsAndRefusalsAreAudited) {
  std::string name = Submit();
  (void)Call("POST", "/api/v1/runs/" + name + "/cancel", "{}", "-");
  (void)Call("GET", "/api/v1/runs");  // reads are not audited
  auto records = Body(Call("GET", "/api/v1/audit"))["records"];
  ASSERT_EQ(records.size(), 2u) << records.dump();
  EXPECT_EQ(records[0]["method"], "POST");
  EXPECT_EQ(records[0]["path"], "/api/v1/runs");
  EXPECT_EQ(records[0]["status"], 201);
  EXPECT_NE(records[0]["principal"].get<std::string>().find("(owner)"), std::string::npos);
  EXPECT_EQ(records[1]["principal"], "anonymous");
  EXPECT_EQ(records[1]["status"], 401);
}

TEST_F(ApiTest, ALargeUploadIsRefusedBeforeItsBodyIsRead) {
  http::Request head;
  head.method = "PUT";
  head.path = "/api/v1/blobs/" + std::string(64, 'a');
  auto refused = api_->BeforeBody(head);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 401);
  std::string reader = access_->CreateToken(workspace::Role::kReader, "r", 0, "")->secret;
  head.headers["authorization"] = "Bearer " + reader;
  EXPECT_EQ(api_->BeforeBody(head)->status, 403);
  head.headers["authorization"] = "Bearer " + owner_;
  EXPECT_FALSE(api_->BeforeBody(head).has_value());
  http::Request small;
  small.method = "POST";
  small.path = "/api/v1/runs";
  EXPECT_FALSE(api_->BeforeBody(small).has_value());  // checked with its route
}

TEST_F(ApiTest, BlobUploadStreamedToAFileIsMovedIntoTheStore) {
  auto* local = static_cast<artifacts::LocalBlobStore*>(blobs_.get());
  Api streaming(Services(), ApiOptions{.upload_dir = local->temp_dir().string()});
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
  req.headers["authorization"] = "Bearer " + owner_;
  auto r = streaming.Handle(req);
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(*blobs_->Get(Sha256Hex(data)), data);
  EXPECT_FALSE(fs::exists(upload));
}

}  // namespace
}  // namespace gantry::api
