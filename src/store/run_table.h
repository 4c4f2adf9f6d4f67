// RunTable: the workspace's runs — one row per run with its mutable state (status, the runner's
// pid and process group, its last heartbeat, a batch system's job id) — and each run's status
// history. Part of a MetadataStore (MetadataStore::runs()).
//
// The table knows rows, not rules: which status may follow which is the job state machine's
// business (src/jobs), and callers serialize read-modify-write sequences per run.
// Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace gantry::store {

struct RunRecord {
  std::string name;  // unique in the workspace
  int64_t seq = 0;   // submission order, assigned by CreateRun
  std::string experiment_name;
  std::string display_name;
  std::string status;          // a RunStatus name
  std::string status_detail;   // e.g. "waiting for a free local slot"
  Json spec = Json::object();  // the job spec as submitted (JobSpec::ToJson)
  std::string snapshot_id;     // tree id of the code snapshot, "" when none
  std::string compute;
  Json tags = Json::object();                                            // string → string
  int64_t created_at = 0, started_at = 0, ended_at = 0, updated_at = 0;  // epoch ms, 0 = unset
  std::string error;  // human-readable failure reason, "" when none
  std::optional<int> exit_code;
  std::string token_hash;      // SHA-256 of the run-scoped token
  int64_t runner_pid = 0;      // the local runner's pid, 0 when none
  int64_t process_group = 0;   // the user command's process group, 0 when unknown
  int64_t last_heartbeat = 0;  // epoch ms of the runner's last contact
  std::string launch_id;       // a batch system's job id (Slurm), "" when none
  // Sweeps (issue 12): "command" for a run with a job of its own, "sweep" for a sweep's
  // parent, which has no runner and whose trials are its children.
  std::string kind = "command";
  std::string parent;                // the sweep a trial belongs to, "" for a top-level run
  Json properties = Json::object();  // string → string, set by the server (Azure ML's
                                     // run properties: a sweep's best_child_run_id, score…)
};

struct StatusEvent {
  std::string status;
  int64_t time = 0;
  std::string detail;
};

struct RunFilter {
  std::string experiment_name;        // "" = all
  std::vector<std::string> statuses;  // empty = all
  std::string compute;                // "" = all
  // nullopt = every run; "" = top-level runs only; a name = that sweep's trials.
  std::optional<std::string> parent;
  std::string kind;           // "" = all
  int limit = 0;              // 0 = no limit
  bool oldest_first = false;  // default newest first
};

class RunTable {
 public:
  virtual ~RunTable() = default;

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
};

}  // namespace gantry::store
