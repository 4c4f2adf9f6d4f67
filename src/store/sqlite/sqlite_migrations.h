// The SQLite store's schema: every table of every SqliteXTable, created and altered by a list
// of numbered migrations that only grows. The database records the version it is at in
// schema_version; opening runs the migrations it lacks, each in its own transaction.
//
// Not thread-safe on its own: it runs under the SqliteDb::Locked it is given.
#pragma once

#include "common/status.h"
#include "store/sqlite/sqlite_db.h"

namespace gantry::store {

// The schema version this build migrates to.
int SqliteSchemaVersion();

// Brings the database up to SqliteSchemaVersion(). FailedPrecondition when the database is at
// a newer version than this build understands (it was written by a later gantry); Internal
// when a migration fails (that migration is rolled back).
Status MigrateSqliteSchema(SqliteDb::Locked& db);

}  // namespace gantry::store
