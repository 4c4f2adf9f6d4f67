#include "store/sqlite/sqlite_db.h"

#include <sqlite3.h>

namespace gantry::store {

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::Bind(int i, const std::string& v) {
  sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::BindBlob(int i, std::string_view v) {
  sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

SqliteStatement& SqliteStatement::Bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

SqliteStatement& SqliteStatement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> SqliteStatement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (rc == SQLITE_CONSTRAINT) {
    return Err(AlreadyExistsError(std::string("constraint: ") + sqlite3_errmsg(db_)));
  }
  return Err(InternalError(std::string("sqlite: ") + sqlite3_errmsg(db_)));
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStatement::Int(int col) { return sqlite3_column_int64(stmt_, col); }

double SqliteStatement::Double(int col) { return sqlite3_column_double(stmt_, col); }

bool SqliteStatement::IsNull(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string SqliteStatement::Text(int col) {
  auto p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt_, col));
  int n = sqlite3_column_bytes(stmt_, col);
  return p ? std::string(p, static_cast<size_t>(n)) : std::string();
}

Result<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Err(UnavailableError("cannot open metadata database " + path + ": " + m));
  }
  sqlite3_busy_timeout(db, 5000);
  auto owned = std::unique_ptr<SqliteDb>(new SqliteDb(db));
  {
    Locked locked = owned->Lock();
    RETURN_IF_ERROR(locked.Exec("PRAGMA journal_mode=WAL"));
    RETURN_IF_ERROR(locked.Exec("PRAGMA synchronous=NORMAL"));
    RETURN_IF_ERROR(locked.Exec("PRAGMA foreign_keys=ON"));
  }
  return owned;
}

SqliteDb::~SqliteDb() {
  // Every statement is finalized before the connection closes.
  statements_.clear();
  sqlite3_close(db_);
}

Status SqliteDb::Locked::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_->db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown";
    sqlite3_free(err);
    return InternalError("sqlite: " + m);
  }
  return Status::Ok();
}

Result<SqliteStatement*> SqliteDb::Locked::Prepare(const char* sql) {
  auto& statements = db_->statements_;
  auto it = statements.find(sql);
  if (it != statements.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_->db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
      SQLITE_OK) {
    return Err(InternalError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_->db_)));
  }
  auto owned = std::make_unique<SqliteStatement>(db_->db_, stmt);
  SqliteStatement* raw = owned.get();
  statements[sql] = std::move(owned);
  return raw;
}

Result<std::unique_ptr<SqliteStatement>> SqliteDb::Locked::PrepareOnce(const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_->db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    return Err(InternalError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_->db_)));
  }
  return std::make_unique<SqliteStatement>(db_->db_, stmt);
}

int64_t SqliteDb::Locked::Changes() { return sqlite3_changes(db_->db_); }

int64_t SqliteDb::Locked::LastInsertRowid() { return sqlite3_last_insert_rowid(db_->db_); }

SqliteTransaction::SqliteTransaction(SqliteDb::Locked& db) : db_(db.db_->db_) {
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
}

SqliteTransaction::~SqliteTransaction() {
  if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status SqliteTransaction::Commit() {
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

}  // namespace gantry::store
