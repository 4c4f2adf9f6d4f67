// SqliteMetadataStore: the embedded default MetadataStore, one SQLite file in WAL mode. It owns
// the connection (SqliteDb) and one table per entity over it (sqlite_tables.h); the schema is
// sqlite_migrations'. Thread-safe: one connection guarded by a mutex; SQLite's WAL keeps
// readers in other processes (backups, sqlite3 shell) unblocked. Committed rows survive a
// kill -9 of the process (WAL with synchronous=NORMAL loses nothing on a process crash).
#pragma once

#include <memory>
#include <string>

#include "store/metadata_store.h"

namespace gantry::store {

class SqliteDb;

class SqliteMetadataStore : public MetadataStore {
 public:
  // Opens or creates the database at `path` (":memory:" for a private one) and migrates it.
  // Unavailable when it cannot be opened; FailedPrecondition when its schema is newer than
  // this build's.
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(const std::string& path);
  ~SqliteMetadataStore() override;

  RunTable& runs() override { return *runs_; }
  MetricTable& metrics() override { return *metrics_; }
  LogTable& logs() override { return *logs_; }
  ArtifactTable& artifacts() override { return *artifacts_; }
  ModelTable& models() override { return *models_; }
  DatasetTable& datasets() override { return *datasets_; }
  EnvironmentTable& environments() override { return *environments_; }
  ComputeTable& computes() override { return *computes_; }
  EndpointTable& endpoints() override { return *endpoints_; }
  AccessTokenTable& access_tokens() override { return *access_tokens_; }
  AuditTable& audit() override { return *audit_; }

 private:
  explicit SqliteMetadataStore(std::unique_ptr<SqliteDb> db);

  // Declared first so that it is destroyed last: every table holds a pointer to it.
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<RunTable> runs_;
  std::unique_ptr<MetricTable> metrics_;
  std::unique_ptr<LogTable> logs_;
  std::unique_ptr<ArtifactTable> artifacts_;
  std::unique_ptr<ModelTable> models_;
  std::unique_ptr<DatasetTable> datasets_;
  std::unique_ptr<EnvironmentTable> environments_;
  std::unique_ptr<ComputeTable> computes_;
  std::unique_ptr<EndpointTable> endpoints_;
  std::unique_ptr<AccessTokenTable> access_tokens_;
  std::unique_ptr<AuditTable> audit_;
};

}  // namespace gantry::store
