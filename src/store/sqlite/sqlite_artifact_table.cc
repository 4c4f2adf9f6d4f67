// SqliteArtifactTable: the ArtifactTable of the SQLite store, over the run_artifacts table.
// Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

class SqliteArtifactTable final : public ArtifactTable {
 public:
  explicit SqliteArtifactTable(SqliteDb* db) : db_(db) {}

  Status PutArtifacts(const std::string& run,
                      const std::vector<ArtifactRecord>& artifacts) override;
  Result<std::vector<ArtifactRecord>> ListArtifacts(const std::string& run,
                                                    const std::string& prefix) override;

 private:
  SqliteDb* db_;
};

Status SqliteArtifactTable::PutArtifacts(const std::string& run,
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

Result<std::vector<ArtifactRecord>> SqliteArtifactTable::ListArtifacts(const std::string& run,
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

}  // namespace

std::unique_ptr<ArtifactTable> NewSqliteArtifactTable(SqliteDb* db) {
  return std::make_unique<SqliteArtifactTable>(db);
}

}  // namespace gantry::store
