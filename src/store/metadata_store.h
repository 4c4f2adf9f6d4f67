// MetadataStore: the workspace's metadata, one table interface per entity — runs and their
// status history, metrics, logs, the artifact index, models, datasets, environments, compute
// targets, endpoints and their deployments, access tokens, the audit log (X_table.h, each with
// its records). One store, chosen by OpenMetadataStore(); SQLite is the embedded default and
// PostgreSQL the team-server option (to come).
//
// The tables know rows, not rules: which status may follow which is the job state machine's
// business (src/jobs), and callers serialize read-modify-write sequences per run.
// Implementations are thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/files.h"
#include "common/status.h"
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

// For now the store is every table at once; MetadataStore will hand them out one by one.
class MetadataStore : public RunTable,
                      public MetricTable,
                      public LogTable,
                      public ArtifactTable,
                      public ModelTable,
                      public DatasetTable,
                      public EnvironmentTable,
                      public ComputeTable,
                      public EndpointTable,
                      public AccessTokenTable,
                      public AuditTable {
 public:
  ~MetadataStore() override = default;
};

struct MetadataStoreOptions {
  // "sqlite:PATH" (PATH ":memory:" for a private in-memory database) or a path to a
  // SQLite file. "postgresql://..." is reserved for the PostgreSQL store.
  std::string uri;
};

// The one factory: picks the implementation from the URI and runs schema migrations.
Result<std::unique_ptr<MetadataStore>> OpenMetadataStore(const MetadataStoreOptions& options);

}  // namespace gantry::store
