// The RunTable conformance suite: what every MetadataStore's runs() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class RunTableConformanceTest : public StoreConformanceTest {
 protected:
  RunTable& runs() { return store_->runs(); }
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
};

TEST_P(RunTableConformanceTest, RunsKeepSubmissionOrderAndRejectDuplicates) {
  for (auto name : {"a", "b", "c"}) {
    RunRecord r = NewRun(name);
    ASSERT_TRUE(runs().CreateRun(r).ok());
  }
  RunRecord dup = NewRun("b");
  EXPECT_EQ(runs().CreateRun(dup).code(), StatusCode::kAlreadyExists);
  auto oldest = runs().ListRuns({.oldest_first = true});
  ASSERT_TRUE(oldest.has_value());
  ASSERT_EQ(oldest->size(), 3u);
  EXPECT_EQ((*oldest)[0].name, "a");
  EXPECT_LT((*oldest)[0].seq, (*oldest)[2].seq);
  auto newest = runs().ListRuns({.limit = 1});
  EXPECT_EQ((*newest)[0].name, "c");
  EXPECT_EQ(runs().GetRun("zzz").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(runs().GetRun("a")->spec["command"], "echo hi");
}

TEST_P(RunTableConformanceTest, UpdateRecordsStatusHistory) {
  RunRecord r = NewRun("r1");
  ASSERT_TRUE(runs().CreateRun(r).ok());
  r.status = "Running";
  r.exit_code = 0;
  r.tags = Json{{"k", "v"}};
  r.token_hash = "abc";
  r.runner_pid = 77;
  ASSERT_TRUE(runs().UpdateRun(r, StatusEvent{"Running", 2000, "pid 5"}).ok());
  auto got = runs().GetRun("r1");
  EXPECT_EQ(got->status, "Running");
  EXPECT_EQ(got->exit_code, 0);
  EXPECT_EQ(got->tags["k"], "v");
  EXPECT_EQ(got->token_hash, "abc");
  EXPECT_EQ(got->runner_pid, 77);
  auto history = runs().GetStatusHistory("r1");
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].status, "Queued");
  EXPECT_EQ((*history)[1].status, "Running");
  EXPECT_EQ((*history)[1].time, 2000);
  auto filtered = runs().ListRuns({.statuses = {"Running"}});
  EXPECT_EQ(filtered->size(), 1u);
  RunRecord ghost = NewRun("ghost");
  EXPECT_EQ(runs().UpdateRun(ghost, std::nullopt).code(), StatusCode::kNotFound);
}

TEST_P(RunTableConformanceTest, SweepTrialsListUnderTheirParent) {
  RunRecord sweep = NewRun("sw");
  sweep.kind = "sweep";
  sweep.properties = Json{{"space_size", "4"}};
  ASSERT_TRUE(runs().CreateRun(sweep).ok());
  for (auto name : {"sw_0", "sw_1"}) {
    RunRecord t = NewRun(name);
    t.parent = "sw";
    ASSERT_TRUE(runs().CreateRun(t).ok());
  }
  RunRecord other = NewRun("solo");
  ASSERT_TRUE(runs().CreateRun(other).ok());
  auto trials = runs().ListRuns({.parent = "sw", .oldest_first = true});
  ASSERT_TRUE(trials.has_value());
  ASSERT_EQ(trials->size(), 2u);
  EXPECT_EQ((*trials)[0].name, "sw_0");
  EXPECT_EQ((*trials)[0].parent, "sw");
  auto top = runs().ListRuns({.parent = "", .oldest_first = true});
  ASSERT_EQ(top->size(), 2u);
  EXPECT_EQ((*top)[0].name, "sw");
  EXPECT_EQ((*top)[0].kind, "sweep");
  EXPECT_EQ(runs().ListRuns({})->size(), 4u);
  EXPECT_EQ(runs().ListRuns({.kind = "sweep"})->size(), 1u);
  RunRecord got = *runs().GetRun("sw");
  EXPECT_EQ(got.properties["space_size"], "4");
  got.properties["best_child_run_id"] = "sw_1";
  ASSERT_TRUE(runs().UpdateRun(got, std::nullopt).ok());
  EXPECT_EQ(runs().GetRun("sw")->properties["best_child_run_id"], "sw_1");
}

INSTANTIATE_TEST_SUITE_P(AllStores, RunTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
