// SqliteLogTable: the LogTable of the SQLite store, over the log_chunks table (one row per
// appended chunk, keyed by its offset). Thread-safe: each method holds the connection's
// lock throughout.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

Result<int64_t> LogLength(SqliteDb::Locked& db, const std::string& run, const std::string& stream) {
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

class SqliteLogTable final : public LogTable {
 public:
  explicit SqliteLogTable(SqliteDb* db) : db_(db) {}

  Result<int64_t> AppendLog(const std::string& run, const std::string& stream, int64_t offset,
                            std::string_view data) override;
  Result<std::string> ReadLog(const std::string& run, const std::string& stream, int64_t offset,
                              int64_t max_bytes) override;
  Result<std::vector<std::pair<std::string, int64_t>>> ListLogs(const std::string& run) override;

 private:
  SqliteDb* db_;
};

Result<int64_t> SqliteLogTable::AppendLog(const std::string& run, const std::string& stream,
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

Result<std::string> SqliteLogTable::ReadLog(const std::string& run, const std::string& stream,
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

Result<std::vector<std::pair<std::string, int64_t>>> SqliteLogTable::ListLogs(
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

}  // namespace

std::unique_ptr<LogTable> NewSqliteLogTable(SqliteDb* db) {
  return std::make_unique<SqliteLogTable>(db);
}

}  // namespace gantry::store
