// SqliteEndpointTable: the EndpointTable of the SQLite store, over the endpoints and
// deployments tables. Thread-safe: each method holds the connection's lock throughout.
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/sqlite_tables.h"

namespace gantry::store {
namespace {

constexpr const char* kEndpointColumns =
    "name, description, auth_mode, primary_key, secondary_key, traffic, tags, created_at, "
    "updated_at";
EndpointRecord ReadEndpoint(SqliteStatement& s) {
  return EndpointRecord{s.Text(0),
                        s.Text(1),
                        s.Text(2),
                        s.Text(3),
                        s.Text(4),
                        Json::parse(s.Text(5), nullptr, false),
                        Json::parse(s.Text(6), nullptr, false),
                        s.Int(7),
                        s.Int(8)};
}
constexpr const char* kDeploymentColumns =
    "endpoint, name, spec, state, error, generation, created_at, updated_at";
DeploymentRecord ReadDeployment(SqliteStatement& s) {
  return DeploymentRecord{s.Text(0), s.Text(1), Json::parse(s.Text(2), nullptr, false),
                          s.Text(3), s.Text(4), s.Int(5),
                          s.Int(6),  s.Int(7)};
}

class SqliteEndpointTable final : public EndpointTable {
 public:
  explicit SqliteEndpointTable(SqliteDb* db) : db_(db) {}

  Status CreateEndpoint(const EndpointRecord& endpoint) override;
  Result<EndpointRecord> GetEndpoint(const std::string& name) override;
  Result<std::vector<EndpointRecord>> ListEndpoints() override;
  Status UpdateEndpoint(const EndpointRecord& endpoint) override;
  Status DeleteEndpoint(const std::string& name) override;
  Status PutDeployment(const DeploymentRecord& deployment) override;
  Result<DeploymentRecord> GetDeployment(const std::string& endpoint,
                                         const std::string& name) override;
  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& endpoint) override;
  Status SetDeploymentState(const std::string& endpoint, const std::string& name,
                            int64_t generation, const std::string& state, const std::string& error,
                            int64_t updated_at) override;
  Status DeleteDeployment(const std::string& endpoint, const std::string& name) override;

 private:
  SqliteDb* db_;
};

Status SqliteEndpointTable::CreateEndpoint(const EndpointRecord& e) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kInsert =
      std::string("INSERT INTO endpoints (") + kEndpointColumns + ") VALUES (?,?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, e.name).Bind(2, e.description).Bind(3, e.auth_mode).Bind(4, e.primary_key);
  s->Bind(5, e.secondary_key).Bind(6, e.traffic.dump()).Bind(7, e.tags.dump());
  s->Bind(8, e.created_at).Bind(9, e.updated_at);
  Status st = s->Run();
  if (st.code() == StatusCode::kAlreadyExists) {
    return AlreadyExistsError("an endpoint named '" + e.name + "' already exists");
  }
  return st;
}

Result<EndpointRecord> SqliteEndpointTable::GetEndpoint(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints WHERE name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, name);
  return s->One([&] { return ReadEndpoint(*s); },
                NotFoundError("no endpoint named '" + name + "'"));
}

Result<std::vector<EndpointRecord>> SqliteEndpointTable::ListEndpoints() {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql =
      std::string("SELECT ") + kEndpointColumns + " FROM endpoints ORDER BY name";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  std::vector<EndpointRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadEndpoint(*s)); }));
  return out;
}

Status SqliteEndpointTable::UpdateEndpoint(const EndpointRecord& e) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE endpoints SET description = ?, auth_mode = ?, "
                              "primary_key = ?, secondary_key = ?, traffic = ?, tags = ?, "
                              "updated_at = ? "
                              "WHERE name = ?"));
  s->Bind(1, e.description).Bind(2, e.auth_mode).Bind(3, e.primary_key).Bind(4, e.secondary_key);
  s->Bind(5, e.traffic.dump()).Bind(6, e.tags.dump()).Bind(7, e.updated_at).Bind(8, e.name);
  RETURN_IF_ERROR(s->Run());
  if (db.Changes() == 0) return NotFoundError("no endpoint named '" + e.name + "'");
  return Status::Ok();
}

Status SqliteEndpointTable::DeleteEndpoint(const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * d, db.Prepare("DELETE FROM deployments WHERE endpoint = ?"));
  RETURN_IF_ERROR(d->Bind(1, name).Run());
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare("DELETE FROM endpoints WHERE name = ?"));
  RETURN_IF_ERROR(s->Bind(1, name).Run());
  if (db.Changes() == 0) return NotFoundError("no endpoint named '" + name + "'");
  return tx.Commit();
}

Status SqliteEndpointTable::PutDeployment(const DeploymentRecord& d) {
  SqliteDb::Locked db = db_->Lock();
  SqliteTransaction tx(db);
  ASSIGN_OR_RETURN(SqliteStatement * e, db.Prepare("SELECT 1 FROM endpoints WHERE name = ?"));
  e->Bind(1, d.endpoint);
  auto row = e->Step();
  bool exists = row.has_value() && *row;
  e->Reset();
  if (!row.has_value()) return row.error();
  if (!exists) return FailedPreconditionError("no endpoint named '" + d.endpoint + "'");
  static const std::string kInsert = std::string("INSERT OR REPLACE INTO deployments (") +
                                     kDeploymentColumns + ") VALUES (?,?,?,?,?,?,?,?)";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kInsert.c_str()));
  s->Bind(1, d.endpoint).Bind(2, d.name).Bind(3, d.spec.dump()).Bind(4, d.state);
  s->Bind(5, d.error).Bind(6, d.generation).Bind(7, d.created_at).Bind(8, d.updated_at);
  RETURN_IF_ERROR(s->Run());
  return tx.Commit();
}

Result<DeploymentRecord> SqliteEndpointTable::GetDeployment(const std::string& endpoint,
                                                            const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments WHERE endpoint = ? AND name = ?";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, endpoint).Bind(2, name);
  return s->One(
      [&] { return ReadDeployment(*s); },
      NotFoundError("endpoint '" + endpoint + "' has no deployment named '" + name + "'"));
}

Result<std::vector<DeploymentRecord>> SqliteEndpointTable::ListDeployments(
    const std::string& endpoint) {
  SqliteDb::Locked db = db_->Lock();
  static const std::string kSql = std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments WHERE (? = '' OR endpoint = ?) "
                                  "ORDER BY endpoint, name";
  ASSIGN_OR_RETURN(SqliteStatement * s, db.Prepare(kSql.c_str()));
  s->Bind(1, endpoint).Bind(2, endpoint);
  std::vector<DeploymentRecord> out;
  RETURN_IF_ERROR(s->ForEach([&] { out.push_back(ReadDeployment(*s)); }));
  return out;
}

Status SqliteEndpointTable::SetDeploymentState(const std::string& endpoint, const std::string& name,
                                               int64_t generation, const std::string& state,
                                               const std::string& error, int64_t updated_at) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("UPDATE deployments SET state = ?, error = ?, "
                              "updated_at = ? WHERE endpoint = ? AND name = ? AND "
                              "generation = ?"));
  RETURN_IF_ERROR(s->Bind(1, state)
                      .Bind(2, error)
                      .Bind(3, updated_at)
                      .Bind(4, endpoint)
                      .Bind(5, name)
                      .Bind(6, generation)
                      .Run());
  if (db.Changes() == 0) {
    return FailedPreconditionError("deployment '" + endpoint + "/" + name +
                                   "' is no longer at generation " + std::to_string(generation));
  }
  return Status::Ok();
}

Status SqliteEndpointTable::DeleteDeployment(const std::string& endpoint, const std::string& name) {
  SqliteDb::Locked db = db_->Lock();
  ASSIGN_OR_RETURN(SqliteStatement * s,
                   db.Prepare("DELETE FROM deployments WHERE endpoint = ? AND name = ?"));
  RETURN_IF_ERROR(s->Bind(1, endpoint).Bind(2, name).Run());
  if (db.Changes() == 0) {
    return NotFoundError("endpoint '" + endpoint + "' has no deployment named '" + name + "'");
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<EndpointTable> NewSqliteEndpointTable(SqliteDb* db) {
  return std::make_unique<SqliteEndpointTable>(db);
}

}  // namespace gantry::store
