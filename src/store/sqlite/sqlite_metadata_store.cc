#include "store/sqlite/sqlite_metadata_store.h"

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_migrations.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  {
    SqliteDb::Locked locked = db->Lock();
    RETURN_IF_ERROR(MigrateSqliteSchema(locked));
  }
  return std::unique_ptr<SqliteMetadataStore>(new SqliteMetadataStore(std::move(db)));
}

SqliteMetadataStore::SqliteMetadataStore(std::unique_ptr<SqliteDb> db)
    : db_(std::move(db)),
      runs_(NewSqliteRunTable(db_.get())),
      metrics_(NewSqliteMetricTable(db_.get())),
      logs_(NewSqliteLogTable(db_.get())),
      artifacts_(NewSqliteArtifactTable(db_.get())),
      models_(NewSqliteModelTable(db_.get())),
      datasets_(NewSqliteDatasetTable(db_.get())),
      environments_(NewSqliteEnvironmentTable(db_.get())),
      computes_(NewSqliteComputeTable(db_.get())),
      endpoints_(NewSqliteEndpointTable(db_.get())),
      access_tokens_(NewSqliteAccessTokenTable(db_.get())),
      audit_(NewSqliteAuditTable(db_.get())) {}

// Out of line: SqliteDb is complete here.
SqliteMetadataStore::~SqliteMetadataStore() = default;

}  // namespace gantry::store
