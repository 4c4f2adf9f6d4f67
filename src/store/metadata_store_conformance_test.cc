// One conformance suite for every MetadataStore implementation.
#include <gtest/gtest.h>

#include "common/files.h"
#include "store/metadata_store.h"

namespace gantry::store {
namespace {

struct StoreFactory {
  std::string label;
  // Returns the URI to open, given a fresh temp folder.
  std::function<std::string(const fs::path&)> uri;
};

class MetadataStoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-store-test");
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<MetadataStore> Open() {
    auto s = OpenMetadataStore({GetParam().uri(dir_)});
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return std::move(*s);
  }
  RunRecord NewRun(const std::string& name) {
    RunRecord r;
    r.name = name;
    r.experiment_name = "exp";
    r.display_name = name;
    r.status = "Queued";
    r.compute = "local";
    r.created_at = r.updated_at = 1000;
    r.spec = Json{{"command", "echo hi"}};
    return r;
  }

  fs::path dir_;
  std::unique_ptr<MetadataStore> store_;
};

TEST_P(MetadataStoreConformanceTest, RunsKeepSubmissionOrderAndRejectDuplicates) {
  for (auto name : {"a", "b", "c"}) {
    RunRecord r = NewRun(name);
    ASSERT_TRUE(store_->runs().CreateRun(r).ok());
  }
  RunRecord dup = NewRun("b");
  EXPECT_EQ(store_->runs().CreateRun(dup).code(), StatusCode::kAlreadyExists);
  auto oldest = store_->runs().ListRuns({.oldest_first = true});
  ASSERT_TRUE(oldest.has_value());
  ASSERT_EQ(oldest->size(), 3u);
  EXPECT_EQ((*oldest)[0].name, "a");
  EXPECT_LT((*oldest)[0].seq, (*oldest)[2].seq);
  auto newest = store_->runs().ListRuns({.limit = 1});
  EXPECT_EQ((*newest)[0].name, "c");
  EXPECT_EQ(store_->runs().GetRun("zzz").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->runs().GetRun("a")->spec["command"], "echo hi");
}

TEST_P(MetadataStoreConformanceTest, UpdateRecordsStatusHistory) {
  RunRecord r = NewRun("r1");
  ASSERT_TRUE(store_->runs().CreateRun(r).ok());
  r.status = "Running";
  r.exit_code = 0;
  r.tags = Json{{"k", "v"}};
  r.token_hash = "abc";
  r.runner_pid = 77;
  ASSERT_TRUE(store_->runs().UpdateRun(r, StatusEvent{"Running", 2000, "pid 5"}).ok());
  auto got = store_->runs().GetRun("r1");
  EXPECT_EQ(got->status, "Running");
  EXPECT_EQ(got->exit_code, 0);
  EXPECT_EQ(got->tags["k"], "v");
  EXPECT_EQ(got->token_hash, "abc");
  EXPECT_EQ(got->runner_pid, 77);
  auto history = store_->runs().GetStatusHistory("r1");
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].status, "Queued");
  EXPECT_EQ((*history)[1].status, "Running");
  EXPECT_EQ((*history)[1].time, 2000);
  auto filtered = store_->runs().ListRuns({.statuses = {"Running"}});
  EXPECT_EQ(filtered->size(), 1u);
  RunRecord ghost = NewRun("ghost");
  EXPECT_EQ(store_->runs().UpdateRun(ghost, std::nullopt).code(), StatusCode::kNotFound);
}

TEST_P(MetadataStoreConformanceTest, MetricsGetStepsPerSeries) {
  std::vector<MetricPoint> batch;
  for (int i = 0; i < 5; ++i) batch.push_back({"loss", 1.0 / (i + 1), "", -1, 10});
  batch.push_back({"acc", 0.5, "", -1, 10});
  batch.push_back({"row", 0, R"({"a":1})", -1, 10});
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", batch).ok());
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {{"loss", 0.1, "", -1, 11}}).ok());
  auto loss = store_->metrics().GetMetrics("r", "loss");
  ASSERT_EQ(loss->size(), 6u);
  EXPECT_EQ((*loss)[5].step, 5);
  EXPECT_DOUBLE_EQ((*loss)[5].value, 0.1);
  auto latest = store_->metrics().LatestMetrics("r");
  ASSERT_EQ(latest->size(), 3u);
  EXPECT_EQ((*latest)[0].key, "acc");
  EXPECT_EQ((*latest)[2].key, "row");
  EXPECT_EQ((*latest)[2].value_json, R"({"a":1})");
  EXPECT_EQ(store_->metrics().GetMetrics("other", "")->size(), 0u);
}

TEST_P(MetadataStoreConformanceTest, MetricsKeepTheRankThatLoggedThem) {
  store::MetricPoint a{"loss", 0.5, "", 0, 1};
  a.rank = 0;
  store::MetricPoint b{"loss", 0.7, "", 0, 2};
  b.rank = 3;
  store::MetricPoint c{"loss", 0, R"("text")", 1, 3};
  c.rank = 2;
  store::MetricPoint d{"loss", 0.9, "", 2, 4};  // no rank
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {a, b, c, d}).ok());
  auto points = *store_->metrics().GetMetrics("r", "loss");
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].rank, 0);
  EXPECT_EQ(points[1].rank, 3);
  EXPECT_DOUBLE_EQ(points[1].value, 0.7);
  EXPECT_EQ(points[2].rank, 2);
  EXPECT_EQ(points[2].value_json, R"("text")");
  EXPECT_EQ(points[3].rank, -1);
  EXPECT_DOUBLE_EQ(points[3].value, 0.9);
}

TEST_P(MetadataStoreConformanceTest, ResentMetricBatchesAreStoredOnce) {
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {{"m", 1, "", -1, 1}}, 40).ok());
  // The answer was lost and the sender resends the same batch: nothing new is stored.
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {{"m", 1, "", -1, 1}}, 40).ok());
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {{"m", 2, "", -1, 2}}, 80).ok());
  auto points = *store_->metrics().GetMetrics("r", "m");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_DOUBLE_EQ(points[1].value, 2);
  // Cursors are per run, and per sender within a run.
  ASSERT_TRUE(store_->metrics().AppendMetrics("other", {{"m", 5, "", -1, 1}}, 40).ok());
  EXPECT_EQ(store_->metrics().GetMetrics("other", "m")->size(), 1u);
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {{"m", 3, "", -1, 3}}, 40, "node_1").ok());
  ASSERT_TRUE(store_->metrics().AppendMetrics("r", {{"m", 3, "", -1, 3}}, 40, "node_1").ok());
  EXPECT_EQ(store_->metrics().GetMetrics("r", "m")->size(), 3u);
}

TEST_P(MetadataStoreConformanceTest, LogsAppendIdempotentlyAndRejectGaps) {
  EXPECT_EQ(*store_->logs().AppendLog("r", "std_log.txt", 0, "hello "), 6);
  // A resend of bytes already stored is absorbed.
  EXPECT_EQ(*store_->logs().AppendLog("r", "std_log.txt", 0, "hello world\n"), 12);
  EXPECT_EQ(store_->logs().AppendLog("r", "std_log.txt", 20, "x").error().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->logs().ReadLog("r", "std_log.txt", 0, 100), "hello world\n");
  EXPECT_EQ(*store_->logs().ReadLog("r", "std_log.txt", 3, 4), "lo w");
  EXPECT_EQ(*store_->logs().ReadLog("r", "std_log.txt", 12, 100), "");
  auto logs = store_->logs().ListLogs("r");
  ASSERT_EQ(logs->size(), 1u);
  EXPECT_EQ((*logs)[0].second, 12);
}

TEST_P(MetadataStoreConformanceTest, ArtifactsListByPrefix) {
  ASSERT_TRUE(store_->artifacts().PutArtifacts("r", {{"outputs/a.txt", std::string(64, 'a'), 3, 0644},
                                         {"logs/b.txt", std::string(64, 'b'), 4, 0644},
                                         {"outputs/m/c", std::string(64, 'c'), 5, 0755}})
                  .ok());
  auto outputs = store_->artifacts().ListArtifacts("r", "outputs/");
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[1].path, "outputs/m/c");
  EXPECT_EQ((*outputs)[1].mode, 0755u);
  EXPECT_EQ(store_->artifacts().ListArtifacts("r", "")->size(), 3u);
}

TEST_P(MetadataStoreConformanceTest, ModelVersionsCountUpPerName) {
  for (int i = 0; i < 3; ++i) {
    ModelRecord m;
    m.name = i < 2 ? "mnist" : "other";
    m.tree_id = std::string(64, 'a');
    m.properties = Json{{"accuracy", "0.9"}};
    ASSERT_TRUE(store_->models().CreateModel(m).ok());
    EXPECT_EQ(m.version, i < 2 ? i + 1 : 1);
  }
  EXPECT_EQ(store_->models().GetModel("mnist", 0)->version, 2);
  EXPECT_EQ(store_->models().GetModel("mnist", 1)->properties["accuracy"], "0.9");
  EXPECT_EQ(store_->models().GetModel("mnist", 7).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->models().GetModel("nope", 0).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->models().ListModels("")->size(), 3u);
  EXPECT_EQ(store_->models().ListModels("mnist")->size(), 2u);
  ModelRecord m = *store_->models().GetModel("mnist", 1);
  m.tags["stage"] = "prod";
  ASSERT_TRUE(store_->models().UpdateModel(m).ok());
  EXPECT_EQ(store_->models().GetModel("mnist", 1)->tags["stage"], "prod");
}

TEST_P(MetadataStoreConformanceTest, DatasetVersions) {
  DatasetRecord d;
  d.name = "mnist";
  d.tree_id = std::string(64, 'a');
  d.sources = Json::array({"http://x/a.gz"});
  ASSERT_TRUE(store_->datasets().CreateDataset(d).ok());
  EXPECT_EQ(d.version, 1);
  DatasetRecord explicit_version = d;
  explicit_version.version = 5;
  ASSERT_TRUE(store_->datasets().CreateDataset(explicit_version).ok());
  EXPECT_EQ(store_->datasets().CreateDataset(explicit_version).code(), StatusCode::kAlreadyExists);
  d.version = 0;
  ASSERT_TRUE(store_->datasets().CreateDataset(d).ok());
  EXPECT_EQ(d.version, 6);
  EXPECT_EQ(store_->datasets().GetDataset("mnist", 0)->version, 6);
  EXPECT_EQ(store_->datasets().GetDataset("mnist", 1)->sources[0], "http://x/a.gz");
  EXPECT_EQ(store_->datasets().GetDataset("mnist", 2).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->datasets().ListDatasets("")->size(), 3u);
}

TEST_P(MetadataStoreConformanceTest, EnvironmentVersions) {
  EnvironmentRecord e{"tf", 0, "", Json{{"pip", {"numpy"}}}, "h1", 1};
  ASSERT_TRUE(store_->environments().CreateEnvironment(e).ok());
  EXPECT_EQ(e.version, 1);
  e.hash = "h2";
  ASSERT_TRUE(store_->environments().CreateEnvironment(e).ok());
  EXPECT_EQ(e.version, 2);
  EXPECT_EQ(store_->environments().GetEnvironment("tf", 0)->hash, "h2");
  EXPECT_EQ(store_->environments().GetEnvironment("tf", 1)->spec["pip"][0], "numpy");
  EXPECT_EQ(store_->environments().GetEnvironment("tf", 3).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->environments().ListEnvironments()->size(), 2u);
}

TEST_P(MetadataStoreConformanceTest, ComputeTargets) {
  ComputeRecord c{"gpu-cluster", "amlcompute", "STANDARD_NC6", 0, 4, 120, 1};
  ASSERT_TRUE(store_->computes().CreateCompute(c).ok());
  EXPECT_EQ(store_->computes().CreateCompute(c).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->computes().GetCompute("gpu-cluster")->max_nodes, 4);
  EXPECT_EQ(store_->computes().ListComputes()->size(), 1u);
  ASSERT_TRUE(store_->computes().DeleteCompute("gpu-cluster").ok());
  EXPECT_EQ(store_->computes().DeleteCompute("gpu-cluster").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->computes().GetCompute("gpu-cluster").error().code(), StatusCode::kNotFound);
}

TEST_P(MetadataStoreConformanceTest, EndpointsAndDeployments) {
  EndpointRecord e;
  e.name = "mnist";
  e.primary_key = "p";
  e.secondary_key = "s";
  ASSERT_TRUE(store_->endpoints().CreateEndpoint(e).ok());
  EXPECT_EQ(store_->endpoints().CreateEndpoint(e).code(), StatusCode::kAlreadyExists);
  DeploymentRecord d;
  d.endpoint = "mnist";
  d.name = "blue";
  d.spec = {{"instance_count", 2}};
  ASSERT_TRUE(store_->endpoints().PutDeployment(d).ok());
  d.state = "Succeeded";
  d.generation = 2;
  ASSERT_TRUE(store_->endpoints().PutDeployment(d).ok());  // replaces
  auto got = store_->endpoints().GetDeployment("mnist", "blue");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, "Succeeded");
  EXPECT_EQ(got->generation, 2);
  EXPECT_EQ(got->spec["instance_count"], 2);
  // A state change for an older generation loses to the update.
  EXPECT_EQ(store_->endpoints().SetDeploymentState("mnist", "blue", 1, "Failed", "old", 5).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->endpoints().SetDeploymentState("mnist", "blue", 2, "Failed", "boom", 5).ok());
  EXPECT_EQ(store_->endpoints().GetDeployment("mnist", "blue")->error, "boom");
  d.endpoint = "nope";
  EXPECT_EQ(store_->endpoints().PutDeployment(d).code(), StatusCode::kFailedPrecondition);

  e.traffic = {{"blue", 100}};
  e.primary_key = "p2";
  ASSERT_TRUE(store_->endpoints().UpdateEndpoint(e).ok());
  EXPECT_EQ(store_->endpoints().GetEndpoint("mnist")->traffic["blue"], 100);
  EXPECT_EQ(store_->endpoints().GetEndpoint("mnist")->primary_key, "p2");
  EXPECT_EQ(store_->endpoints().ListDeployments("mnist")->size(), 1u);
  EXPECT_EQ(store_->endpoints().ListDeployments("")->size(), 1u);
  EXPECT_EQ(store_->endpoints().ListDeployments("other")->size(), 0u);

  // Deleting the endpoint takes its deployments with it.
  ASSERT_TRUE(store_->endpoints().DeleteEndpoint("mnist").ok());
  EXPECT_EQ(store_->endpoints().GetEndpoint("mnist").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->endpoints().ListDeployments("")->size(), 0u);
  EXPECT_EQ(store_->endpoints().DeleteEndpoint("mnist").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->endpoints().DeleteDeployment("mnist", "blue").code(), StatusCode::kNotFound);
}

TEST(SqliteMetadataStoreTest, DataSurvivesReopen) {
  auto dir = *MakeTempDir("gantry-store-reopen");
  std::string uri = "sqlite:" + (dir / "gantry.db").string();
  {
    auto store = *OpenMetadataStore({uri});
    RunRecord r;
    r.name = "kept";
    r.status = "Running";
    ASSERT_TRUE(store->runs().CreateRun(r).ok());
    ASSERT_TRUE(store->metrics().AppendMetrics("kept", {{"m", 1, "", -1, 1}}).ok());
    ASSERT_TRUE(store->logs().AppendLog("kept", "s", 0, "abc").has_value());
  }
  auto store = *OpenMetadataStore({uri});
  EXPECT_EQ(store->runs().GetRun("kept")->status, "Running");
  // The step counter continues where it was.
  ASSERT_TRUE(store->metrics().AppendMetrics("kept", {{"m", 2, "", -1, 2}}).ok());
  EXPECT_EQ((*store->metrics().GetMetrics("kept", "m"))[1].step, 1);
  EXPECT_EQ(*store->logs().ReadLog("kept", "s", 0, 10), "abc");
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    AllStores, MetadataStoreConformanceTest,
    ::testing::Values(
        StoreFactory{"SqliteFile",
                     [](const fs::path& d) { return "sqlite:" + (d / "gantry.db").string(); }},
        StoreFactory{"SqliteMemory", [](const fs::path&) { return std::string("sqlite::memory:"); }}),
    [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace gantry::store
