// SqliteMetadataStore: the embedded default MetadataStore, one SQLite file in WAL mode, over
// the narrow SqliteDb client; the schema is sqlite_migrations'. Thread-safe: one connection
// guarded by a mutex; SQLite's WAL keeps readers in other processes (backups, sqlite3 shell)
// unblocked. Committed rows survive a kill -9 of the process (WAL with synchronous=NORMAL
// loses nothing on a process crash).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "store/metadata_store.h"

namespace gantry::store {

class SqliteDb;

class SqliteMetadataStore : public MetadataStore {
 public:
  // Opens or creates the database at `path` (":memory:" for a private one) and migrates it.
  static Result<std::unique_ptr<SqliteMetadataStore>> Open(const std::string& path);
  ~SqliteMetadataStore() override;

  Status CreateRun(RunRecord& run) override;
  Result<RunRecord> GetRun(const std::string& name) override;
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) override;
  Status UpdateRun(const RunRecord& run, const std::optional<StatusEvent>& event) override;
  Result<std::vector<StatusEvent>> GetStatusHistory(const std::string& run) override;
  Status AppendMetrics(const std::string& run, const std::vector<MetricPoint>& points,
                       int64_t through, const std::string& sender) override;
  Result<std::vector<MetricPoint>> GetMetrics(const std::string& run,
                                              const std::string& key) override;
  Result<std::vector<MetricPoint>> LatestMetrics(const std::string& run) override;
  Result<int64_t> AppendLog(const std::string& run, const std::string& stream, int64_t offset,
                            std::string_view data) override;
  Result<std::string> ReadLog(const std::string& run, const std::string& stream, int64_t offset,
                              int64_t max_bytes) override;
  Result<std::vector<std::pair<std::string, int64_t>>> ListLogs(const std::string& run) override;
  Status CreateModel(ModelRecord& model) override;
  Result<ModelRecord> GetModel(const std::string& name, int64_t version) override;
  Result<std::vector<ModelRecord>> ListModels(const std::string& name) override;
  Status UpdateModel(const ModelRecord& model) override;
  Status CreateDataset(DatasetRecord& dataset) override;
  Result<DatasetRecord> GetDataset(const std::string& name, int64_t version) override;
  Result<std::vector<DatasetRecord>> ListDatasets(const std::string& name) override;
  Status CreateEnvironment(EnvironmentRecord& environment) override;
  Result<EnvironmentRecord> GetEnvironment(const std::string& name, int64_t version) override;
  Result<std::vector<EnvironmentRecord>> ListEnvironments() override;
  Status CreateCompute(const ComputeRecord& compute) override;
  Result<ComputeRecord> GetCompute(const std::string& name) override;
  Result<std::vector<ComputeRecord>> ListComputes() override;
  Status DeleteCompute(const std::string& name) override;
  Status CreateEndpoint(const EndpointRecord& endpoint) override;
  Result<EndpointRecord> GetEndpoint(const std::string& name) override;
  Result<std::vector<EndpointRecord>> ListEndpoints() override;
  Status UpdateEndpoint(const EndpointRecord& endpoint) override;
  Status DeleteEndpoint(const std::string& name) override;
  Status PutDeployment(const DeploymentRecord& deployment) override;
  Result<DeploymentRecord> GetDeployment(const std::string& endpoint,
                                         const std::string& name) override;
  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& endpoint) override;
  Status SetDeploymentState(const std::string& endpoint, const std::string& name,
                            int64_t generation, const std::string& state,
                            const std::string& error, int64_t updated_at) override;
  Status DeleteDeployment(const std::string& endpoint, const std::string& name) override;
  Status PutArtifacts(const std::string& run,
                      const std::vector<ArtifactRecord>& artifacts) override;
  Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& run,
                                                    const std::string& prefix) override;
  Status CreateAccessToken(const AccessTokenRecord& token) override;
  Result<std::vector<AccessTokenRecord>> ListAccessTokens() override;
  Status RevokeAccessToken(const std::string& id, int64_t revoked_at) override;
  Status AppendAudit(AuditRecord& record) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t after_id, int limit) override;

 private:
  explicit SqliteMetadataStore(std::unique_ptr<SqliteDb> db);

  std::unique_ptr<SqliteDb> db_;
  // (run, key) → (series id, next step); a cache of the metric_series table, guarded by the
  // connection's lock (it must agree with what the transactions committed).
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> series_;
};

}  // namespace gantry::store
