// SqliteRunTable: the RunTable of the SQLite store, over the runs and run_status_events
// tables. Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

constexpr const char* kRunColumns =
    "name, seq, experiment, display_name, status, status_detail, spec, snapshot, compute, "
    "tags, created_at, started_at, ended_at, updated_at, error, exit_code, token_hash, "
    "runner_pid, process_group, last_heartbeat, launch_id, kind, parent, properties";

RunRecord ReadRun(SqliteStatement& s) {
  RunRecord r;
  r.name = s.Text(0);
  r.seq = s.Int(1);
  r.experiment_name = s.Text(2);
  r.display_name = s.Text(3);
  r.status = s.Text(4);
  r.status_detail = s.Text(5);
  r.spec = Json::parse(s.Text(6), nullptr, false);
  r.snapshot_id = s.Text(7);
  r.compute = s.Text(8);
  r.tags = Json::parse(s.Text(9), nullptr, false);
  r.created_at = s.Int(10);
  r.started_at = s.Int(11);
  r.ended_at = s.Int(12);
  r.updated_at = s.Int(13);
  r.error = s.Text(14);
  if (!s.IsNull(15)) r.exit_code = static_cast<int>(s.Int(15));
  r.token_hash = s.Text(16);
  r.runner_pid = s.Int(17);
  r.process_group = s.Int(18);
  r.last_heartbeat = s.Int(19);
  r.launch_id = s.Text(20);
  r.kind = s.Text(21);
  r.parent = s.Text(22);
  r.properties = Json::parse(s.Text(23), nullptr, false);
  if (!r.properties.is_object()) r.properties = Json::object();
  return r;
}

Result<bool> RunExists(SqliteDb::Locked& db, const std::string& name) {
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare("SELECT 1 FROM runs WHERE name = ?"));
  s->Bind(1, name);
  auto r = s->Step();
  s->Reset();
  return r;
}

class SqliteRunTable final : public RunTable {
 public:
  explicit SqliteRunTable(SqliteDb* db) : db_(db) {}

  Status CreateRun(RunRecord& run) override;
  Result<RunRecord> GetRun(const std::string& name) override;
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter) override;
  Status UpdateRun(const RunRecord& run, const std::optional<StatusEvent>& event) override;
  Result<std::vector<StatusEvent>> GetStatusHistory(const std::string& run) override;

 private:
  SqliteDb* db_;
};

Status SqliteRunTable::CreateRun(RunRecord& run) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(bool exists, RunExists(db, run.name));
  if (exists) return AlreadyExistsError("a run named '" + run.name + "' already exists");
  ASSIGN_OR_RETURN(SqliteStatement * next,
                   db.Prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs"));
  ASSIGN_OR_RETURN(bool has_row, next->Step());
  run.seq = has_row ? next->Int(0) : 1;
  next->Reset();
  static const std::string kInsert = std::string("INSERT INTO runs (") + kRunColumns +
                                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, run.name).Bind(2, run.seq).Bind(3, run.experiment_name).Bind(4, run.display_name);
  s->Bind(5, run.status).Bind(6, run.status_detail).Bind(7, run.spec.dump());
  s->Bind(8, run.snapshot_id).Bind(9, run.compute).Bind(10, run.tags.dump());
  s->Bind(11, run.created_at).Bind(12, run.started_at).Bind(13, run.ended_at);
  s->Bind(14, run.updated_at).Bind(15, run.error);
  if (run.exit_code) {
    s->Bind(16, static_cast<int64_t>(*run.exit_code));
  } else {
    s->BindNull(16);
  }
  s->Bind(17, run.token_hash).Bind(18, run.runner_pid).Bind(19, run.process_group);
  s->Bind(20, run.last_heartbeat).Bind(21, run.launch_id).Bind(22, run.kind);
  s->Bind(23, run.parent).Bind(24, run.properties.dump());
  RETURN_IF_ERROR(s->Run());
  ASSIGN_OR_RETURN(SqliteStatement * ev,
                   db.Prepare("INSERT INTO run_status_events (run, status, time, "
                              "detail) VALUES (?, ?, ?, ?)"));
  RETURN_IF_ERROR(ev->Bind(1, run.name)
                      .Bind(2, run.status)
                      .Bind(3, run.created_at)
                      .Bind(4, run.status_detail)
                      .Run());
  return tx.Commit();
}

Result<RunRecord> SqliteRunTable::GetRun(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kRunColumns + " FROM runs WHERE name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadRun(*s); }, NotFoundError("no run named '" + name + "'"));
}

Result<std::vector<RunRecord>> SqliteRunTable::ListRuns(const RunFilter& filter) {
  SqliteDb::Locked db = db_->Lock();
  // Built per call: the filters vary, and listing is not a hot path.
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE 1=1";
  std::vector<std::string> binds;
  if (!filter.experiment_name.empty()) {
    sql += " AND experiment = ?";
    binds.push_back(filter.experiment_name);
  }
  if (!filter.compute.empty()) {
    sql += " AND compute = ?";
    binds.push_back(filter.compute);
  }
  if (filter.parent) {
    sql += " AND parent = ?";
    binds.push_back(*filter.parent);
  }
  if (!filter.kind.empty()) {
    sql += " AND kind = ?";
    binds.push_back(filter.kind);
  }
  if (!filter.statuses.empty()) {
    sql += " AND status IN (";
    for (size_t i = 0; i < filter.statuses.size(); ++i) {
      sql += i ? ",?" : "?";
      binds.push_back(filter.statuses[i]);
    }
    sql += ")";
  }
  sql += filter.oldest_first ? " ORDER BY seq ASC" : " ORDER BY seq DESC";
  if (filter.limit > 0) sql += " LIMIT " + std::to_string(filter.limit);
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteStatement> s, db.PrepareOnce(sql));
  for (size_t i = 0; i < binds.size(); ++i) s->Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<RunRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadRun(*s)); }));
  return out;
}

Status SqliteRunTable::UpdateRun(const RunRecord& run, const std::optional<StatusEvent>& event) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(
      SqliteStatement * s,
      db.Prepare("UPDATE runs SET display_name=?, status=?, status_detail=?, "
                 "tags=?, started_at=?, ended_at=?, updated_at=?, error=?, "
                 "exit_code=?, runner_pid=?, process_group=?, last_heartbeat=?, "
                 "snapshot=?, spec=?, token_hash=?, launch_id=?, properties=? WHERE name=?"));
  s->Bind(1, run.display_name).Bind(2, run.status).Bind(3, run.status_detail);
  s->Bind(4, run.tags.dump()).Bind(5, run.started_at).Bind(6, run.ended_at);
  s->Bind(7, run.updated_at).Bind(8, run.error);
  if (run.exit_code) {
    s->Bind(9, static_cast<int64_t>(*run.exit_code));
  } else {
    s->BindNull(9);
  }
  s->Bind(10, run.runner_pid).Bind(11, run.process_group).Bind(12, run.last_heartbeat);
  s->Bind(13, run.snapshot_id).Bind(14, run.spec.dump()).Bind(15, run.token_hash);
  s->Bind(16, run.launch_id).Bind(17, run.properties.dump()).Bind(18, run.name);
  RETURN_IF_ERROR(s->Run());
  if (db.Changes() == 0) return NotFoundError("no run named '" + run.name + "'");
  if (event) {
    ASSIGN_OR_RETURN(SqliteStatement * ev,
                     db.Prepare("INSERT INTO run_status_events (run, status, time, "
                                "detail) VALUES (?, ?, ?, ?)"));
    RETURN_IF_ERROR(ev->Bind(1, run.name)
                        .Bind(2, event->status)
                        .Bind(3, event->time)
                        .Bind(4, event->detail)
                        .Run());
  }
  return tx.Commit();
}

Result<std::vector<StatusEvent>> SqliteRunTable::GetStatusHistory(const std::string& run) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT status, time, detail FROM run_status_events "
                              "WHERE run = ? ORDER BY id"));
  s->Bind(1, run);
  std::vector<StatusEvent> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back(StatusEvent{s->Text(0), s->Int(1), s->Text(2)});
  }));
  return out;
}

}  // namespace

std::unique_ptr<RunTable> NewSqliteRunTable(SqliteDb* db) {
  return std::make_unique<SqliteRunTable>(db);
}

}  // namespace gantry::store
