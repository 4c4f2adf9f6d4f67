// SqliteEnvironmentTable: the EnvironmentTable of the SQLite store, over the environments
// table. Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

EnvironmentRecord ReadEnvironment(SqliteStatement& s) {
  return EnvironmentRecord{s.Text(0), s.Int(1), s.Text(2), Json::parse(s.Text(3), nullptr, false),
                           s.Text(4), s.Int(5)};
}

class SqliteEnvironmentTable final : public EnvironmentTable {
 public:
  explicit SqliteEnvironmentTable(SqliteDb* db) : db_(db) {}

  Status CreateEnvironment(EnvironmentRecord& environment) override;
  Result<EnvironmentRecord> GetEnvironment(const std::string& name, int64_t version) override;
  Result<std::vector<EnvironmentRecord>> ListEnvironments() override;

 private:
  SqliteDb* db_;
};

Status SqliteEnvironmentTable::CreateEnvironment(EnvironmentRecord& e) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * next, db.Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM "
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

Result<EnvironmentRecord> SqliteEnvironmentTable::GetEnvironment(const std::string& name,
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

Result<std::vector<EnvironmentRecord>> SqliteEnvironmentTable::ListEnvironments() {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("SELECT name, version, description, spec, hash, "
                              "created_at FROM environments ORDER BY name, version"));
  std::vector<EnvironmentRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadEnvironment(*s)); }));
  return out;
}

}  // namespace

std::unique_ptr<EnvironmentTable> NewSqliteEnvironmentTable(SqliteDb* db) {
  return std::make_unique<SqliteEnvironmentTable>(db);
}

}  // namespace gantry::store
