// The tables of the SQLite store, one per entity, each written against the narrow SqliteDb
// client and defined in its own sqlite_X_table.cc. SqliteMetadataStore makes one of each over
// its connection; nothing else needs their classes, so only the factories are declared here.
//
// Each table is thread-safe: its methods take the connection's lock. `db` must outlive it.
#pragma once

#include <memory>

#include "store/access_token_table.h"
#include "store/artifact_table.h"
#include "store/audit_table.h"
#include "store/compute_table.h"
#include "store/dataset_table.h"
#include "store/endpoint_table.h"
#include "store/environment_table.h"
#include "store/log_table.h"
#include "store/metric_table.h"
#include "store/model_table.h"
#include "store/run_table.h"

namespace gantry::store {

class SqliteDb;

std::unique_ptr<RunTable> NewSqliteRunTable(SqliteDb* db);
std::unique_ptr<MetricTable> NewSqliteMetricTable(SqliteDb* db);
std::unique_ptr<LogTable> NewSqliteLogTable(SqliteDb* db);
std::unique_ptr<ArtifactTable> NewSqliteArtifactTable(SqliteDb* db);
std::unique_ptr<ModelTable> NewSqliteModelTable(SqliteDb* db);
std::unique_ptr<DatasetTable> NewSqliteDatasetTable(SqliteDb* db);
std::unique_ptr<EnvironmentTable> NewSqliteEnvironmentTable(SqliteDb* db);
std::unique_ptr<ComputeTable> NewSqliteComputeTable(SqliteDb* db);
std::unique_ptr<EndpointTable> NewSqliteEndpointTable(SqliteDb* db);
std::unique_ptr<AccessTokenTable> NewSqliteAccessTokenTable(SqliteDb* db);
std::unique_ptr<AuditTable> NewSqliteAuditTable(SqliteDb* db);

}  // namespace gantry::store
