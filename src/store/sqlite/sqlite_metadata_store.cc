#include "store/sqlite/sqlite_metadata_store.h"

#include <algorithm>

#include "store/metric_block.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_migrations.h"

namespace gantry::store {

namespace {

constexpr const char* kRunColumns =
    "name, seq, experiment, display_name, status, status_detail, spec, snapshot, compute, "
    "tags, created_at, started_at, ended_at, updated_at, error, exit_code, token_hash, "
    "runner_pid, process_group, last_heartbeat, launch_id";

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
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteMetadataStore>> SqliteMetadataStore::Open(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  {
    SqliteDb::Locked locked = db->Lock();
    RETURN_IF_ERROR(MigrateSqliteSchema(locked));
  }
  return std::unique_ptr<SqliteMetadataStore>(new SqliteMetadataStore(std::move(db)));
}

SqliteMetadataStore::SqliteMetadataStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}

// Out of line: SqliteDb is complete here.
SqliteMetadataStore::~SqliteMetadataStore() = default;

namespace {
Result<bool> RunExists(SqliteDb::Locked& db, const std::string& name) {
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare("SELECT 1 FROM runs WHERE name = ?"));
  s->Bind(1, name);
  auto r = s->Step();
  s->Reset();
  return r;
}
}  // namespace

Status SqliteMetadataStore::CreateRun(RunRecord& run) {
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
                                     ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
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
  s->Bind(20, run.last_heartbeat).Bind(21, run.launch_id);
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

Result<RunRecord> SqliteMetadataStore::GetRun(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kRunColumns + " FROM runs WHERE name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadRun(*s); }, NotFoundError("no run named '" + name + "'"));
}

Result<std::vector<RunRecord>> SqliteMetadataStore::ListRuns(const RunFilter& filter) {
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

Status SqliteMetadataStore::UpdateRun(const RunRecord& run,
                                      const std::optional<StatusEvent>& event) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE runs SET display_name=?, status=?, status_detail=?, "
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

Result<std::vector<StatusEvent>> SqliteMetadataStore::GetStatusHistory(const std::string& run) {
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
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  // On any failure the transaction rolls back; drop the cache so it reloads from the table.
  auto fail = [this](Status st) {
    series_.clear();
    return st;
  };
  ASSIGN_OR_RETURN(SqliteStatement * find,
                   db.Prepare("SELECT id, next_step FROM metric_series WHERE run = ? AND key = ?"));
  ASSIGN_OR_RETURN(SqliteStatement * create,
                   db.Prepare("INSERT INTO metric_series (run, key, next_step) "
                              "VALUES (?, ?, 0)"));
  ASSIGN_OR_RETURN(SqliteStatement * insert,
                   db.Prepare("INSERT INTO metric_blocks (series, first_step, "
                              "count, data) VALUES (?, ?, ?, ?)"));
  ASSIGN_OR_RETURN(SqliteStatement * bump,
                   db.Prepare("UPDATE metric_series SET next_step = ? WHERE id = ?"));
  if (through > 0) {
    ASSIGN_OR_RETURN(SqliteStatement * cursor,
                     db.Prepare("SELECT through FROM metric_cursors WHERE run = ?"));
    // One cursor per record stream: the run's, or one sender's ("RUN\x1fnode_1").
    const std::string cursor_key = sender.empty() ? run : run + '\x1f' + sender;
    cursor->Bind(1, cursor_key);
    auto row = cursor->Step();
    int64_t applied = (row.has_value() && *row) ? cursor->Int(0) : 0;
    cursor->Reset();
    if (!row.has_value()) return row.error();
    if (through <= applied) return Status::Ok();  // a resend of a batch already stored
    ASSIGN_OR_RETURN(SqliteStatement * advance,
                     db.Prepare("INSERT OR REPLACE INTO metric_cursors (run, through) "
                                "VALUES (?, ?)"));
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
        value = {db.LastInsertRowid(), 0};
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
      AppendToMetricBlock(block, stamped);
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
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT ms.key, b.data FROM metric_blocks b JOIN metric_series ms ON "
                              "ms.id = b.series WHERE ms.run = ? AND (? = '' OR ms.key = ?) "
                              "ORDER BY ms.key, b.id"));
  s->Bind(1, run).Bind(2, key).Bind(3, key);
  std::vector<MetricPoint> out;
  RETURN_IF_ERROR(s->ForEach([&] { return DecodeMetricBlock(s->Text(0), s->Text(1), out); }));
  // Keys are already grouped; order each key's points by step, logging order within a step.
  std::stable_sort(out.begin(), out.end(), [](const MetricPoint& a, const MetricPoint& b) {
    return a.key != b.key ? a.key < b.key : a.step < b.step;
  });
  return out;
}

Result<std::vector<MetricPoint>> SqliteMetadataStore::LatestMetrics(const std::string& run) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(
      SqliteStatement * s,
      db.Prepare("SELECT ms.key, b.data FROM metric_series ms JOIN metric_blocks b ON b.id = "
                 "(SELECT MAX(id) FROM metric_blocks WHERE series = ms.id) WHERE ms.run = ? "
                 "ORDER BY ms.key"));
  s->Bind(1, run);
  std::vector<MetricPoint> out;
  RETURN_IF_ERROR(s->ForEach([&]() -> Status {
    std::vector<MetricPoint> block;
    RETURN_IF_ERROR(DecodeMetricBlock(s->Text(0), s->Text(1), block));
    // The most recently logged value.
    if (!block.empty()) out.push_back(std::move(block.back()));
    return Status::Ok();
  }));

  return out;
}

namespace {
Result<int64_t> LogLength(SqliteDb::Locked& db, const std::string& run,
                          const std::string& stream) {
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT offset + length(data) FROM log_chunks WHERE run = ? AND "
                              "stream = ? ORDER BY offset DESC LIMIT 1"));
  s->Bind(1, run).Bind(2, stream);
  auto row = s->Step();
  int64_t len = (row.has_value() && *row) ? s->Int(0) : 0;
  s->Reset();
  if (!row.has_value()) return Err(row.error());
  return len;
}
}  // namespace

Result<int64_t> SqliteMetadataStore::AppendLog(const std::string& run, const std::string& stream,
                                               int64_t offset, std::string_view data) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(int64_t len, LogLength(db, run, stream));
  if (offset > len) {
    return Err(FailedPreconditionError("log '" + stream + "' of run '" + run + "' has " +
                                       std::to_string(len) + " bytes; cannot append at " +
                                       std::to_string(offset)));
  }
  int64_t skip = len - offset;
  if (skip >= static_cast<int64_t>(data.size())) return len;
  data.remove_prefix(static_cast<size_t>(skip));
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("INSERT INTO log_chunks (run, stream, offset, data) "
                              "VALUES (?, ?, ?, ?)"));
  RETURN_IF_ERROR(s->Bind(1, run).Bind(2, stream).Bind(3, len).BindBlob(4, data).Run());
  RETURN_IF_ERROR(tx.Commit());
  return len + static_cast<int64_t>(data.size());
}

Result<std::string> SqliteMetadataStore::ReadLog(const std::string& run, const std::string& stream,
                                                 int64_t offset, int64_t max_bytes) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT offset, data FROM log_chunks WHERE run = ? AND stream = ? "
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
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT stream, MAX(offset + length(data)) FROM log_chunks WHERE "
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

ModelRecord ReadModel(SqliteStatement& s) {
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
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * next,
                   db.Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?"));
  next->Bind(1, model.name);
  auto row = next->Step();
  model.version = (row.has_value() && *row) ? next->Int(0) : 1;
  next->Reset();
  if (!row.has_value()) return row.error();
  static const std::string kInsert =
      std::string("INSERT INTO models (") + kModelColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, model.name).Bind(2, model.version).Bind(3, model.description).Bind(4, model.tree_id);
  s->Bind(5, model.framework).Bind(6, model.framework_version).Bind(7, model.type);
  s->Bind(8, model.tags.dump()).Bind(9, model.properties.dump());
  s->Bind(10, model.resource_configuration.dump()).Bind(11, model.run_name);
  s->Bind(12, model.datasets.dump()).Bind(13, model.created_at);
  RETURN_IF_ERROR(s->Run());
  return tx.Commit();
}

Result<ModelRecord> SqliteMetadataStore::GetModel(const std::string& name, int64_t version) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kModelColumns +
                                  " FROM models WHERE name = ? AND (? = 0 OR version = ?) "
                                  "ORDER BY version DESC LIMIT 1";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadModel(*s); },
      NotFoundError(version ? "model '" + name + "' has no version " + std::to_string(version)
                            : "no model named '" + name + "'"));
}

Result<std::vector<ModelRecord>> SqliteMetadataStore::ListModels(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kModelColumns +
                                  " FROM models WHERE (? = '' OR name = ?) ORDER BY name, version";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, name);
  std::vector<ModelRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadModel(*s)); }));
  return out;
}

Status SqliteMetadataStore::UpdateModel(const ModelRecord& model) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE models SET tags = ?, properties = ?, "
                              "description = ? WHERE name = ? AND version = ?"));
  RETURN_IF_ERROR(s->Bind(1, model.tags.dump())
                      .Bind(2, model.properties.dump())
                      .Bind(3, model.description)
                      .Bind(4, model.name)
                      .Bind(5, model.version)
                      .Run());
  if (db.Changes() == 0) {
    return NotFoundError("model '" + model.name + "' has no version " +
                         std::to_string(model.version));
  }
  return Status::Ok();
}

namespace {
constexpr const char* kDatasetColumns =
    "name, version, description, type, tree, sources, tags, created_at";

DatasetRecord ReadDataset(SqliteStatement& s) {
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
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  if (d.version == 0) {
    ASSIGN_OR_RETURN(SqliteStatement * next,
                     db.Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM datasets "
                                "WHERE name = ?"));
    next->Bind(1, d.name);
    auto row = next->Step();
    d.version = (row.has_value() && *row) ? next->Int(0) : 1;
    next->Reset();
    if (!row.has_value()) return row.error();
  }
  static const std::string kInsert =
      std::string("INSERT INTO datasets (") + kDatasetColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
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
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kDatasetColumns +
                                  " FROM datasets WHERE name = ? AND (? = 0 OR version = ?) "
                                  "ORDER BY version DESC LIMIT 1";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadDataset(*s); },
      NotFoundError(version ? "dataset '" + name + "' has no version " + std::to_string(version)
                            : "no dataset named '" + name + "'"));
}

Result<std::vector<DatasetRecord>> SqliteMetadataStore::ListDatasets(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kDatasetColumns +
      " FROM datasets WHERE (? = '' OR name = ?) ORDER BY name, version";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, name);
  std::vector<DatasetRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadDataset(*s)); }));
  return out;
}

namespace {
constexpr const char* kComputeColumns =
    "name, type, vm_size, min_nodes, max_nodes, idle_seconds, created_at, properties";
ComputeRecord ReadCompute(SqliteStatement& s) {
  Json props = Json::parse(s.Text(7), nullptr, false);
  return ComputeRecord{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4), s.Int(5), s.Int(6),
                       props.is_object() ? props : Json::object()};
}
}  // namespace

namespace {
EnvironmentRecord ReadEnvironment(SqliteStatement& s) {
  return EnvironmentRecord{s.Text(0), s.Int(1), s.Text(2), Json::parse(s.Text(3), nullptr, false),
                           s.Text(4), s.Int(5)};
}
}  // namespace

Status SqliteMetadataStore::CreateEnvironment(EnvironmentRecord& e) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * next,
                   db.Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM "
                              "environments WHERE name = ?"));
  next->Bind(1, e.name);
  auto row = next->Step();
  e.version = (row.has_value() && *row) ? next->Int(0) : 1;
  next->Reset();
  if (!row.has_value()) return row.error();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("INSERT INTO environments (name, version, description, "
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
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT name, version, description, spec, hash, created_at FROM "
                              "environments WHERE name = ? AND (? = 0 OR version = ?) ORDER BY "
                              "version DESC LIMIT 1"));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadEnvironment(*s); },
      NotFoundError(version ? "environment '" + name + "' has no version " + std::to_string(version)
                            : "no environment named '" + name + "'"));
}

Result<std::vector<EnvironmentRecord>> SqliteMetadataStore::ListEnvironments() {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT name, version, description, spec, hash, "
                              "created_at FROM environments ORDER BY name, version"));
  std::vector<EnvironmentRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadEnvironment(*s)); }));
  return out;
}

Status SqliteMetadataStore::CreateCompute(const ComputeRecord& c) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kInsert =
      std::string("INSERT INTO computes (") + kComputeColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, c.name).Bind(2, c.type).Bind(3, c.vm_size).Bind(4, c.min_nodes).Bind(5, c.max_nodes);
  s->Bind(6, c.idle_seconds_before_scaledown).Bind(7, c.created_at).Bind(8, c.properties.dump());
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("a compute target named '" + c.name + "' already exists");
  }
  return st;
}

Result<ComputeRecord> SqliteMetadataStore::GetCompute(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kComputeColumns + " FROM computes WHERE name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadCompute(*s); },
                NotFoundError("no compute target named '" + name + "'"));
}

Result<std::vector<ComputeRecord>> SqliteMetadataStore::ListComputes() {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kComputeColumns + " FROM computes ORDER BY name";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  std::vector<ComputeRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadCompute(*s)); }));
  return out;
}

Status SqliteMetadataStore::DeleteCompute(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare("DELETE FROM computes WHERE name = ?"));
  RETURN_IF_ERROR(s->Bind(1, name).Run());
  if (db.Changes() == 0) return NotFoundError("no compute target named '" + name + "'");
  return Status::Ok();
}

namespace {
constexpr const char* kEndpointColumns =
    "name, description, auth_mode, primary_key, secondary_key, traffic, tags, created_at, "
    "updated_at";
EndpointRecord ReadEndpoint(SqliteStatement& s) {
  return EndpointRecord{s.Text(0), s.Text(1), s.Text(2),
                        s.Text(3), s.Text(4), Json::parse(s.Text(5), nullptr, false),
                        Json::parse(s.Text(6), nullptr, false), s.Int(7), s.Int(8)};
}
constexpr const char* kDeploymentColumns =
    "endpoint, name, spec, state, error, generation, created_at, updated_at";
DeploymentRecord ReadDeployment(SqliteStatement& s) {
  return DeploymentRecord{s.Text(0), s.Text(1), Json::parse(s.Text(2), nullptr, false),
                          s.Text(3), s.Text(4), s.Int(5), s.Int(6), s.Int(7)};
}
}  // namespace

Status SqliteMetadataStore::CreateEndpoint(const EndpointRecord& e) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kInsert =
      std::string("INSERT INTO endpoints (") + kEndpointColumns + ") VALUES (?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
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
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints WHERE name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadEndpoint(*s); },
                NotFoundError("no endpoint named '" + name + "'"));
}

Result<std::vector<EndpointRecord>> SqliteMetadataStore::ListEndpoints() {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints ORDER BY name";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  std::vector<EndpointRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadEndpoint(*s)); }));
  return out;
}

Status SqliteMetadataStore::UpdateEndpoint(const EndpointRecord& e) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE endpoints SET description = ?, auth_mode = ?, "
                              "primary_key = ?, secondary_key = ?, traffic = ?, tags = ?, "
                              "updated_at = ? "
                              "WHERE name = ?"));
  s->Bind(1, e.description).Bind(2, e.auth_mode).Bind(3, e.primary_key).Bind(4, e.secondary_key);
  s->Bind(5, e.traffic.dump()).Bind(6, e.tags.dump()).Bind(7, e.updated_at).Bind(8, e.name);
  RETURN_IF_ERROR(s->Run());
  if (db.Changes() == 0) return NotFoundError("no endpoint named '" + e.name + "'");
  return Status::Ok();
}

Status SqliteMetadataStore::DeleteEndpoint(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * d, db.Prepare("DELETE FROM deployments WHERE endpoint = ?"));
  RETURN_IF_ERROR(d->Bind(1, name).Run());
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare("DELETE FROM endpoints WHERE name = ?"));
  RETURN_IF_ERROR(s->Bind(1, name).Run());
  if (db.Changes() == 0) return NotFoundError("no endpoint named '" + name + "'");
  return tx.Commit();
}

Status SqliteMetadataStore::PutDeployment(const DeploymentRecord& d) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * e, db.Prepare("SELECT 1 FROM endpoints WHERE name = ?"));
  e->Bind(1, d.endpoint);
  auto row = e->Step();
  bool exists = row.has_value() && *row;
  e->Reset();
  if (!row.has_value()) return row.error();
  if (!exists) return FailedPreconditionError("no endpoint named '" + d.endpoint + "'");
  static const std::string kInsert = std::string("INSERT OR REPLACE INTO deployments (") +
                                     kDeploymentColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, d.endpoint).Bind(2, d.name).Bind(3, d.spec.dump()).Bind(4, d.state);
  s->Bind(5, d.error).Bind(6, d.generation).Bind(7, d.created_at).Bind(8, d.updated_at);
  RETURN_IF_ERROR(s->Run());
  return tx.Commit();
}

Result<DeploymentRecord> SqliteMetadataStore::GetDeployment(const std::string& endpoint,
                                                            const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments WHERE endpoint = ? AND name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, endpoint).Bind(2, name);
  return s->One([&] { return ReadDeployment(*s); },
                NotFoundError("endpoint '" + endpoint + "' has no deployment named '" + name +
                              "'"));
}

Result<std::vector<DeploymentRecord>> SqliteMetadataStore::ListDeployments(
    const std::string& endpoint) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments WHERE (? = '' OR endpoint = ?) "
                                  "ORDER BY endpoint, name";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, endpoint).Bind(2, endpoint);
  std::vector<DeploymentRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadDeployment(*s)); }));
  return out;
}

Status SqliteMetadataStore::SetDeploymentState(const std::string& endpoint,
                                               const std::string& name, int64_t generation,
                                               const std::string& state, const std::string& error,
                                               int64_t updated_at) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE deployments SET state = ?, error = ?, "
                              "updated_at = ? WHERE endpoint = ? AND name = ? AND "
                              "generation = ?"));
  RETURN_IF_ERROR(s->Bind(1, state)
                      .Bind(2, error)
                      .Bind(3, updated_at)
                      .Bind(4, endpoint)
                      .Bind(5, name)
                      .Bind(6, generation)
                      .Run());
  if (db.Changes() == 0) {
    return FailedPreconditionError("deployment '" + endpoint + "/" + name +
                                   "' is no longer at generation " + std::to_string(generation));
  }
  return Status::Ok();
}

Status SqliteMetadataStore::DeleteDeployment(const std::string& endpoint, const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("DELETE FROM deployments WHERE endpoint = ? AND name = ?"));
  RETURN_IF_ERROR(s->Bind(1, endpoint).Bind(2, name).Run());
  if (db.Changes() == 0) {
    return NotFoundError("endpoint '" + endpoint + "' has no deployment named '" + name + "'");
  }
  return Status::Ok();
}

Status SqliteMetadataStore::PutArtifacts(const std::string& run,
                                         const std::vector<ArtifactRecord>& artifacts) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("INSERT OR REPLACE INTO run_artifacts (run, path, blob, size, mode) "
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
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT path, blob, size, mode FROM run_artifacts WHERE run = ? AND "
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
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("INSERT INTO access_tokens (id, name, role, hash, created_by, "
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
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT id, name, role, hash, created_by, created_at, expires_at, "
                              "revoked_at FROM access_tokens ORDER BY created_at, id"));
  std::vector<AccessTokenRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back({s->Text(0), s->Text(1), s->Text(2), s->Text(3), s->Text(4), s->Int(5),
                   s->Int(6), s->Int(7)});
  }));
  return out;
}

Status SqliteMetadataStore::RevokeAccessToken(const std::string& id, int64_t revoked_at) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE access_tokens SET revoked_at = CASE WHEN revoked_at = 0 "
                              "THEN ? ELSE revoked_at END WHERE id = ?"));
  s->Bind(1, revoked_at).Bind(2, id);
  RETURN_IF_ERROR(s->Run());
  if (db.Changes() == 0) return NotFoundError("no access token with id '" + id + "'");
  return Status::Ok();
}

Status SqliteMetadataStore::AppendAudit(AuditRecord& r) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("INSERT INTO audit_log (time, principal, method, path, status, "
                              "remote) VALUES (?,?,?,?,?,?)"));
  s->Bind(1, r.time).Bind(2, r.principal).Bind(3, r.method).Bind(4, r.path);
  s->Bind(5, static_cast<int64_t>(r.status)).Bind(6, r.remote);
  RETURN_IF_ERROR(s->Run());
  r.id = db.LastInsertRowid();
  return Status::Ok();
}

Result<std::vector<AuditRecord>> SqliteMetadataStore::ListAudit(int64_t after_id, int limit) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT id, time, principal, method, path, status, remote FROM "
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
