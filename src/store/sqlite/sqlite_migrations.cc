#include "store/sqlite/sqlite_migrations.h"

#include <array>
#include <string>

namespace gantry::store {
namespace {

// Each entry migrates the schema from version i to i+1. Append only; never edit a
// released entry.
constexpr std::array<const char*, 9> kMigrations = {
    R"sql(
CREATE TABLE runs (
  name TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  experiment TEXT NOT NULL,
  display_name TEXT NOT NULL,
  status TEXT NOT NULL,
  status_detail TEXT NOT NULL DEFAULT '',
  spec TEXT NOT NULL,
  snapshot TEXT NOT NULL,
  compute TEXT NOT NULL,
  tags TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  error TEXT NOT NULL,
  exit_code INTEGER,
  token_hash TEXT NOT NULL,
  runner_pid INTEGER NOT NULL,
  process_group INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL
);
CREATE INDEX runs_by_experiment ON runs(experiment, seq);
CREATE INDEX runs_by_status ON runs(status, seq);
CREATE TABLE run_status_events (
  id INTEGER PRIMARY KEY,
  run TEXT NOT NULL,
  status TEXT NOT NULL,
  time INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX status_events_by_run ON run_status_events(run, id);
CREATE TABLE metric_series (
  id INTEGER PRIMARY KEY,
  run TEXT NOT NULL,
  key TEXT NOT NULL,
  next_step INTEGER NOT NULL,
  UNIQUE(run, key)
);
CREATE TABLE metric_blocks (
  id INTEGER PRIMARY KEY,
  series INTEGER NOT NULL,
  first_step INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX metric_blocks_by_series ON metric_blocks(series, id);
CREATE TABLE metric_cursors (
  run TEXT PRIMARY KEY,
  through INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE log_chunks (
  run TEXT NOT NULL,
  stream TEXT NOT NULL,
  offset INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (run, stream, offset)
) WITHOUT ROWID;
CREATE TABLE run_artifacts (
  run TEXT NOT NULL,
  path TEXT NOT NULL,
  blob TEXT NOT NULL,
  size INTEGER NOT NULL,
  mode INTEGER NOT NULL,
  PRIMARY KEY (run, path)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE models (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  tree TEXT NOT NULL,
  framework TEXT NOT NULL,
  framework_version TEXT NOT NULL,
  type TEXT NOT NULL,
  tags TEXT NOT NULL,
  properties TEXT NOT NULL,
  resource_configuration TEXT NOT NULL,
  run TEXT NOT NULL,
  datasets TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE datasets (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  type TEXT NOT NULL,
  tree TEXT NOT NULL,
  sources TEXT NOT NULL,
  tags TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE computes (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  vm_size TEXT NOT NULL,
  min_nodes INTEGER NOT NULL,
  max_nodes INTEGER NOT NULL,
  idle_seconds INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE environments (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  spec TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
)sql",
    R"sql(
CREATE TABLE endpoints (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL,
  auth_mode TEXT NOT NULL,
  primary_key TEXT NOT NULL,
  secondary_key TEXT NOT NULL,
  traffic TEXT NOT NULL,
  tags TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE deployments (
  endpoint TEXT NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  state TEXT NOT NULL,
  error TEXT NOT NULL,
  generation INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (endpoint, name)
) WITHOUT ROWID;
)sql",
    // The Slurm backend: a run's Slurm job id, a target's type-specific settings.
    R"sql(
ALTER TABLE runs ADD COLUMN launch_id TEXT NOT NULL DEFAULT '';
ALTER TABLE computes ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
)sql",
    // Credentials: personal access tokens (hashes only) and the audit log.
    R"sql(
CREATE TABLE access_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  principal TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  status INTEGER NOT NULL,
  remote TEXT NOT NULL
);
)sql",
    // Sweeps: a run's kind, its parent sweep and its server-set properties.
    R"sql(
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'command';
ALTER TABLE runs ADD COLUMN parent TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
CREATE INDEX runs_by_parent ON runs (parent, seq);
)sql",
};

}  // namespace

int SqliteSchemaVersion() { return static_cast<int>(kMigrations.size()); }

Status MigrateSqliteSchema(SqliteDb::Locked& db) {
  RETURN_IF_ERROR(db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(SqliteStatement * get, db.Prepare("SELECT version FROM schema_version"));
  int64_t version = 0;
  ASSIGN_OR_RETURN(bool has_row, get->Step());
  if (has_row) version = get->Int(0);
  get->Reset();
  if (version > static_cast<int64_t>(kMigrations.size())) {
    return FailedPreconditionError(
        "the metadata database has schema version " + std::to_string(version) +
        ", newer than this gantry understands (" + std::to_string(kMigrations.size()) + ")");
  }
  for (size_t v = static_cast<size_t>(version); v < kMigrations.size(); ++v) {
    SqliteTransaction tx(db);
    RETURN_IF_ERROR(db.Exec(kMigrations[v]));
    RETURN_IF_ERROR(db.Exec("DELETE FROM schema_version"));
    std::string set = "INSERT INTO schema_version VALUES (" + std::to_string(v + 1) + ")";
    RETURN_IF_ERROR(db.Exec(set.c_str()));
    RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

}  // namespace gantry::store
