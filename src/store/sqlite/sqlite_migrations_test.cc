#include "store/sqlite/sqlite_migrations.h"

#include <gtest/gtest.h>

#include "common/files.h"
#include "store/metadata_store.h"

namespace gantry::store {
namespace {

int64_t VersionOf(SqliteDb::Locked& db) {
  auto s = db.PrepareOnce("SELECT version FROM schema_version");
  EXPECT_TRUE(s.has_value());
  auto row = (*s)->Step();
  EXPECT_TRUE(row.has_value() && *row);
  return (*s)->Int(0);
}

TEST(SqliteMigrationsTest, AFreshDatabaseReachesTheLatestVersionOnce) {
  auto db = SqliteDb::Open(":memory:");
  ASSERT_TRUE(db.has_value()) << db.error().ToString();
  SqliteDb::Locked locked = (*db)->Lock();
  ASSERT_TRUE(MigrateSqliteSchema(locked).ok());
  EXPECT_EQ(VersionOf(locked), SqliteSchemaVersion());
  // Migrating again finds nothing to do (re-running a CREATE TABLE would fail).
  ASSERT_TRUE(MigrateSqliteSchema(locked).ok());
  EXPECT_EQ(VersionOf(locked), SqliteSchemaVersion());
}

TEST(SqliteMigrationsTest, ADatabaseFromANewerGantryIsRefused) {
  auto dir = *MakeTempDir("gantry-store-migrations");
  std::string path = (dir / "gantry.db").string();
  {
    auto db = SqliteDb::Open(path);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    SqliteDb::Locked locked = (*db)->Lock();
    ASSERT_TRUE(MigrateSqliteSchema(locked).ok());
    std::string newer =
        "UPDATE schema_version SET version = " + std::to_string(SqliteSchemaVersion() + 1);
    ASSERT_TRUE(locked.Exec(newer.c_str()).ok());
  }
  auto store = OpenMetadataStore({"sqlite:" + path});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code(), StatusCode::kFailedPrecondition);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gantry::store
