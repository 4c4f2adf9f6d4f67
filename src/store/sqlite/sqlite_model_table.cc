// SqliteModelTable: the ModelTable of the SQLite store, over the models table.
// Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
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

class SqliteModelTable final : public ModelTable {
 public:
  explicit SqliteModelTable(SqliteDb* db) : db_(db) {}

  Status CreateModel(ModelRecord& model) override;
  Result<ModelRecord> GetModel(const std::string& name, int64_t version) override;
  Result<std::vector<ModelRecord>> ListModels(const std::string& name) override;
  Status UpdateModel(const ModelRecord& model) override;

 private:
  SqliteDb* db_;
};

Status SqliteModelTable::CreateModel(ModelRecord& model) {
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

Result<ModelRecord> SqliteModelTable::GetModel(const std::string& name, int64_t version) {
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

Result<std::vector<ModelRecord>> SqliteModelTable::ListModels(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kModelColumns +
                                  " FROM models WHERE (? = '' OR name = ?) ORDER BY name, version";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, name);
  std::vector<ModelRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadModel(*s)); }));
  return out;
}

Status SqliteModelTable::UpdateModel(const ModelRecord& model) {
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

}  // namespace

std::unique_ptr<ModelTable> NewSqliteModelTable(SqliteDb* db) {
  return std::make_unique<SqliteModelTable>(db);
}

}  // namespace gantry::store
