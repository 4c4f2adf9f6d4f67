// MetadataStore: the workspace's metadata, one table interface per entity — runs and their
// status history, metrics, logs, the artifact index, models, datasets, environments, compute
// targets, endpoints and their deployments, access tokens, the audit log. The store hands out
// its tables (`store.runs().CreateRun(...)`) and owns what they share (for SQLite, the one
// connection); it is chosen by OpenMetadataStore(). SQLite is the embedded default and
// PostgreSQL the team-server option (to come): a new backend implements the table interfaces
// one at a time, each checked by that table's conformance suite (X_table_conformance_test.cc).
//
// The tables know rows, not rules: which status may follow which is the job state machine's
// business (src/jobs), and callers serialize read-modify-write sequences per run. No
// operation spans two tables. Implementations are thread-safe, and the tables they hand out
// live as long as the store.
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

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  virtual RunTable& runs() = 0;
  virtual MetricTable& metrics() = 0;
  virtual LogTable& logs() = 0;
  virtual ArtifactTable& artifacts() = 0;
  virtual ModelTable& models() = 0;
  virtual DatasetTable& datasets() = 0;
  virtual EnvironmentTable& environments() = 0;
  virtual ComputeTable& computes() = 0;
  virtual EndpointTable& endpoints() = 0;
  virtual AccessTokenTable& access_tokens() = 0;
  virtual AuditTable& audit() = 0;
};

struct MetadataStoreOptions {
  // "sqlite:PATH" (PATH ":memory:" for a private in-memory database) or a path to a
  // SQLite file. "postgresql://..." is reserved for the PostgreSQL store.
  std::string uri;
};

// The one factory: picks the implementation from the URI and runs schema migrations.
Result<std::unique_ptr<MetadataStore>> OpenMetadataStore(const MetadataStoreOptions& options);

}  // namespace gantry::store
