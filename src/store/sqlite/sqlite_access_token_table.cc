// SqliteAccessTokenTable: the AccessTokenTable of the SQLite store, over the access_tokens
// table. Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

class SqliteAccessTokenTable final : public AccessTokenTable {
 public:
  explicit SqliteAccessTokenTable(SqliteDb* db) : db_(db) {}

  Status CreateAccessToken(const AccessTokenRecord& token) override;
  Result<std::vector<AccessTokenRecord>> ListAccessTokens() override;
  Status RevokeAccessToken(const std::string& id, int64_t revoked_at) override;

 private:
  SqliteDb* db_;
};

Status SqliteAccessTokenTable::CreateAccessToken(const AccessTokenRecord& t) {
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

Result<std::vector<AccessTokenRecord>> SqliteAccessTokenTable::ListAccessTokens() {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT id, name, role, hash, created_by, created_at, expires_at, "
                              "revoked_at FROM access_tokens ORDER BY created_at, id"));
  std::vector<AccessTokenRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] {
    out.push_back({s->Text(0), s->Text(1), s->Text(2), s->Text(3), s->Text(4), s->Int(5), s->Int(6),
                   s->Int(7)});
  }));
  return out;
}

Status SqliteAccessTokenTable::RevokeAccessToken(const std::string& id, int64_t revoked_at) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE access_tokens SET revoked_at = CASE WHEN revoked_at = 0 "
                              "THEN ? ELSE revoked_at END WHERE id = ?"));
  s->Bind(1, revoked_at).Bind(2, id);
  RETURN_IF_ERROR(s->Run());
  if (db.Changes() == 0) return NotFoundError("no access token with id '" + id + "'");
  return Status::Ok();
}

}  // namespace

std::unique_ptr<AccessTokenTable> NewSqliteAccessTokenTable(SqliteDb* db) {
  return std::make_unique<SqliteAccessTokenTable>(db);
}

}  // namespace gantry::store
