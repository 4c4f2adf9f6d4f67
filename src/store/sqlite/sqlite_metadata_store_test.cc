// What the SQLite store promises beyond the conformance suites: its file outlives the process.
#include "store/sqlite/sqlite_metadata_store.h"

#include <gtest/gtest.h>

#include "common/files.h"

namespace gantry::store {
namespace {

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

}  // namespace
}  // namespace gantry::store
