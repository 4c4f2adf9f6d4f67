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

INSTANTIATE_TEST_SUITE_P(AllStores, RunTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
