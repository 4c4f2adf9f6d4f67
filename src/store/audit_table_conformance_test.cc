// The AuditTable conformance suite: what every MetadataStore's audit() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class AuditTableConformanceTest : public StoreConformanceTest {
 protected:
  AuditTable& audit() { return store_->audit(); }
};

TEST_P(AuditTableConformanceTest, RecordsGetIncreasingIdsAndPageOldestFirst) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    AuditRecord r{0,   100 + i,    "token:tk_1 (owner)", "POST", "/runs/" + std::to_string(i),
                  201, "127.0.0.1"};
    ASSERT_TRUE(audit().AppendAudit(r).ok());
    ids.push_back(r.id);
  }
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
  auto all = audit().ListAudit(0, 10);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, ids[0]);
  EXPECT_EQ((*all)[0].time, 100);
  EXPECT_EQ((*all)[0].principal, "token:tk_1 (owner)");
  EXPECT_EQ((*all)[0].method, "POST");
  EXPECT_EQ((*all)[0].path, "/runs/0");
  EXPECT_EQ((*all)[0].status, 201);
  EXPECT_EQ((*all)[0].remote, "127.0.0.1");
  auto page = audit().ListAudit(ids[0], 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].path, "/runs/1");
  EXPECT_EQ(audit().ListAudit(ids[2], 10)->size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllStores, AuditTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
