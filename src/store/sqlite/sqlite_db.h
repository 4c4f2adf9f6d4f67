// SqliteDb: the narrow SQLite client every table of the SQLite store is written against — one
// connection, its cache of prepared statements, and the mutex that guards both. Opening sets
// the pragmas every store relies on (WAL, synchronous=NORMAL, foreign keys); the schema is
// sqlite_migrations' business, the rows each table's.
//
// Thread-safe: the connection is reached only through a SqliteDb::Locked, which holds the
// mutex for as long as it lives, so a table method takes Lock() once and runs every statement
// (and any SqliteTransaction) under it. Statements and transactions must not outlive the
// Locked they came from.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace gantry::store {

// A prepared statement, reset after each use.
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& Bind(int i, const std::string& v);
  SqliteStatement& BindBlob(int i, std::string_view v);
  SqliteStatement& Bind(int i, int64_t v);
  SqliteStatement& Bind(int i, double v);
  SqliteStatement& BindNull(int i);
  // Steps once: true when a row is available. A constraint violation is AlreadyExists, any
  // other failure Internal.
  Result<bool> Step();
  // Steps once for a statement without rows, then resets.
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
  void Reset();
  int64_t Int(int col);
  double Double(int col);
  bool IsNull(int col);
  // A TEXT or BLOB column's bytes, "" for NULL.
  std::string Text(int col);

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDb {
 public:
  // Opens or creates the database at `path` (":memory:" for a private one) and sets the
  // connection's pragmas. Unavailable when the file cannot be opened.
  static Result<std::unique_ptr<SqliteDb>> Open(const std::string& path);
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // The connection while the mutex is held; the only way to run SQL.
  class Locked {
   public:
    Locked(Locked&&) = default;

    // Runs one or more statements without results. Internal on failure.
    Status Exec(const char* sql);
    // The statement for `sql`, prepared once and cached by the address of `sql`: pass a
    // literal or a static string. Internal when it does not compile.
    Result<SqliteStatement*> Prepare(const char* sql);
    // A statement for SQL that varies per call (not cached; it finalizes when dropped).
    Result<std::unique_ptr<SqliteStatement>> PrepareOnce(const std::string& sql);
    // Rows changed by the last INSERT, UPDATE or DELETE.
    int64_t Changes();
    // The rowid of the last INSERT.
    int64_t LastInsertRowid();

   private:
    friend class SqliteDb;
    friend class SqliteTransaction;
    explicit Locked(SqliteDb* db) : db_(db), lock_(db->mu_) {}

    SqliteDb* db_;
    std::unique_lock<std::mutex> lock_;
  };
  Locked Lock() { return Locked(this); }

 private:
  friend class SqliteTransaction;
  explicit SqliteDb(sqlite3* db) : db_(db) {}

  std::mutex mu_;
  sqlite3* db_;                                                         // guarded by mu_
  std::map<const char*, std::unique_ptr<SqliteStatement>> statements_;  // guarded by mu_
};

// BEGIN IMMEDIATE on construction; Commit() commits, and the destructor rolls back what was
// not committed, so an early `return` of an error undoes the transaction's writes.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteDb::Locked& db);
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  // Internal when the commit fails (the transaction is then rolled back).
  Status Commit();

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace gantry::store
