// SqliteMetricTable: the MetricTable of the SQLite store, over the metric_series,
// metric_blocks (one row per series per batch, in metric_block's encoding) and
// metric_cursors tables. Thread-safe: each method holds the connection's lock throughout.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "store/metric_block.h"
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

class SqliteMetricTable final : public MetricTable {
 public:
  explicit SqliteMetricTable(SqliteDb* db) : db_(db) {}

  Status AppendMetrics(const std::string& run, const std::vector<MetricPoint>& points,
                       int64_t through, const std::string& sender) override;
  Result<std::vector<MetricPoint>> GetMetrics(const std::string& run,
                                              const std::string& key) override;
  Result<std::vector<MetricPoint>> LatestMetrics(const std::string& run) override;

 private:
  SqliteDb* db_;
  // (run, key) → (series id, next step); a cache of the metric_series table, guarded by the
  // connection's lock (it must agree with what the transactions committed).
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> series_;
};

Status SqliteMetricTable::AppendMetrics(const std::string& run,
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

Result<std::vector<MetricPoint>> SqliteMetricTable::GetMetrics(const std::string& run,
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

Result<std::vector<MetricPoint>> SqliteMetricTable::LatestMetrics(const std::string& run) {
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

}  // namespace

std::unique_ptr<MetricTable> NewSqliteMetricTable(SqliteDb* db) {
  return std::make_unique<SqliteMetricTable>(db);
}

}  // namespace gantry::store
