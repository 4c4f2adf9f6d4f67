// SqliteDatasetTable: the DatasetTable of the SQLite store, over the datasets table.
// Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

constexpr const char* kDatasetColumns =
    "name, version, description, type, tree, sources, tags, created_at";

DatasetRecord ReadDataset(SqliteStatement& s) {
  DatasetRecord d;
  d.name = s.Text(0);
  d.version = s.Int(1);
  d.description = s.Text(2);
  d.type = s.Text(3);
  d.tree_id = s.Text(4);
  d.sources = Json::parse(s.Text(5), nullptr, false);
  d.tags = Json::parse(s.Text(6), nullptr, false);
  d.created_at = s.Int(7);
  return d;
}

class SqliteDatasetTable final : public DatasetTable {
 public:
  explicit SqliteDatasetTable(SqliteDb* db) : db_(db) {}

  Status CreateDataset(DatasetRecord& dataset) override;
  Result<DatasetRecord> GetDataset(const std::string& name, int64_t version) override;
  Result<std::vector<DatasetRecord>> ListDatasets(const std::string& name) override;

 private:
  SqliteDb* db_;
};

Status SqliteDatasetTable::CreateDataset(DatasetRecord& d) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  if (d.version == 0) {
    ASSIGN_OR_RETURN(SqliteStatement * next,
                     db.Prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM datasets "
                                "WHERE name = ?"));
    next->Bind(1, d.name);
    auto row = next->Step();
    d.version = (row.has_value() && *row) ? next->Int(0) : 1;
    next->Reset();
    if (!row.has_value()) return row.error();
  }
  static const std::string kInsert =
      std::string("INSERT INTO datasets (") + kDatasetColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, d.name).Bind(2, d.version).Bind(3, d.description).Bind(4, d.type).Bind(5, d.tree_id);
  s->Bind(6, d.sources.dump()).Bind(7, d.tags.dump()).Bind(8, d.created_at);
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("dataset '" + d.name + "' already has a version " +
                              std::to_string(d.version));
  }
  RETURN_IF_ERROR(st);
  return tx.Commit();
}

Result<DatasetRecord> SqliteDatasetTable::GetDataset(const std::string& name, int64_t version) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kDatasetColumns +
                                  " FROM datasets WHERE name = ? AND (? = 0 OR version = ?) "
                                  "ORDER BY version DESC LIMIT 1";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, version).Bind(3, version);
  return s->One(
      [&] { return ReadDataset(*s); },
      NotFoundError(version ? "dataset '" + name + "' has no version " + std::to_string(version)
                            : "no dataset named '" + name + "'"));
}

Result<std::vector<DatasetRecord>> SqliteDatasetTable::ListDatasets(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kDatasetColumns +
      " FROM datasets WHERE (? = '' OR name = ?) ORDER BY name, version";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name).Bind(2, name);
  std::vector<DatasetRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadDataset(*s)); }));
  return out;
}

}  // namespace

std::unique_ptr<DatasetTable> NewSqliteDatasetTable(SqliteDb* db) {
  return std::make_unique<SqliteDatasetTable>(db);
}

}  // namespace gantry::store
