// SqliteAuditTable: the AuditTable of the SQLite store, over the audit_log table.
// Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

class SqliteAuditTable final : public AuditTable {
 public:
  explicit SqliteAuditTable(SqliteDb* db) : db_(db) {}

  Status AppendAudit(AuditRecord& record) override;
  Result<std::vector<AuditRecord>> ListAudit(int64_t after_id, int limit) override;

 private:
  SqliteDb* db_;
};

Status SqliteAuditTable::AppendAudit(AuditRecord& r) {
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

Result<std::vector<AuditRecord>> SqliteAuditTable::ListAudit(int64_t after_id, int limit) {
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

}  // namespace

std::unique_ptr<AuditTable> NewSqliteAuditTable(SqliteDb* db) {
  return std::make_unique<SqliteAuditTable>(db);
}

}  // namespace gantry::store
