// MetadataStore: the workspace's metadata (runs, their status history, metrics, logs and
// artifact index). One interface, chosen by OpenMetadataStore(); SQLite is the embedded
// default and PostgreSQL the team-server option (to come).
//
// The store knows rows, not rules: which status may follow which is the job state machine's
// business (src/jobs), and callers serialize read-modify-write sequences per run.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

struct RunRecord {
  std::string name;             // unique in the workspace
  int64_t seq = 0;              // submission order, assigned by CreateRun
  std::string experiment_name;
  std::string display_name;
  std::string status;           // a RunStatus name
  std::string status_detail;    // e.g. "waiting for a free local slot"
  Json spec = Json::object();   // the job spec as submitted (JobSpec::ToJson)
  std::string snapshot_id;      // tree id of the code snapshot, "" when none
  std::string compute;
  Json tags = Json::object();   // string → string
  int64_t created_at = 0, started_at = 0, ended_at = 0, updated_at = 0;  // epoch ms, 0 = unset
  std::string error;            // human-readable failure reason, "" when none
  std::optional<int> exit_code;
  std::string token_hash;       // SHA-256 of the run-scoped token
  int64_t runner_pid = 0;       // the local runner's pid, 0 when none
  int64_t process_group = 0;    // the user command's process group, 0 when unknown
  int64_t last_heartbeat = 0;   // epoch ms of the runner's last contact
  std::string launch_id;        // a batch system's job id (Slurm), "" when none
};

struct StatusEvent {
  std::string status;
  int64_t time = 0;
  std::string detail;
};

struct MetricPoint {
  std::string key;
  double value = 0;        // numeric value (used when value_json is empty)
  std::string value_json;  // non-numeric values (strings, rows, tables) as JSON text
  int64_t step = -1;       // -1: the store assigns the series' next step
  int64_t timestamp = 0;   // epoch ms
  int32_t rank = -1;       // the distributed job's process that logged it; -1: none
};

struct ArtifactRecord {
  std::string path;  // relative, e.g. "outputs/model.pt"
  std::string blob;  // SHA-256 of the content
  int64_t size = 0;
  uint32_t mode = 0644;
};

struct ModelRecord {
  std::string name;
  int64_t version = 0;           // assigned by CreateModel: 1 + the highest so far
  std::string description;
  std::string tree_id;           // the model's files, a tree in the artifact store
  std::string framework;         // e.g. "PyTorch", "TensorFlow", "Custom"
  std::string framework_version;
  std::string type = "custom_model";
  Json tags = Json::object();        // mutable
  Json properties = Json::object();  // immutable once set (new keys may be added)
  Json resource_configuration = nullptr;  // {"cpu", "memory_in_gb", "gpu"} or null
  std::string run_name;          // lineage: the run that produced it, "" when uploaded
  Json datasets = Json::array(); // lineage: [{"name", "version"}]
  int64_t created_at = 0;
};

struct DatasetRecord {
  std::string name;
  int64_t version = 0;        // 0 in CreateDataset: assign 1 + the highest so far
  std::string description;
  std::string type = "uri_folder";  // uri_folder | uri_file
  std::string tree_id;        // the pinned content manifest
  Json sources = Json::array();  // what it was registered from: paths, globs, URLs
  Json tags = Json::object();
  int64_t created_at = 0;
};

struct ComputeRecord {
  std::string name;
  std::string type = "amlcompute";  // a local cluster of nodes of one shape
  std::string vm_size;
  int64_t min_nodes = 0;
  int64_t max_nodes = 1;
  int64_t idle_seconds_before_scaledown = 120;
  int64_t created_at = 0;
  // Type-specific settings; for "slurm": partition, account, qos, sbatch_args, cpus, gpus,
  // memory_gb, server_url, node_work_dir (see ComputeService).
  Json properties = Json::object();
};

struct EnvironmentRecord {
  std::string name;
  int64_t version = 0;   // assigned by CreateEnvironment
  std::string description;
  Json spec = Json::object();  // python / conda / pip / docker / environment_variables
  std::string hash;      // SHA-256 of the canonical spec: names its build
  int64_t created_at = 0;
};

// An online endpoint: a stable scoring URI with keys, routing to its deployments by weight.
struct EndpointRecord {
  std::string name;
  std::string description;
  std::string auth_mode = "key";      // "key" (Authorization: Bearer KEY) or "none"
  std::string primary_key;
  std::string secondary_key;
  Json traffic = Json::object();      // deployment name -> percent (0..100, summing to 100 or 0)
  Json tags = Json::object();
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A deployment of an endpoint: a model (and optional scoring code and environment) served by
// `instance_count` model-server replicas.
struct DeploymentRecord {
  std::string endpoint;
  std::string name;
  // {"model": {"name", "version", "tree_id", "framework"}, "backend", "code_tree",
  //  "scoring_script", "environment": {"name", "version", "hash", "spec"} | null,
  //  "instance_type", "instance_count", "request_settings": {...}, "environment_variables"}
  Json spec = Json::object();
  std::string state = "Creating";     // Creating, Updating, Succeeded, Failed, Deleting
  std::string error;                  // why it Failed
  int64_t generation = 1;             // bumped by every update of the spec
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

// A personal access token. Only the SHA-256 of the secret is stored; the secret is shown once.
struct AccessTokenRecord {
  std::string id;           // public id, e.g. "tk_3f9a1c2e": what `token list` and `revoke` name
  std::string name;         // the owner's label, e.g. "alice laptop"
  std::string role;         // "reader" | "contributor" | "owner"
  std::string hash;         // SHA-256 hex of the secret; unique
  std::string created_by;   // who created it (a principal description), "" for the server itself
  int64_t created_at = 0;
  int64_t expires_at = 0;   // epoch ms; 0 = never
  int64_t revoked_at = 0;   // epoch ms; 0 = not revoked
};

// One mutating REST call: who, what, when, and how it ended.
struct AuditRecord {
  int64_t id = 0;           // assigned by AppendAudit, increasing
  int64_t time = 0;         // epoch ms
  std::string principal;    // "token:tk_… (owner)", "run:NAME", "anonymous"
  std::string method;
  std::string path;
  int status = 0;           // the HTTP status answered
  std::string remote;       // the client's address
};

struct RunFilter {
  std::string experiment_name;        // "" = all
  std::vector<std::string> statuses;  // empty = all
  std::string compute;                // "" = all
  int limit = 0;                      // 0 = no limit
  bool oldest_first = false;          // default newest first
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Inserts a new run with one initial status event; fills run.seq.
  // AlreadyExists when the name is taken.
  virtual Status CreateRun(RunRecord& run) = 0;
  // NotFound naming the run.
  virtual Result<RunRecord> GetRun(const std::string& name) = 0;
  virtual Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) = 0;
  // Replaces the run's mutable fields and, when `event` is set, appends it to the status
  // history in the same transaction. NotFound when the run does not exist.
  virtual Status UpdateRun(const RunRecord& run, const std::optional<StatusEvent>& event) = 0;
  virtual Result<std::vector<StatusEvent>> GetStatusHistory(const std::string& run) = 0;

  // Appends points; a point with step -1 gets its series' next step. All or nothing.
  // `through` > 0 makes resends harmless: it is where this batch ends in the sender's
  // ordered record stream, and a batch whose `through` is not past the last applied one for
  // this run and `sender` is skipped (OK, nothing stored). `sender` tells apart the record
  // streams of several senders to one run (the nodes of a multi-node job, "node_1").
  virtual Status AppendMetrics(const std::string& run, const std::vector<MetricPoint>& points,
                               int64_t through = 0, const std::string& sender = "") = 0;
  // Every point of `run` (of `key` when not empty), ordered by key, then step, then logging
  // order.
  virtual Result<std::vector<MetricPoint>> GetMetrics(const std::string& run,
                                                      const std::string& key = "") = 0;
  // The most recently logged point of each series, by key.
  virtual Result<std::vector<MetricPoint>> LatestMetrics(const std::string& run) = 0;

  // Appends `data` at byte `offset` of the log `stream`. Idempotent for resends: bytes
  // before the stream's current length are skipped. FailedPrecondition when `offset` is past
  // the end (a gap). Returns the stream's new length.
  virtual Result<int64_t> AppendLog(const std::string& run, const std::string& stream,
                                    int64_t offset, std::string_view data) = 0;
  // Up to `max_bytes` from `offset`; "" at the end.
  virtual Result<std::string> ReadLog(const std::string& run, const std::string& stream,
                                      int64_t offset, int64_t max_bytes) = 0;
  // (stream, length) pairs, by stream name.
  virtual Result<std::vector<std::pair<std::string, int64_t>>> ListLogs(
      const std::string& run) = 0;

  // Inserts a new version of model.name, assigning model.version in the same transaction.
  virtual Status CreateModel(ModelRecord& model) = 0;
  // `version` 0 means the latest. NotFound naming the model (and version).
  virtual Result<ModelRecord> GetModel(const std::string& name, int64_t version) = 0;
  // All versions (of `name` when not empty), by name then version.
  virtual Result<std::vector<ModelRecord>> ListModels(const std::string& name) = 0;
  // Replaces tags and properties of one version. NotFound when it does not exist.
  virtual Status UpdateModel(const ModelRecord& model) = 0;

  // Inserts a dataset version (assigning it when 0). AlreadyExists when that version exists.
  virtual Status CreateDataset(DatasetRecord& dataset) = 0;
  // `version` 0 means the latest. NotFound naming the dataset (and version).
  virtual Result<DatasetRecord> GetDataset(const std::string& name, int64_t version) = 0;
  // All versions (of `name` when not empty), by name then version.
  virtual Result<std::vector<DatasetRecord>> ListDatasets(const std::string& name) = 0;

  // Environments. CreateEnvironment assigns the next version of the name.
  virtual Status CreateEnvironment(EnvironmentRecord& environment) = 0;
  // `version` 0 = latest. NotFound naming it.
  virtual Result<EnvironmentRecord> GetEnvironment(const std::string& name, int64_t version) = 0;
  virtual Result<std::vector<EnvironmentRecord>> ListEnvironments() = 0;

  // Compute targets. CreateCompute: AlreadyExists when the name is taken.
  virtual Status CreateCompute(const ComputeRecord& compute) = 0;
  virtual Result<ComputeRecord> GetCompute(const std::string& name) = 0;
  virtual Result<std::vector<ComputeRecord>> ListComputes() = 0;
  // NotFound when it does not exist.
  virtual Status DeleteCompute(const std::string& name) = 0;

  // Endpoints. CreateEndpoint: AlreadyExists when the name is taken.
  virtual Status CreateEndpoint(const EndpointRecord& endpoint) = 0;
  virtual Result<EndpointRecord> GetEndpoint(const std::string& name) = 0;
  virtual Result<std::vector<EndpointRecord>> ListEndpoints() = 0;
  // Replaces every field but name and created_at. NotFound when it does not exist.
  virtual Status UpdateEndpoint(const EndpointRecord& endpoint) = 0;
  // Deletes the endpoint and its deployments. NotFound when it does not exist.
  virtual Status DeleteEndpoint(const std::string& name) = 0;

  // Deployments. PutDeployment inserts or replaces (endpoint, name); FailedPrecondition
  // when the endpoint does not exist.
  virtual Status PutDeployment(const DeploymentRecord& deployment) = 0;
  virtual Result<DeploymentRecord> GetDeployment(const std::string& endpoint,
                                                 const std::string& name) = 0;
  // Of one endpoint, or of all when `endpoint` is empty; by endpoint then name.
  virtual Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& endpoint) = 0;
  // Sets state and error of the deployment only while it is at `generation` (a newer update
  // wins). FailedPrecondition when it is not (or is gone).
  virtual Status SetDeploymentState(const std::string& endpoint, const std::string& name,
                                    int64_t generation, const std::string& state,
                                    const std::string& error, int64_t updated_at) = 0;
  // NotFound when it does not exist.
  virtual Status DeleteDeployment(const std::string& endpoint, const std::string& name) = 0;

  // Access tokens. CreateAccessToken: AlreadyExists when the id or hash is taken.
  virtual Status CreateAccessToken(const AccessTokenRecord& token) = 0;
  // Every token, revoked and expired ones included, oldest first.
  virtual Result<std::vector<AccessTokenRecord>> ListAccessTokens() = 0;
  // Sets revoked_at of a token not yet revoked. NotFound when there is no token `id`.
  virtual Status RevokeAccessToken(const std::string& id, int64_t revoked_at) = 0;

  // The audit log of mutating calls. AppendAudit assigns record.id.
  virtual Status AppendAudit(AuditRecord& record) = 0;
  // Up to `limit` records with id > `after_id`, oldest first.
  virtual Result<std::vector<AuditRecord>> ListAudit(int64_t after_id, int limit) = 0;

  // Inserts or replaces artifact entries of a run, all in one transaction.
  virtual Status PutArtifacts(const std::string& run,
                              const std::vector<ArtifactRecord>& artifacts) = 0;
  // Artifacts whose path starts with `prefix`, by path.
  virtual Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& run,
                                                            const std::string& prefix = "") = 0;
};

struct MetadataStoreOptions {
  // "sqlite:PATH" (PATH ":memory:" for a private in-memory database) or a path to a
  // SQLite file. "postgresql://..." is reserved for the PostgreSQL store.
  std::string uri;
};

// The one factory: picks the implementation from the URI and runs schema migrations.
Result<std::unique_ptr<MetadataStore>> OpenMetadataStore(const MetadataStoreOptions& options);

}  // namespace gantry::store
