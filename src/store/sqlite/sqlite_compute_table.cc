// SqliteComputeTable: the ComputeTable of the SQLite store, over the computes table.
// Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

constexpr const char* kComputeColumns =
    "name, type, vm_size, min_nodes, max_nodes, idle_seconds, created_at, properties";
ComputeRecord ReadCompute(SqliteStatement& s) {
  Json props = Json::parse(s.Text(7), nullptr, false);
  return ComputeRecord{s.Text(0), s.Text(1), s.Text(2), s.Int(3),
                       s.Int(4),  s.Int(5),  s.Int(6),  props.is_object() ? props : Json::object()};
}

class SqliteComputeTable final : public ComputeTable {
 public:
  explicit SqliteComputeTable(SqliteDb* db) : db_(db) {}

  Status CreateCompute(const ComputeRecord& compute) override;
  Result<ComputeRecord> GetCompute(const std::string& name) override;
  Result<std::vector<ComputeRecord>> ListComputes() override;
  Status DeleteCompute(const std::string& name) override;

 private:
  SqliteDb* db_;
};

Status SqliteComputeTable::CreateCompute(const ComputeRecord& c) {
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

Result<ComputeRecord> SqliteComputeTable::GetCompute(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kComputeColumns + " FROM computes WHERE name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadCompute(*s); },
                NotFoundError("no compute target named '" + name + "'"));
}

Result<std::vector<ComputeRecord>> SqliteComputeTable::ListComputes() {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kComputeColumns + " FROM computes ORDER BY name";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  std::vector<ComputeRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadCompute(*s)); }));
  return out;
}

Status SqliteComputeTable::DeleteCompute(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare("DELETE FROM computes WHERE name = ?"));
  RETURN_IF_ERROR(s->Bind(1, name).Run());
  if (db.Changes() == 0) return NotFoundError("no compute target named '" + name + "'");
  return Status::Ok();
}

}  // namespace

std::unique_ptr<ComputeTable> NewSqliteComputeTable(SqliteDb* db) {
  return std::make_unique<SqliteComputeTable>(db);
}

}  // namespace gantry::store
