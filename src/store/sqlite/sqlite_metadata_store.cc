#include "store/sqlite/sqlite_metadata_store.h"

#include <sqlite3.h>

#include <array>
#include <cstring>
#include <type_traits>

#include "common/logging.h"

namespace gantry::store {

// A prepared statement, reset after each use.
class SqliteMetadataStore::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // Steps once: true when a row is available.
  Result<bool> Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_CONSTRAINT) {
      return Err(AlreadyExistsError(std::string("constraint: ") + sqlite3_errmsg(db_)));
    }
    return Err(InternalError(std::string("sqlite: ") + sqlite3_errmsg(db_)));
  }
  Status Run() {
    auto r = Step();
    Reset();
    return r.has_value() ? Status::Ok() : r.error();
  }
  // Steps to the one expected row and returns `read()` of it, or `not_found` when there is
  // none. Resets either way.
  template <typename F>
  auto One(F&& read, const Status& not_found) -> Result<decltype(read())> {
    auto has_row = Step();
    if (!has_row.has_value() || !*has_row) {
      Reset();
      return Err(has_row.has_value() ? not_found : has_row.error());
    }
    auto value = read();
    Reset();
    return value;
  }
  // Calls `row()` for each result row (it reads the columns), then resets. Stops at the first
  // error, from SQLite or a Status returned by `row`.
  template <typename F>
  Status ForEach(F&& row) {
    Status status;
    while (status.ok()) {
      auto has_row = Step();
      if (!has_row.has_value()) {
        status = has_row.error();
        break;
      }
      if (!*has_row) break;
      if constexpr (std::is_same_v<decltype(row()), Status>) {
        status = row();
      } else {
        row();
      }
    }
    Reset();
    return status;
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, col));
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(p, static_cast<size_t>(n)) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

namespace {

// Each entry migrates the schema from version i to i+1. Append only; never edit a
// released entry.
constexpr std::array<const char*, 8> kMigrations = {
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
};

constexpr const char* kRunColumns =
    "name, seq, experiment, display_name, status, status_detail, spec, snapshot, compute, "
    "tags, created_at, started_at, ended_at, updated_at, error, exit_code, token_hash, "
    "runner_pid, process_group, last_heartbeat, launch_id";

RunRecord ReadRun(SqliteMetadataStore::Statement& s) {
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
  return r;
}

// Commits on success, rolls back otherwise.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Commit() {
    done_ = true;
    char* err = nullptr;
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "unknown";
      sqlite3_free(err);
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return InternalError("sqlite commit: " + m);
    }
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Err(UnavailableError("cannot open metadata database " + path + ": " + m));
  }
  sqlite3_busy_timeout(db, 5000);
  auto store = std::unique_ptr<SqliteMetadataStore>(new SqliteMetadataStore(db));
  std::lock_guard<std::mutex> lock(store->mu_);
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=NORMAL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(store->Migrate());
  return store;
}

SqliteMetadataStore::SqliteMetadataStore(sqlite3* db) : db_(db) {}

SqliteMetadataStore::~SqliteMetadataStore() {
  statements_.clear();
  sqlite3_close(db_);
}

Status SqliteMetadataStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return InternalError("sqlite: " + m);
  }
  return Status::Ok();
}

Status SqliteMetadataStore::Migrate() {
  RETURN_IF_ERROR(Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(Statement * get, Prepare("SELECT version FROM schema_version"));
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
    Transaction tx(db_);
    RETURN_IF_ERROR(Exec(kMigrations[v]));
    RETURN_IF_ERROR(Exec("DELETE FROM schema_version"));
    std::string set = "INSERT INTO schema_version VALUES (" + std::to_string(v + 1) + ")";
    RETURN_IF_ERROR(Exec(set.c_str()));
    RETURN_IF_ERROR(tx.Commit());
  }
  return Status::Ok();
}

Result<SqliteMetadataStore::Statement*> SqliteMetadataStore::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return Err(InternalError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_)));
  }
  auto owned = std::make_unique<Statement>(db_, stmt);
  Statement* raw = owned.get();
  statements_[sql] = std::move(owned);
  return raw;
}

Result<bool> SqliteMetadataStore::RunExists(const std::string& name) {
  ASSIGN_OR_RETURN(Statement * s, Prepare("SELECT 1 FROM runs WHERE name = ?"));
  s->Bind(1, name);
  auto r = s->Step();
  s->Reset();
  return r;
}

Status SqliteMetadataStore::CreateRun(RunRecord& run) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(bool exists, RunExists(run.name));
  if (exists) return AlreadyExistsError("a run named '" + run.name + "' already exists");
  ASSIGN_OR_RETURN(Statement * next, Prepare("SELECT COALESCE(MAX(seq), 0) + 1 FROM runs"));
  ASSIGN_OR_RETURN(bool has_row, next->Step());
  run.seq = has_row ? next->Int(0) : 1;
  next->Reset();
  static const std::string kInsert = std::string("INSERT INTO runs (") + kRunColumns +
                                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kInsert.c_str()));
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
  s->Bind(20, run.last_heartbeat).Bind(21, run.launch_id);
  RETURN_IF_ERROR(s->Run());
  ASSIGN_OR_RETURN(Statement * ev, Prepare("INSERT INTO run_status_events (run, status, time, "
                                           "detail) VALUES (?, ?, ?, ?)"));
  RETURN_IF_ERROR(ev->Bind(1, run.name)
                      .Bind(2, run.status)
                      .Bind(3, run.created_at)
                      .Bind(4, run.status_detail)
                      .Run());
  return tx.Commit();
}

Result<RunRecord> SqliteMetadataStore::GetRun(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kRunColumns + " FROM runs WHERE name = ?";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadRun(*s); }, NotFoundError("no run named '" + name + "'"));
}

Result<std::vector<RunRecord>> SqliteMetadataStore::ListRuns(const RunFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
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
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return Err(InternalError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_)));
  }
  Statement s(db_, raw);
  for (size_t i = 0; i < binds.size(); ++i) s.Bind(static_cast<int>(i + 1), binds[i]);
  std::vector<RunRecord> out;
  RETURN_IF_ERROR(s.ForEach([&] { out.push_back(ReadRun(s)); }));
  return out;
}

Status SqliteMetadataStore::UpdateRun(const RunRecord& run,
                                      const std::optional<StatusEvent>& event) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("UPDATE runs SET display_name=?, status=?, status_detail=?, "
                           "tags=?, started_at=?, ended_at=?, updated_at=?, error=?, "
                           "exit_code=?, runner_pid=?, process_group=?, last_heartbeat=?, "
                           "snapshot=?, spec=?, token_hash=?, launch_id=? WHERE name=?"));
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
  s->Bind(16, run.launch_id).Bind(17, run.name);
  RETURN_IF_ERROR(s->Run());
  if (sqlite3_changes(db_) == 0) return NotFoundError("no run named '" + run.name + "'");
  if (event) {
    ASSIGN_OR_RETURN(Statement * ev, Prepare("INSERT INTO run_status_events (run, status, time, "
                                             "detail) VALUES (?, ?, ?, ?)"));
    RETURN_IF_ERROR(ev->Bind(1, run.name)
                        .Bind(2, event->status)
                        .Bind(3, event->time)
                        .Bind(4, event->detail)
                        .Run());
  }
  return tx.Commit();
}

Result<std::vector<StatusEvent>> SqliteMetadataStore::GetStatusHistory(const std::string& run) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s, Prepare("SELECT status, time, detail FROM run_status_events "
                                          "WHERE run = ? ORDER BY id"));
  s->Bind(1, run);
  std::vector<StatusEvent> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back(StatusEvent{s->Text(0), s->Int(1), s->Text(2)});
  }));
  return out;
}

namespace {

// A metric block packs the points one request logged for one series, in logging order:
// per point int64 step, int64 timestamp, uint8 kind, then a double (kind bit 1 clear) or a
// uint32 length and that many bytes of JSON (bit 1 set), then, with kind bit 2, the int32
// rank of the process that logged it. One row per series per batch keeps the hot
// insert path to a handful of rows however many points a batch carries.
void AppendPoint(std::string& out, const MetricPoint& p) {
  auto put = [&out](const void* data, size_t n) { out.append(static_cast<const char*>(data), n); };
  put(&p.step, 8);
  put(&p.timestamp, 8);
  uint8_t kind = (p.value_json.empty() ? 0 : 1) | (p.rank >= 0 ? 2 : 0);
  put(&kind, 1);
  if ((kind & 1) == 0) {
    put(&p.value, 8);
  } else {
    uint32_t len = static_cast<uint32_t>(p.value_json.size());
    put(&len, 4);
    out += p.value_json;
  }
  if (kind & 2) put(&p.rank, 4);
}

Status DecodeBlock(const std::string& key, const std::string& data, std::vector<MetricPoint>& out) {
  size_t i = 0;
  auto get = [&](void* dst, size_t n) {
    if (i + n > data.size()) return false;
    std::memcpy(dst, data.data() + i, n);
    i += n;
    return true;
  };
  while (i < data.size()) {
    MetricPoint p;
    p.key = key;
    uint8_t kind = 0;
    if (!get(&p.step, 8) || !get(&p.timestamp, 8) || !get(&kind, 1)) break;
    if ((kind & 1) == 0) {
      if (!get(&p.value, 8)) break;
    } else {
      uint32_t len = 0;
      if (!get(&len, 4) || i + len > data.size()) break;
      p.value_json.assign(data, i, len);
      i += len;
    }
    if ((kind & 2) && !get(&p.rank, 4)) break;
    out.push_back(std::move(p));
    if (i == data.size()) return Status::Ok();
  }
  if (i == data.size()) return Status::Ok();
  return DataLossError("metric block of '" + key + "' is truncated");
}

}  // namespace

Status SqliteMetadataStore::AppendMetrics(const std::string& run,
                                          const std::vector<MetricPoint>& points, int64_t through,
                                          const std::string& sender) {
  if (points.empty()) return Status::Ok();
  // Group by key, keeping each key's logging order.
  std::map<std::string, std::vector<const MetricPoint*>> by_key;
  for (const MetricPoint& p : points) {
    if (p.key.empty()) return InvalidArgumentError("a metric has an empty key");
    by_key[p.key].push_back(&p);
  }
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  // On any failure the transaction rolls back; drop the cache so it reloads from the table.
  auto fail = [this](Status st) {
    series_.clear();
    return st;
  };
  ASSIGN_OR_RETURN(Statement * find,
                   Prepare("SELECT id, next_step FROM metric_series WHERE run = ? AND key = ?"));
  ASSIGN_OR_RETURN(Statement * create, Prepare("INSERT INTO metric_series (run, key, next_step) "
                                               "VALUES (?, ?, 0)"));
  ASSIGN_OR_RETURN(Statement * insert, Prepare("INSERT INTO metric_blocks (series, first_step, "
                                               "count, data) VALUES (?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(Statement * bump,
                   Prepare("UPDATE metric_series SET next_step = ? WHERE id = ?"));
  if (through > 0) {
    ASSIGN_OR_RETURN(Statement * cursor,
                     Prepare("SELECT through FROM metric_cursors WHERE run = ?"));
    // One cursor per record stream: the run's, or one sender's ("RUN\x1fnode_1").
    const std::string cursor_key = sender.empty() ? run : run + '\x1f' + sender;
    cursor->Bind(1, cursor_key);
    auto row = cursor->Step();
    int64_t applied = (row.has_value() && *row) ? cursor->Int(0) : 0;
    cursor->Reset();
    if (!row.has_value()) return row.error();
    if (through <= applied) return Status::Ok();  // a resend of a batch already stored
    ASSIGN_OR_RETURN(Statement * advance,
                     Prepare("INSERT OR REPLACE INTO metric_cursors (run, through) VALUES (?, ?)"));
    RETURN_IF_ERROR(advance->Bind(1, cursor_key).Bind(2, through).Run());
  }
  std::string block;
  for (const auto& [key, series_points] : by_key) {
    auto cache_key = std::make_pair(run, key);
    auto c = series_.find(cache_key);
    if (c == series_.end()) {
      find->Bind(1, run).Bind(2, key);
      auto row = find->Step();
      if (!row.has_value()) {
        find->Reset();
        return fail(row.error());
      }
      std::pair<int64_t, int64_t> value;
      if (*row) {
        value = {find->Int(0), find->Int(1)};
        find->Reset();
      } else {
        find->Reset();
        if (Status st = create->Bind(1, run).Bind(2, key).Run(); !st.ok()) return fail(st);
        value = {sqlite3_last_insert_rowid(db_), 0};
      }
      c = series_.emplace(cache_key, value).first;
    }
    auto& [series_id, next_step] = c->second;
    block.clear();
    int64_t first_step = -1;
    for (const MetricPoint* p : series_points) {
      MetricPoint stamped = *p;
      if (stamped.step < 0) stamped.step = next_step;
      next_step = std::max(next_step, stamped.step + 1);
      if (first_step < 0) first_step = stamped.step;
      AppendPoint(block, stamped);
    }
    Status st = insert->Bind(1, series_id)
                    .Bind(2, first_step)
                    .Bind(3, static_cast<int64_t>(series_points.size()))
                    .BindBlob(4, block)
                    .Run();
    if (!st.ok()) return fail(st);
    if (st = bump->Bind(1, next_step).Bind(2, series_id).Run(); !st.ok()) return fail(st);
  }
  Status st = tx.Commit();
  return st.ok() ? st : fail(st);
}

Result<std::vector<MetricPoint>> SqliteMetadataStore::GetMetrics(const std::string& run,
                                                                 const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT ms.key, b.data FROM metric_blocks b JOIN metric_series ms ON "
                           "ms.id = b.series WHERE ms.run = ? AND (? = '' OR ms.key = ?) "
                           "ORDER BY ms.key, b.id"));
  s->Bind(1, run).Bind(2, key).Bind(3, key);
  std::vector<MetricPoint> out;
  RETURN_IF_ERROR(s->ForEach([&] { return DecodeBlock(s->Text(0), s->Text(1), out); }));
  // Keys are already grouped; order each key's points by step, logging order within a step.
  std::stable_sort(out.begin(), out.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return a.key != b.key ? a.key < b.key : a.step < b.step;
  });
  return out;
}

Result<std::vector<MetricPoint>> SqliteMetadataStore::LatestMetrics(const std::string& run) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      Statement * s,
      Prepare("SELECT ms.key, b.data FROM metric_series ms JOIN metric_blocks b ON b.id = "
              "(SELECT MAX(id) FROM metric_blocks WHERE series = ms.id) WHERE ms.run = ? "
              "ORDER BY ms.key"));
  s->Bind(1, run);
  std::vector<MetricPoint> out;
  RETURN_IF_ERROR(s->ForEach([&]() -> Status {
    std::vector<MetricPoint> block;
    RETURN_IF_ERROR(DecodeBlock(s->Text(0), s->Text(1), block));
    // The most recently logged value.
    if (!block.empty()) out.push_back(std::move(block.back()));
    return Status::Ok();
  }));

  return out;
}

Result<int64_t> SqliteMetadataStore::LogLength(const std::string& run, const std::string& stream) {
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT offset + length(data) FROM log_chunks WHERE run = ? AND "
                           "stream = ? ORDER BY offset DESC LIMIT 1"));
  s->Bind(1, run).Bind(2, stream);
  auto row = s->Step();
  int64_t len = (row.has_value() && *row) ? s->Int(0) : 0;
  s->Reset();
  if (!row.has_value()) return Err(row.error());
  return len;
}

Result<int64_t> SqliteMetadataStore::AppendLog(const std::string& run, const std::string& stream,
                                               int64_t offset, std::string_view data) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(int64_t len, LogLength(run, stream));
  if (offset > len) {
    return Err(FailedPreconditionError("log '" + stream + "' of run '" + run + "' has " +
                                       std::to_string(len) + " bytes; cannot append at " +
                                       std::to_string(offset)));
  }
  int64_t skip = len - offset;
  if (skip >= static_cast<int64_t>(data.size())) return len;
  data.remove_prefix(static_cast<size_t>(skip));
  ASSIGN_OR_RETURN(Statement * s, Prepare("INSERT INTO log_chunks (run, stream, offset, data) "
                                          "VALUES (?, ?, ?, ?)"));
  RETURN_IF_ERROR(s->Bind(1, run).Bind(2, stream).Bind(3, len).BindBlob(4, data).Run());
  RETURN_IF_ERROR(tx.Commit());
  return len + static_cast<int64_t>(data.size());
}

Result<std::string> SqliteMetadataStore::ReadLog(const std::string& run, const std::string& stream,
                                                 int64_t offset, int64_t max_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT offset, data FROM log_chunks WHERE run = ? AND stream = ? "
                           "AND offset + length(data) > ? ORDER BY offset"));
  s->Bind(1, run).Bind(2, stream).Bind(3, offset);
  std::string out;
  while (static_cast<int64_t>(out.size()) < max_bytes) {
    auto row = s->Step();
    if (!row.has_value() || !*row) {
      s->Reset();
      if (!row.has_value()) return Err(row.error());
      return out;
    }
    int64_t chunk_offset = s->Int(0);
    std::string data = s->Text(1);
    size_t from = static_cast<size_t>(std::max<int64_t>(0, offset - chunk_offset));
    size_t room = static_cast<size_t>(max_bytes - static_cast<int64_t>(out.size()));
    out.append(data, from, std::min(room, data.size() - from));
  }
  s->Reset();
  return out;
}

Result<std::vector<std::pair<std::string, int64_t>>> SqliteMetadataStore::ListLogs(
    const std::string& run) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT stream, MAX(offset + length(data)) FROM log_chunks WHERE "
                           "run = ? GROUP BY stream ORDER BY stream"));
  s->Bind(1, run);
  std::vector<std::pair<std::string, int64_t>> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.emplace_back(s->Text(0), s->Int(1)); }));
  return out;
}

namespace {
constexpr const char* kModelColumns =
    "name, version, description, tree, framework, framework_version, type, tags, properties, "
    "resource_configuration, run, datasets, created_at";

ModelRecord ReadModel(SqliteMetadataStore::Statement& s) {
  ModelRecord m;
  m.name = s.Text(0);
  m.version = s.Int(1);
  m.description = s.Text(2);
  m.tree_id = s.Text(3);
  m.framework = s.Text(4);
  m.framework_version = s.Text(5);
  m.type = s.Text(6);
  m.tags = Json::parse(s.Text(7), nullptr, false);
  m.properties = Json::parse(s.Text(8), nullptr, false);
  m.resource_configuration = Json::parse(s.Text(9), nullptr, false);
  m.run_name = s.Text(10);
  m.datasets = Json::parse(s.Text(11), nullptr, false);
  m.created_at = s.Int(12);
  return m;
}
}  // namespace

Status SqliteMetadataStore::CreateModel(ModelRecord& model) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(Statement * next,
                   Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?"));
  next->Bind(1, model.name);
  auto row = next->Step();
  model.version = (row.has_value() && *row) ? next->Int(0) : 1;
  next->Reset();
  if (!row.has_value()) return row.error();
  static const std::string kInsert =
      std::string("INSERT INTO models (") + kModelColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kInsert.c_str()));
  s->Bind(1, model.name).Bind(2, model.version).Bind(3, model.description).Bind(4, model.tree_id);
  s->Bind(5, model.framework).Bind(6, model.framework_version).Bind(7, model.type);
  s->Bind(8, model.tags.dump()).Bind(9, model.properties.dump());
  s->Bind(10, model.resource_configuration.dump()).Bind(11, model.run_name);
  s->Bind(12, model.datasets.dump()).Bind(13, model.created_at);
  RETURN_IF_ERROR(s->Run());
  return tx.Commit();
}

Result<ModelRecord> SqliteMetadataStore::GetModel(const std::string& name, int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql = std::string("SELECT ") + kModelColumns +
                                  " FROM models WHERE name = ? AND (? = 0 OR version = ?) "
                                  "ORDER BY version DESC LIMIT 1";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadModel(*s); },
      NotFoundError(version ? "model '" + name + "' has no version " + std::to_string(version)
                            : "no model named '" + name + "'"));
}

Result<std::vector<ModelRecord>> SqliteMetadataStore::ListModels(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql = std::string("SELECT ") + kModelColumns +
                                  " FROM models WHERE (? = '' OR name = ?) ORDER BY name, version";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, name);
  std::vector<ModelRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadModel(*s)); }));
  return out;
}

Status SqliteMetadataStore::UpdateModel(const ModelRecord& model) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s, Prepare("UPDATE models SET tags = ?, properties = ?, "
                                          "description = ? WHERE name = ? AND version = ?"));
  RETURN_IF_ERROR(s->Bind(1, model.tags.dump())
                      .Bind(2, model.properties.dump())
                      .Bind(3, model.description)
                      .Bind(4, model.name)
                      .Bind(5, model.version)
                      .Run());
  if (sqlite3_changes(db_) == 0) {
    return NotFoundError("model '" + model.name + "' has no version " +
                         std::to_string(model.version));
  }
  return Status::Ok();
}

namespace {
constexpr const char* kDatasetColumns =
    "name, version, description, type, tree, sources, tags, created_at";

DatasetRecord ReadDataset(SqliteMetadataStore::Statement& s) {
  DatasetRecord d;
  d.name = s.Text(0);
  d.version = s.Int(1);
  d.description = s.Text(2);
  d.type = s.Text(3);
  d.tree_id = s.Text(4);
  d.sources = Json::parse(s.Text(5), nullptr, false);
  d.tags = Json::parse(s.Text(6), nullptr, false);
  d.created_at = s.Int(7);
  return d;
}
}  // namespace

Status SqliteMetadataStore::CreateDataset(DatasetRecord& d) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  if (d.version == 0) {
    ASSIGN_OR_RETURN(Statement * next,
                     Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM datasets WHERE name = ?"));
    next->Bind(1, d.name);
    auto row = next->Step();
    d.version = (row.has_value() && *row) ? next->Int(0) : 1;
    next->Reset();
    if (!row.has_value()) return row.error();
  }
  static const std::string kInsert =
      std::string("INSERT INTO datasets (") + kDatasetColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kInsert.c_str()));
  s->Bind(1, d.name).Bind(2, d.version).Bind(3, d.description).Bind(4, d.type).Bind(5, d.tree_id);
  s->Bind(6, d.sources.dump()).Bind(7, d.tags.dump()).Bind(8, d.created_at);
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("dataset '" + d.name + "' already has a version " +
                              std::to_string(d.version));
  }
  RETURN_IF_ERROR(st);
  return tx.Commit();
}

Result<DatasetRecord> SqliteMetadataStore::GetDataset(const std::string& name, int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql = std::string("SELECT ") + kDatasetColumns +
                                  " FROM datasets WHERE name = ? AND (? = 0 OR version = ?) "
                                  "ORDER BY version DESC LIMIT 1";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadDataset(*s); },
      NotFoundError(version ? "dataset '" + name + "' has no version " + std::to_string(version)
                            : "no dataset named '" + name + "'"));
}

Result<std::vector<DatasetRecord>> SqliteMetadataStore::ListDatasets(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kDatasetColumns +
      " FROM datasets WHERE (? = '' OR name = ?) ORDER BY name, version";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, name);
  std::vector<DatasetRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadDataset(*s)); }));
  return out;
}

namespace {
constexpr const char* kComputeColumns =
    "name, type, vm_size, min_nodes, max_nodes, idle_seconds, created_at, properties";
ComputeRecord ReadCompute(SqliteMetadataStore::Statement& s) {
  Json props = Json::parse(s.Text(7), nullptr, false);
  return ComputeRecord{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4), s.Int(5), s.Int(6),
                       props.is_object() ? props : Json::object()};
}
}  // namespace

namespace {
EnvironmentRecord ReadEnvironment(SqliteMetadataStore::Statement& s) {
  return EnvironmentRecord{s.Text(0), s.Int(1), s.Text(2), Json::parse(s.Text(3), nullptr, false),
                           s.Text(4), s.Int(5)};
}
}  // namespace

Status SqliteMetadataStore::CreateEnvironment(EnvironmentRecord& e) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(Statement * next, Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM "
                                             "environments WHERE name = ?"));
  next->Bind(1, e.name);
  auto row = next->Step();
  e.version = (row.has_value() && *row) ? next->Int(0) : 1;
  next->Reset();
  if (!row.has_value()) return row.error();
  ASSIGN_OR_RETURN(Statement * s, Prepare("INSERT INTO environments (name, version, description, "
                                          "spec, hash, created_at) VALUES (?,?,?,?,?,?)"));
  RETURN_IF_ERROR(s->Bind(1, e.name)
                      .Bind(2, e.version)
                      .Bind(3, e.description)
                      .Bind(4, e.spec.dump())
                      .Bind(5, e.hash)
                      .Bind(6, e.created_at)
                      .Run());
  return tx.Commit();
}

Result<EnvironmentRecord> SqliteMetadataStore::GetEnvironment(const std::string& name,
                                                              int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT name, version, description, spec, hash, created_at FROM "
                           "environments WHERE name = ? AND (? = 0 OR version = ?) ORDER BY "
                           "version DESC LIMIT 1"));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadEnvironment(*s); },
      NotFoundError(version ? "environment '" + name + "' has no version " + std::to_string(version)
                            : "no environment named '" + name + "'"));
}

Result<std::vector<EnvironmentRecord>> SqliteMetadataStore::ListEnvironments() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s, Prepare("SELECT name, version, description, spec, hash, "
                                          "created_at FROM environments ORDER BY name, version"));
  std::vector<EnvironmentRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadEnvironment(*s)); }));
  return out;
}

Status SqliteMetadataStore::CreateCompute(const ComputeRecord& c) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kInsert =
      std::string("INSERT INTO computes (") + kComputeColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kInsert.c_str()));
  s->Bind(1, c.name).Bind(2, c.type).Bind(3, c.vm_size).Bind(4, c.min_nodes).Bind(5, c.max_nodes);
  s->Bind(6, c.idle_seconds_before_scaledown).Bind(7, c.created_at).Bind(8, c.properties.dump());
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("a compute target named '" + c.name + "' already exists");
  }
  return st;
}

Result<ComputeRecord> SqliteMetadataStore::GetCompute(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kComputeColumns + " FROM computes WHERE name = ?";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadCompute(*s); },
                NotFoundError("no compute target named '" + name + "'"));
}

Result<std::vector<ComputeRecord>> SqliteMetadataStore::ListComputes() {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kComputeColumns + " FROM computes ORDER BY name";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  std::vector<ComputeRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadCompute(*s)); }));
  return out;
}

Status SqliteMetadataStore::DeleteCompute(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s, Prepare("DELETE FROM computes WHERE name = ?"));
  RETURN_IF_ERROR(s->Bind(1, name).Run());
  if (sqlite3_changes(db_) == 0) return NotFoundError("no compute target named '" + name + "'");
  return Status::Ok();
}

namespace {
constexpr const char* kEndpointColumns =
    "name, description, auth_mode, primary_key, secondary_key, traffic, tags, created_at, "
    "updated_at";
EndpointRecord ReadEndpoint(SqliteMetadataStore::Statement& s) {
  return EndpointRecord{s.Text(0), s.Text(1), s.Text(2),
                        s.Text(3), s.Text(4), Json::parse(s.Text(5), nullptr, false),
                        Json::parse(s.Text(6), nullptr, false), s.Int(7), s.Int(8)};
}
constexpr const char* kDeploymentColumns =
    "endpoint, name, spec, state, error, generation, created_at, updated_at";
DeploymentRecord ReadDeployment(SqliteMetadataStore::Statement& s) {
  return DeploymentRecord{s.Text(0), s.Text(1), Json::parse(s.Text(2), nullptr, false),
                          s.Text(3), s.Text(4), s.Int(5), s.Int(6), s.Int(7)};
}
}  // namespace

Status SqliteMetadataStore::CreateEndpoint(const EndpointRecord& e) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kInsert =
      std::string("INSERT INTO endpoints (") + kEndpointColumns + ") VALUES (?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kInsert.c_str()));
  s->Bind(1, e.name).Bind(2, e.description).Bind(3, e.auth_mode).Bind(4, e.primary_key);
  s->Bind(5, e.secondary_key).Bind(6, e.traffic.dump()).Bind(7, e.tags.dump());
  s->Bind(8, e.created_at).Bind(9, e.updated_at);
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("an endpoint named '" + e.name + "' already exists");
  }
  return st;
}

Result<EndpointRecord> SqliteMetadataStore::GetEndpoint(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints WHERE name = ?";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadEndpoint(*s); },
                NotFoundError("no endpoint named '" + name + "'"));
}

Result<std::vector<EndpointRecord>> SqliteMetadataStore::ListEndpoints() {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql =
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints ORDER BY name";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  std::vector<EndpointRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadEndpoint(*s)); }));
  return out;
}

Status SqliteMetadataStore::UpdateEndpoint(const EndpointRecord& e) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("UPDATE endpoints SET description = ?, auth_mode = ?, primary_key = ?, "
                           "secondary_key = ?, traffic = ?, tags = ?, updated_at = ? "
                           "WHERE name = ?"));
  s->Bind(1, e.description).Bind(2, e.auth_mode).Bind(3, e.primary_key).Bind(4, e.secondary_key);
  s->Bind(5, e.traffic.dump()).Bind(6, e.tags.dump()).Bind(7, e.updated_at).Bind(8, e.name);
  RETURN_IF_ERROR(s->Run());
  if (sqlite3_changes(db_) == 0) return NotFoundError("no endpoint named '" + e.name + "'");
  return Status::Ok();
}

Status SqliteMetadataStore::DeleteEndpoint(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(Statement * d, Prepare("DELETE FROM deployments WHERE endpoint = ?"));
  RETURN_IF_ERROR(d->Bind(1, name).Run());
  ASSIGN_OR_RETURN(Statement * s, Prepare("DELETE FROM endpoints WHERE name = ?"));
  RETURN_IF_ERROR(s->Bind(1, name).Run());
  if (sqlite3_changes(db_) == 0) return NotFoundError("no endpoint named '" + name + "'");
  return tx.Commit();
}

Status SqliteMetadataStore::PutDeployment(const DeploymentRecord& d) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(Statement * e, Prepare("SELECT 1 FROM endpoints WHERE name = ?"));
  e->Bind(1, d.endpoint);
  auto row = e->Step();
  bool exists = row.has_value() && *row;
  e->Reset();
  if (!row.has_value()) return row.error();
  if (!exists) return FailedPreconditionError("no endpoint named '" + d.endpoint + "'");
  static const std::string kInsert = std::string("INSERT OR REPLACE INTO deployments (") +
                                     kDeploymentColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kInsert.c_str()));
  s->Bind(1, d.endpoint).Bind(2, d.name).Bind(3, d.spec.dump()).Bind(4, d.state);
  s->Bind(5, d.error).Bind(6, d.generation).Bind(7, d.created_at).Bind(8, d.updated_at);
  RETURN_IF_ERROR(s->Run());
  return tx.Commit();
}

Result<DeploymentRecord> SqliteMetadataStore::GetDeployment(const std::string& endpoint,
                                                            const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql = std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments WHERE endpoint = ? AND name = ?";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, endpoint).Bind(2, name);
  return s->One([&] { return ReadDeployment(*s); },
                NotFoundError("endpoint '" + endpoint + "' has no deployment named '" + name + "'"));
}

Result<std::vector<DeploymentRecord>> SqliteMetadataStore::ListDeployments(
    const std::string& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  static const std::string kSql = std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments WHERE (? = '' OR endpoint = ?) "
                                  "ORDER BY endpoint, name";
  ASSIGN_OR_RETURN(Statement * s, Prepare(kSql.c_str()));
  s->Bind(1, endpoint).Bind(2, endpoint);
  std::vector<DeploymentRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadDeployment(*s)); }));
  return out;
}

Status SqliteMetadataStore::SetDeploymentState(const std::string& endpoint,
                                               const std::string& name, int64_t generation,
                                               const std::string& state, const std::string& error,
                                               int64_t updated_at) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s, Prepare("UPDATE deployments SET state = ?, error = ?, "
                                          "updated_at = ? WHERE endpoint = ? AND name = ? AND "
                                          "generation = ?"));
  RETURN_IF_ERROR(s->Bind(1, state)
                      .Bind(2, error)
                      .Bind(3, updated_at)
                      .Bind(4, endpoint)
                      .Bind(5, name)
                      .Bind(6, generation)
                      .Run());
  if (sqlite3_changes(db_) == 0) {
    return FailedPreconditionError("deployment '" + endpoint + "/" + name +
                                   "' is no longer at generation " + std::to_string(generation));
  }
  return Status::Ok();
}

Status SqliteMetadataStore::DeleteDeployment(const std::string& endpoint, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s, Prepare("DELETE FROM deployments WHERE endpoint = ? AND name = ?"));
  RETURN_IF_ERROR(s->Bind(1, endpoint).Bind(2, name).Run());
  if (sqlite3_changes(db_) == 0) {
    return NotFoundError("endpoint '" + endpoint + "' has no deployment named '" + name + "'");
  }
  return Status::Ok();
}

Status SqliteMetadataStore::PutArtifacts(const std::string& run,
                                         const std::vector<ArtifactRecord>& artifacts) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(db_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("INSERT OR REPLACE INTO run_artifacts (run, path, blob, size, mode) "
                           "VALUES (?, ?, ?, ?, ?)"));
  for (const auto& a : artifacts) {
    RETURN_IF_ERROR(s->Bind(1, run)
                        .Bind(2, a.path)
                        .Bind(3, a.blob)
                        .Bind(4, a.size)
                        .Bind(5, static_cast<int64_t>(a.mode))
                        .Run());
  }
  return tx.Commit();
}

Result<std::vector<ArtifactRecord>> SqliteMetadataStore::ListArtifacts(const std::string& run,
                                                                       const std::string& prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT path, blob, size, mode FROM run_artifacts WHERE run = ? AND "
                           "substr(path, 1, length(?)) = ? ORDER BY path"));
  s->Bind(1, run).Bind(2, prefix).Bind(3, prefix);
  std::vector<ArtifactRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back(
        ArtifactRecord{s->Text(0), s->Text(1), s->Int(2), static_cast<uint32_t>(s->Int(3))});
  }));
  return out;
}

Status SqliteMetadataStore::CreateAccessToken(const AccessTokenRecord& t) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("INSERT INTO access_tokens (id, name, role, hash, created_by, "
                           "created_at, expires_at, revoked_at) VALUES (?,?,?,?,?,?,?,?)"));
  s->Bind(1, t.id).Bind(2, t.name).Bind(3, t.role).Bind(4, t.hash).Bind(5, t.created_by);
  s->Bind(6, t.created_at).Bind(7, t.expires_at).Bind(8, t.revoked_at);
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("an access token with id '" + t.id + "' already exists");
  }
  return st;
}

Result<std::vector<AccessTokenRecord>> SqliteMetadataStore::ListAccessTokens() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT id, name, role, hash, created_by, created_at, expires_at, "
                           "revoked_at FROM access_tokens ORDER BY created_at, id"));
  std::vector<AccessTokenRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back({s->Text(0), s->Text(1), s->Text(2), s->Text(3), s->Text(4), s->Int(5),
                   s->Int(6), s->Int(7)});
  }));
  return out;
}

Status SqliteMetadataStore::RevokeAccessToken(const std::string& id, int64_t revoked_at) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("UPDATE access_tokens SET revoked_at = CASE WHEN revoked_at = 0 "
                           "THEN ? ELSE revoked_at END WHERE id = ?"));
  s->Bind(1, revoked_at).Bind(2, id);
  RETURN_IF_ERROR(s->Run());
  if (sqlite3_changes(db_) == 0) return NotFoundError("no access token with id '" + id + "'");
  return Status::Ok();
}

Status SqliteMetadataStore::AppendAudit(AuditRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("INSERT INTO audit_log (time, principal, method, path, status, remote) "
                           "VALUES (?,?,?,?,?,?)"));
  s->Bind(1, r.time).Bind(2, r.principal).Bind(3, r.method).Bind(4, r.path);
  s->Bind(5, static_cast<int64_t>(r.status)).Bind(6, r.remote);
  RETURN_IF_ERROR(s->Run());
  r.id = sqlite3_last_insert_rowid(db_);
  return Status::Ok();
}

Result<std::vector<AuditRecord>> SqliteMetadataStore::ListAudit(int64_t after_id, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Statement * s,
                   Prepare("SELECT id, time, principal, method, path, status, remote FROM "
                           "audit_log WHERE id > ? ORDER BY id LIMIT ?"));
  s->Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
  std::vector<AuditRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back({s->Int(0), s->Int(1), s->Text(2), s->Text(3), s->Text(4),
                   static_cast<int>(s->Int(5)), s->Text(6)});
  }));
  return out;
}

}  // namespace gantry::store
