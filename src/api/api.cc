#include "api/api.h"

#include <functional>

#include "artifacts/tree.h"
#include "common/clock.h"
#include "common/hashing.h"
#include "compute/vm_sizes.h"
#include "jobs/run_messages.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Principal;
using workspace::Role;
using workspace::RouteAccess;
using workspace::RunAccess;

namespace {

constexpr char kPrefix[] = "/api/v1";
// Blob uploads: checked before their body is read too (Api::BeforeBody).
const RouteAccess kBlobUpload = RouteAccess::Upload();

Response Error(const Status& s) { return Response::FromStatus(s); }

Json EventToJson(const store::StatusEvent& e) {
  return Json{{"status", e.status}, {"time", FormatIsoTime(e.time)}, {"time_ms", e.time},
              {"detail", e.detail}};
}

Json MetricValue(const store::MetricPoint& p) {
  if (p.value_json.empty()) return p.value;
  Json v = Json::parse(p.value_json, nullptr, false);
  return v.is_discarded() ? Json(p.value_json) : v;
}

Result<int64_t> QueryInt(const Request& r, const std::string& name, int64_t fallback) {
  std::string v = r.Query(name);
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size() && n >= 0) return n;
  } catch (const std::exception&) {
  }
  return Err(InvalidArgumentError("query parameter '" + name + "' must be a non-negative integer, "
                                  "got '" + v + "'"));
}

Result<int64_t> VersionParam(const Request& req) {
  const std::string& v = req.Param("version");
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used == v.size() && n > 0) return n;
  } catch (const std::exception&) {
  }
  return Err(InvalidArgumentError("version must be a positive integer, got '" + v + "'"));
}

// The read routes every versioned asset has: list (filtered by ?name=), latest, one version.
using AddRoute =
    std::function<void(const std::string&, const std::string&, RouteAccess, http::Handler)>;

template <typename Record>
void AddVersionedReads(const AddRoute& Add, const std::string& p, const char* list_key,
                       std::function<Result<std::vector<Record>>(const std::string&)> list,
                       std::function<Result<Record>(const std::string&, int64_t)> get,
                       Json (*to_json)(const Record&)) {
  Add("GET", p, RouteAccess::Read(RunAccess::kAny), [=](Request& req) {
    auto records = list(req.Query("name"));
    if (!records.has_value()) return Error(records.error());
    Json out = Json::array();
    for (const auto& record : *records) out.push_back(to_json(record));
    return Response::FromJson(200, {{list_key, out}});
  });
  Add("GET", p + "/{name}", RouteAccess::Read(RunAccess::kAny), [=](Request& req) {
    auto record = get(req.Param("name"), 0);
    if (!record.has_value()) return Error(record.error());
    return Response::FromJson(200, to_json(*record));
  });
  Add("GET", p + "/{name}/versions/{version}", RouteAccess::Read(RunAccess::kAny), [=](Request& req) {
    auto version = VersionParam(req);
    if (!version.has_value()) return Error(version.error());
    auto record = get(req.Param("name"), *version);
    if (!record.has_value()) return Error(record.error());
    return Response::FromJson(200, to_json(*record));
  });
}

Result<Json> JsonBody(const Request& r) { return ParseJson(r.body, "request body"); }

Result<store::ArtifactRecord> ArtifactFromJson(const Json& j) {
  if (!j.is_object()) return Err(InvalidArgumentError("each artifact must be an object"));
  store::ArtifactRecord a;
  ASSIGN_OR_RETURN(a.path, GetString(j, "path"));
  ASSIGN_OR_RETURN(a.blob, GetString(j, "blob"));
  ASSIGN_OR_RETURN(a.size, GetInt(j, "size"));
  ASSIGN_OR_RETURN(int64_t mode, GetInt(j, "mode", 0644));
  if (mode < 0 || mode > 07777) {
    return Err(InvalidArgumentError("artifact '" + a.path + "' has a bad mode"));
  }
  // Permission bits only: a setuid, setgid or sticky bit is dropped on upload.
  a.mode = static_cast<uint32_t>(mode) & 0777u;
  // The one rule for paths, blobs and sizes in trees (artifacts/tree.h).
  Status valid = artifacts::ValidateTreeEntry(
      artifacts::TreeEntry{.path = a.path, .blob = a.blob, .size = a.size, .mode = a.mode});
  if (!valid.ok()) return Err(valid.WithPrefix("artifact"));
  return a;
}

}  // namespace

Json RunToJson(const store::RunRecord& run) {
  Json j = {{"name", run.name},
            {"display_name", run.display_name},
            {"experiment_name", run.experiment_name},
            {"status", run.status},
            {"status_detail", run.status_detail},
            {"compute", run.compute},
            {"created_at", FormatIsoTime(run.created_at)},
            {"started_at", FormatIsoTime(run.started_at)},
            {"ended_at", FormatIsoTime(run.ended_at)},
            {"created_at_ms", run.created_at},
            {"started_at_ms", run.started_at},
            {"ended_at_ms", run.ended_at},
            {"error", run.error},
            {"exit_code", run.exit_code ? Json(*run.exit_code) : Json(nullptr)},
            {"tags", run.tags},
            {"spec", run.spec.value("job", Json::object())},
            {"input_trees", run.spec.value("input_trees", Json::object())},
            {"datasets", run.spec.value("datasets", Json::array())},
            {"environment", run.spec.value("environment", Json())},
            {"snapshot_id", run.snapshot_id}};
  // The batch system's job id (Slurm) on a slurm target.
  if (!run.launch_id.empty()) j["compute_job_id"] = run.launch_id;
  return j;
}

Api::Api(workspace::AccessService* access, workspace::RunService* runs,
         workspace::ModelService* models, workspace::DatasetService* datasets,
         workspace::ComputeService* computes, workspace::EnvironmentService* environments,
         artifacts::BlobStore* blobs, ApiOptions options)
    : access_(access),
      runs_(runs),
      models_(models),
      datasets_(datasets),
      computes_(computes),
      environments_(environments),
      blobs_(blobs),
      options_(std::move(options)) {
  AddRoutes();
  AddAccessRoutes();
  if (models_) AddModelRoutes();
  if (datasets_) AddDatasetRoutes();
  if (computes_) AddComputeRoutes();
  if (environments_) AddEnvironmentRoutes();
}

namespace {
Json EnvironmentToJson(const store::EnvironmentRecord& e) {
  Json stand_in = nullptr;
  if (auto s = workspace::StandInFor(e.name)) {
    stand_in = {{"environment", s->environment}, {"reason", s->reason}};
  }
  return Json{{"name", e.name},
              {"stand_in", stand_in},
              {"version", e.version},
              {"id", e.name + ":" + std::to_string(e.version)},
              {"description", e.description},
              {"spec", e.spec},
              {"hash", e.hash},
              {"curated", workspace::EnvironmentService::IsReservedName(e.name)},
              {"created_at", FormatIsoTime(e.created_at)}};
}
}  // namespace

void Api::AddEnvironmentRoutes() {
  const std::string p = std::string(kPrefix) + "/environments";
  Add("POST", p, RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    auto name = GetString(*body, "name");
    auto description = GetString(*body, "description");
    if (!name.has_value()) return Error(name.error());
    if (!description.has_value()) return Error(description.error());
    auto e = environments_->Register(*name, body->value("spec", Json::object()), *description);
    if (!e.has_value()) return Error(e.error());
    return Response::FromJson(201, EnvironmentToJson(*e));
  });
  AddVersionedReads<store::EnvironmentRecord>(
      Adder(), p, "environments", [this](const std::string&) { return environments_->List(); },
      [this](const std::string& name, int64_t v) { return environments_->Get(name, v); },
      &EnvironmentToJson);
}

namespace {
Json ComputeToJson(const workspace::ComputeTarget& t) {
  return Json{{"name", t.record.name},
              {"type", t.record.type},
              {"vm_size", t.record.vm_size},
              {"min_nodes", t.record.min_nodes},
              {"max_nodes", t.record.max_nodes},
              {"idle_seconds_before_scaledown", t.record.idle_seconds_before_scaledown},
              {"capacity", t.capacity},
              {"node", {{"cpus", t.shape.cpus}, {"memory_gb", t.shape.memory_gb},
                        {"gpus", t.shape.gpus}}},
              {"properties", t.record.properties},
              {"provisioning_state", "Succeeded"},
              {"created_at", FormatIsoTime(t.record.created_at)}};
}
}  // namespace

void Api::AddComputeRoutes() {
  const std::string p = std::string(kPrefix) + "/computes";
  Add("GET", std::string(kPrefix) + "/vm-sizes", RouteAccess::Read(RunAccess::kAny), [](Request&) {
    Json out = Json::array();
    for (const auto& s : compute::AllVmSizes()) {
      out.push_back({{"name", s.name}, {"cpus", s.cpus}, {"memory_gb", s.memory_gb}, {"gpus", s.gpus}});
    }
    return Response::FromJson(200, {{"vm_sizes", out}});
  });
  Add("POST", p, RouteAccess::Write(Role::kOwner), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    store::ComputeRecord c;
    auto name = GetString(*body, "name");
    auto type = GetString(*body, "type", "amlcompute");
    // A slurm target may give its node shape as cpus/gpus/memory_gb instead of a VM size.
    const bool slurm = type.has_value() && *type == workspace::kSlurmType;
    auto size = GetString(*body, "vm_size", slurm ? "" : "STANDARD_D2_V2");
    auto min = GetInt(*body, "min_nodes", 0);
    auto max = GetInt(*body, "max_nodes", 1);
    auto idle = GetInt(*body, "idle_seconds_before_scaledown", 120);
    for (const Status& s : {internal::AsStatus(name), internal::AsStatus(type),
                            internal::AsStatus(size), internal::AsStatus(min),
                            internal::AsStatus(max), internal::AsStatus(idle)}) {
      if (!s.ok()) return Error(s);
    }
    c.name = *name;
    c.type = *type;
    c.vm_size = *size;
    c.min_nodes = *min;
    c.max_nodes = *max;
    c.idle_seconds_before_scaledown = *idle;
    for (const char* key : {"partition", "account", "qos", "sbatch_args", "cpus", "gpus",
                            "memory_gb", "server_url", "ca_file", "node_work_dir"}) {
      if (body->contains(key) && !(*body)[key].is_null()) c.properties[key] = (*body)[key];
    }
    auto created = computes_->Create(c);
    if (!created.has_value()) return Error(created.error());
    return Response::FromJson(201, ComputeToJson(*created));
  });
  Add("GET", p, RouteAccess::Read(RunAccess::kAny), [this](Request&) {
    auto list = computes_->List();
    if (!list.has_value()) return Error(list.error());
    Json out = Json::array();
    for (const auto& t : *list) out.push_back(ComputeToJson(t));
    return Response::FromJson(200, {{"computes", out}});
  });
  Add("GET", p + "/{name}", RouteAccess::Read(RunAccess::kAny), [this](Request& req) {
    auto t = computes_->Get(req.Param("name"));
    if (!t.has_value()) return Error(t.error());
    return Response::FromJson(200, ComputeToJson(*t));
  });
  Add("DELETE", p + "/{name}", RouteAccess::Write(Role::kOwner), [this](Request& req) {
    const std::string& name = req.Param("name");
    auto pending = runs_->List({.statuses = {"Queued", "Preparing", "Starting", "Running",
                                             "Finalizing", "CancelRequested"},
                                .compute = name,
                                .limit = 1});
    if (!pending.has_value()) return Error(pending.error());
    Status st = computes_->Delete(name, !pending->empty());
    if (!st.ok()) return Error(st);
    return Response::FromJson(200, {{"deleted", name}});
  });
}

Json DatasetToJson(const store::DatasetRecord& d) {
  return Json{{"name", d.name},
              {"version", d.version},
              {"id", d.name + ":" + std::to_string(d.version)},
              {"description", d.description},
              {"type", d.type},
              {"tree_id", d.tree_id},
              {"sources", d.sources},
              {"tags", d.tags},
              {"created_at", FormatIsoTime(d.created_at)},
              {"created_at_ms", d.created_at}};
}

Json ModelToJson(const store::ModelRecord& m) {
  return Json{{"name", m.name},
              {"version", m.version},
              {"id", m.name + ":" + std::to_string(m.version)},
              {"description", m.description},
              {"tree_id", m.tree_id},
              {"framework", m.framework},
              {"framework_version", m.framework_version},
              {"type", m.type},
              {"tags", m.tags},
              {"properties", m.properties},
              {"resource_configuration", m.resource_configuration},
              {"run", m.run_name},
              {"datasets", m.datasets},
              {"created_at", FormatIsoTime(m.created_at)},
              {"created_at_ms", m.created_at}};
}

namespace {
Result<std::map<std::string, std::string>> StringMap(const Json& body, const char* field) {
  std::map<std::string, std::string> out;
  if (!body.contains(field) || body[field].is_null()) return out;
  if (!body[field].is_object()) {
    return Err(InvalidArgumentError(std::string("field '") + field + "' must be an object"));
  }
  for (const auto& [k, v] : body[field].items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

}  // namespace

void Api::AddDatasetRoutes() {
  const std::string p = std::string(kPrefix) + "/datasets";
  Add("POST", p, RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object()) return Error(InvalidArgumentError("expected a JSON object"));
    workspace::RegisterDatasetRequest reg;
    for (auto [field, target] : std::initializer_list<std::pair<const char*, std::string*>>{
             {"name", &reg.name}, {"description", &reg.description}, {"tree_id", &reg.tree_id}}) {
      auto v = GetString(*body, field);
      if (!v.has_value()) return Error(v.error());
      *target = *v;
    }
    auto type = GetString(*body, "type", "uri_folder");
    auto version = GetInt(*body, "version", 0);
    if (!type.has_value()) return Error(type.error());
    if (!version.has_value()) return Error(version.error());
    reg.type = *type;
    reg.version = *version;
    if (reg.version < 0) return Error(InvalidArgumentError("'version' must be positive"));
    if (body->contains("create_new_version")) {
      if (!(*body)["create_new_version"].is_boolean()) {
        return Error(InvalidArgumentError("field 'create_new_version' must be true or false"));
      }
      reg.create_new_version = (*body)["create_new_version"].get<bool>();
    }
    auto tags = StringMap(*body, "tags");
    if (!tags.has_value()) return Error(tags.error());
    for (const auto& [k, v] : *tags) reg.tags[k] = v;
    if (body->contains("urls")) {
      if (!(*body)["urls"].is_array()) return Error(InvalidArgumentError("field 'urls' must be a list"));
      for (const auto& u : (*body)["urls"]) {
        if (!u.is_string()) return Error(InvalidArgumentError("field 'urls' must hold strings"));
        reg.urls.push_back(u.get<std::string>());
      }
    }
    reg.sources = body->value("sources", Json::array());
    if (reg.sources.empty()) {
      for (const auto& u : reg.urls) reg.sources.push_back(u);
    }
    reg.cancelled = [&req] { return req.ClientGone(); };
    auto d = datasets_->Register(reg);
    if (!d.has_value()) return Error(d.error());
    return Response::FromJson(201, DatasetToJson(*d));
  });
  AddVersionedReads<store::DatasetRecord>(
      Adder(), p, "datasets", [this](const std::string& name) { return datasets_->List(name); },
      [this](const std::string& name, int64_t v) { return datasets_->Get(name, v); },
      &DatasetToJson);
}

void Api::AddModelRoutes() {
  const std::string p = std::string(kPrefix) + "/models";
  Add("POST", p, RouteAccess::Write(Role::kContributor, RunAccess::kAny), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object()) return Error(InvalidArgumentError("expected a JSON object"));
    workspace::RegisterModelRequest reg;
    store::ModelRecord& m = reg.model;
    for (auto [field, target] : std::initializer_list<std::pair<const char*, std::string*>>{
             {"name", &m.name}, {"description", &m.description}, {"framework", &m.framework},
             {"framework_version", &m.framework_version}, {"type", &m.type},
             {"tree_id", &reg.tree_id}, {"run", &reg.run_name}, {"path", &reg.run_path}}) {
      auto v = GetString(*body, field, field == std::string("type") ? "custom_model" : "");
      if (!v.has_value()) return Error(v.error());
      *target = *v;
    }
    auto tags = StringMap(*body, "tags");
    auto props = StringMap(*body, "properties");
    if (!tags.has_value()) return Error(tags.error());
    if (!props.has_value()) return Error(props.error());
    for (const auto& [k, v] : *tags) m.tags[k] = v;
    for (const auto& [k, v] : *props) m.properties[k] = v;
    if (body->contains("resource_configuration")) {
      m.resource_configuration = (*body)["resource_configuration"];
      if (!m.resource_configuration.is_null() && !m.resource_configuration.is_object()) {
        return Error(InvalidArgumentError("field 'resource_configuration' must be an object"));
      }
    }
    if (body->contains("datasets")) {
      m.datasets = (*body)["datasets"];
      if (!m.datasets.is_array()) return Error(InvalidArgumentError("field 'datasets' must be a list"));
    }
    // A run's token registers models of its own run only.
    if (auto who = Caller(req); who.has_value() && who->kind == Principal::Kind::kRun &&
                                reg.run_name != who->run) {
      return Error(PermissionDeniedError("the token of run '" + who->run +
                                         "' may only register models from that run"));
    }
    auto model = models_->Register(std::move(reg));
    if (!model.has_value()) return Error(model.error());
    return Response::FromJson(201, ModelToJson(*model));
  });
  AddVersionedReads<store::ModelRecord>(
      Adder(), p, "models", [this](const std::string& name) { return models_->List(name); },
      [this](const std::string& name, int64_t v) { return models_->Get(name, v); },
      &ModelToJson);
  Add("POST", p + "/{name}/versions/{version}/tags", RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto v = VersionParam(req);
    if (!v.has_value()) return Error(v.error());
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    auto add = StringMap(*body, "add");
    if (!add.has_value()) return Error(add.error());
    std::vector<std::string> remove;
    if (body->contains("remove")) {
      if (!(*body)["remove"].is_array()) return Error(InvalidArgumentError("field 'remove' must be a list"));
      for (const auto& k : (*body)["remove"]) {
        if (k.is_string()) remove.push_back(k.get<std::string>());
      }
    }
    auto m = models_->UpdateTags(req.Param("name"), *v, *add, remove);
    if (!m.has_value()) return Error(m.error());
    return Response::FromJson(200, ModelToJson(*m));
  });
  Add("POST", p + "/{name}/versions/{version}/properties", RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto v = VersionParam(req);
    if (!v.has_value()) return Error(v.error());
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    auto add = StringMap(*body, "add");
    if (!add.has_value()) return Error(add.error());
    auto m = models_->AddProperties(req.Param("name"), *v, *add);
    if (!m.has_value()) return Error(m.error());
    return Response::FromJson(200, ModelToJson(*m));
  });
}

Response Api::Handle(Request& request) const { return router_.Route(request); }

namespace {
Json TokenToJson(const store::AccessTokenRecord& t) {
  Json j = {{"id", t.id},
            {"name", t.name},
            {"role", t.role},
            {"created_by", t.created_by},
            {"created_at", FormatIsoTime(t.created_at)},
            {"expires_at", t.expires_at ? Json(FormatIsoTime(t.expires_at)) : Json(nullptr)},
            {"revoked_at", t.revoked_at ? Json(FormatIsoTime(t.revoked_at)) : Json(nullptr)}};
  return j;
}
}  // namespace

void Api::AddAccessRoutes() {
  const std::string p = std::string(kPrefix);
  Add("POST", p + "/tokens", RouteAccess::Write(Role::kOwner), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    auto role_name = GetString(*body, "role", "contributor");
    auto name = GetString(*body, "name");
    auto expires = GetInt(*body, "expires_in_seconds", 0);
    for (const Status& st : {internal::AsStatus(role_name), internal::AsStatus(name),
                             internal::AsStatus(expires)}) {
      if (!st.ok()) return Error(st);
    }
    auto role = workspace::ParseRole(*role_name);
    if (!role.has_value()) return Error(role.error());
    if (*expires < 0 || *expires > int64_t{100} * 366 * 86400) {
      return Error(InvalidArgumentError("'expires_in_seconds' must be between 0 (never) and "
                                        "100 years"));
    }
    auto creator = Caller(req);
    auto created = access_->CreateToken(*role, *name, *expires * 1000,
                                        creator.has_value() ? creator->Describe() : "");
    if (!created.has_value()) return Error(created.error());
    Json out = TokenToJson(created->record);
    out["token"] = created->secret;
    return Response::FromJson(201, out);
  });
  Add("GET", p + "/tokens", RouteAccess::Secret(), [this](Request&) {
    auto all = access_->ListTokens();
    if (!all.has_value()) return Error(all.error());
    Json out = Json::array();
    for (const auto& t : *all) out.push_back(TokenToJson(t));
    return Response::FromJson(200, {{"tokens", out}});
  });
  Add("DELETE", p + "/tokens/{id}", RouteAccess::Write(Role::kOwner), [this](Request& req) {
    Status st = access_->RevokeToken(req.Param("id"));
    if (!st.ok()) return Error(st);
    return Response::FromJson(200, {{"revoked", req.Param("id")}});
  });
  Add("GET", p + "/whoami", RouteAccess::Read(RunAccess::kAny), [this](Request& req) {
    auto who = Caller(req);
    if (!who.has_value()) return Error(who.error());
    Json out = {{"principal", who->Describe()}};
    if (who->kind == Principal::Kind::kUser) {
      out["kind"] = "user";
      out["role"] = std::string(workspace::RoleName(who->role));
      out["token_id"] = who->token_id;
    } else {
      out["kind"] = "run";
      out["run"] = who->run;
    }
    return Response::FromJson(200, out);
  });
  Add("GET", p + "/audit", RouteAccess::Secret(), [this](Request& req) {
    auto after = QueryInt(req, "after", 0);
    auto limit = QueryInt(req, "limit", 1000);
    if (!after.has_value()) return Error(after.error());
    if (!limit.has_value()) return Error(limit.error());
    auto records = access_->ListAudit(*after, static_cast<int>(std::min<int64_t>(*limit, 100000)));
    if (!records.has_value()) return Error(records.error());
    Json out = Json::array();
    for (const auto& r : *records) {
      out.push_back({{"id", r.id}, {"time", FormatIsoTime(r.time)}, {"time_ms", r.time},
                     {"principal", r.principal}, {"method", r.method}, {"path", r.path},
                     {"status", r.status}, {"remote", r.remote}});
    }
    return Response::FromJson(200, {{"records", out}});
  });
}

Api::AddRoute Api::Adder() {
  return [this](const std::string& method, const std::string& pattern, RouteAccess access,
                http::Handler handler) { Add(method, pattern, access, std::move(handler)); };
}

void Api::Add(const std::string& method, const std::string& pattern, RouteAccess access,
              http::Handler handler) {
  router_.Add(method, pattern, [this, access, handler = std::move(handler)](Request& req) {
    return Guarded(access, handler, req);
  });
}

Result<Principal> Api::Caller(const Request& req) const {
  std::string credential = req.Credential();
  if (credential.empty()) {
    // With authentication off (a loopback-only server started with --no-auth) nobody needs
    // a credential: every caller acts as the owner.
    if (!options_.require_auth) return Principal::User(Role::kOwner, "none");
    return Principal::Anonymous();
  }
  if (credential.starts_with(workspace::RunService::kRunTokenPrefix)) {
    ASSIGN_OR_RETURN(workspace::RunTokenOwner owner, runs_->AuthenticateRunToken(credential));
    return Principal::Run(std::move(owner.run), owner.ended);
  }
  return access_->Authenticate(credential);
}

// The one credential check: every route goes through Guarded, and so through here, before its
// handler; large uploads also before their body is read (BeforeBody).
Status Api::Check(const RouteAccess& access, const Request& req, Principal& who) const {
  if (!workspace::SameOrigin(req.Header("origin"), req.Header("host"))) {
    // A page in the user's browser must not drive the API of a server it is not served by.
    return PermissionDeniedError("cross-origin request refused: Origin '" + req.Header("origin") +
                                 "' is not this server");
  }
  if (access.open) return Status::Ok();
  auto caller = Caller(req);
  if (!caller.has_value()) return caller.error();
  who = std::move(*caller);
  return workspace::Authorize(who, access,
                              access.run == RunAccess::kOwnRun ? req.Param("name") : std::string());
}

namespace {
Response Refusal(const Status& st) {
  Response response = Response::FromStatus(st);
  if (st.code() == StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gantry\"");
  }
  return response;
}
}  // namespace

Response Api::Guarded(const RouteAccess& access, const http::Handler& handler,
                      Request& req) const {
  Principal who = Principal::Anonymous();
  Status allowed = Check(access, req, who);
  Response response = allowed.ok() ? handler(req) : Refusal(allowed);
  // The audit log keeps what people change, and every refused attempt to change something;
  // runners' own reports (logs, metrics, heartbeats) would drown it.
  if (access.audited && (who.kind != Principal::Kind::kRun || !allowed.ok())) {
    access_->Audit(who, req.method, req.path, response.status, req.remote_address);
  }
  return response;
}

std::optional<Response> Api::BeforeBody(const Request& head) const {
  if (BodyToFile(head.method, head.path).empty() && BodyLimit(head.method, head.path) <=
                                                        options_.max_json_bytes) {
    return std::nullopt;  // small bodies are checked with their route, after they arrive
  }
  Principal who = Principal::Anonymous();
  Status allowed = Check(kBlobUpload, head, who);
  if (allowed.ok()) return std::nullopt;
  return Refusal(allowed);
}

size_t Api::BodyLimit(const std::string& method, const std::string& path) const {
  if (method == "PUT" && path.rfind(std::string(kPrefix) + "/blobs/", 0) == 0) {
    return options_.max_blob_bytes;
  }
  return options_.max_json_bytes;
}

std::string Api::BodyToFile(const std::string& method, const std::string& path) const {
  if (method == "PUT" && path.rfind(std::string(kPrefix) + "/blobs/", 0) == 0) {
    return options_.upload_dir;
  }
  return "";
}

void Api::AddRoutes() {
  const std::string p = kPrefix;

  Add("GET", p + "/health", RouteAccess::Open(), [this](Request&) {
    return Response::FromJson(
        200, {{"status", "ok"}, {"workspace", options_.workspace_name}, {"version", "0.1.0"}});
  });

  // Blobs and trees.
  Add("POST", p + "/blobs/missing", RouteAccess::Upload(), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->contains("blobs") || !(*body)["blobs"].is_array()) {
      return Error(InvalidArgumentError("field 'blobs' must be a list of SHA-256 ids"));
    }
    Json missing = Json::array();
    for (const auto& b : (*body)["blobs"]) {
      if (!b.is_string() || !IsSha256Hex(b.get<std::string>())) {
        return Error(InvalidArgumentError("field 'blobs' holds an invalid SHA-256 id"));
      }
      if (!blobs_->Has(b.get<std::string>())) missing.push_back(b);
    }
    return Response::FromJson(200, {{"missing", missing}});
  });
  Add("PUT", p + "/blobs/{sha}", kBlobUpload, [this](Request& req) {
    const std::string& sha = req.Param("sha");
    if (!IsSha256Hex(sha)) return Error(InvalidArgumentError("'" + sha + "' is not a SHA-256 id"));
    Status st = req.body_file.empty() ? blobs_->PutExpecting(sha, req.body)
                                      : blobs_->PutFileExpecting(sha, req.body_file);
    if (!st.ok()) return Error(st);
    return Response::FromJson(201, {{"blob", sha}});
  });
  Add("GET", p + "/blobs/{sha}", RouteAccess::Read(RunAccess::kAny), [this](Request& req) {
    auto data = blobs_->Get(req.Param("sha"));
    if (!data.has_value()) return Error(data.error());
    return Response::Text(200, std::move(*data), "application/octet-stream");
  });
  Add("POST", p + "/trees", RouteAccess::Upload(), [this](Request& req) {
    auto tree = artifacts::Tree::FromJson(req.body);
    if (!tree.has_value()) return Error(tree.error());
    for (const auto& e : tree->entries()) {
      if (!blobs_->Has(e.blob)) {
        return Error(FailedPreconditionError("blob " + e.blob + " of '" + e.path +
                                             "' is not uploaded"));
      }
    }
    auto id = artifacts::StoreTree(*blobs_, *tree);
    if (!id.has_value()) return Error(id.error());
    return Response::FromJson(201, {{"id", *id}, {"files", tree->entries().size()},
                                    {"bytes", tree->TotalBytes()}});
  });
  Add("GET", p + "/trees/{id}", RouteAccess::Read(RunAccess::kAny), [this](Request& req) {
    auto tree = artifacts::LoadTree(*blobs_, req.Param("id"));
    if (!tree.has_value()) return Error(tree.error());
    return Response::Text(200, tree->ToJson(), "application/json");
  });

  // Runs.
  Add("POST", p + "/runs", RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object() || !body->contains("spec")) {
      return Error(InvalidArgumentError("field 'spec' is required"));
    }
    auto spec = jobs::JobSpec::FromJson((*body)["spec"]);
    if (!spec.has_value()) return Error(spec.error());
    workspace::SubmitRequest submit;
    submit.spec = std::move(*spec);
    auto snapshot = GetString(*body, "snapshot_id");
    if (!snapshot.has_value()) return Error(snapshot.error());
    submit.snapshot_id = *snapshot;
    if (body->contains("input_trees")) {
      const Json& trees = (*body)["input_trees"];
      if (!trees.is_object()) return Error(InvalidArgumentError("'input_trees' must be an object"));
      for (const auto& [k, v] : trees.items()) {
        if (!v.is_string()) return Error(InvalidArgumentError("input_trees." + k + " must be a string"));
        submit.input_trees[k] = v.get<std::string>();
      }
    }
    auto run = runs_->Submit(submit);
    if (!run.has_value()) return Error(run.error());
    return Response::FromJson(201, RunToJson(*run));
  });
  Add("GET", p + "/runs", RouteAccess::Read(), [this](Request& req) {
    store::RunFilter filter;
    filter.experiment_name = req.Query("experiment");
    if (!req.Query("status").empty()) filter.statuses = {req.Query("status")};
    auto limit = QueryInt(req, "limit", 100);
    if (!limit.has_value()) return Error(limit.error());
    filter.limit = static_cast<int>(*limit);
    auto runs = runs_->List(filter);
    if (!runs.has_value()) return Error(runs.error());
    Json out = Json::array();
    for (const auto& run : *runs) out.push_back(RunToJson(run));
    return Response::FromJson(200, {{"runs", out}});
  });
  Add("GET", p + "/runs/{name}", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    const std::string& name = req.Param("name");
    auto run = runs_->Get(name);
    if (!run.has_value()) return Error(run.error());
    Json j = RunToJson(*run);
    Json history = Json::array();
    for (const auto& e : runs_->History(name).value_or(std::vector<store::StatusEvent>{})) {
      history.push_back(EventToJson(e));
    }
    j["status_history"] = history;
    Json metrics = Json::object();
    if (auto latest = runs_->LatestMetrics(name); latest.has_value()) {
      for (const auto& m : *latest) metrics[m.key] = MetricValue(m);
    }
    j["metrics"] = metrics;
    Json logs = Json::array();
    if (auto streams = runs_->Logs(name); streams.has_value()) {
      for (const auto& [stream, size] : *streams) logs.push_back({{"stream", stream}, {"size", size}});
    }
    j["logs"] = logs;
    return Response::FromJson(200, j);
  });
  Add("POST", p + "/runs/{name}/cancel", RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto run = runs_->Cancel(req.Param("name"));
    if (!run.has_value()) return Error(run.error());
    return Response::FromJson(200, RunToJson(*run));
  });
  Add("GET", p + "/runs/{name}/events", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    auto since = QueryInt(req, "since", 0);
    auto offset = QueryInt(req, "offset", 0);
    auto wait = QueryInt(req, "wait_ms", 0);
    for (const auto* q : {&since, &offset, &wait}) {
      if (!q->has_value()) return Error(q->error());
    }
    auto ev = runs_->WaitForEvents(req.Param("name"), static_cast<size_t>(*since), *offset,
                                   std::min<int64_t>(*wait, 30000));
    if (!ev.has_value()) return Error(ev.error());
    Json events = Json::array();
    for (const auto& e : ev->events) events.push_back(EventToJson(e));
    return Response::FromJson(200, {{"status", ev->status},
                                    {"events", events},
                                    {"next", ev->next},
                                    {"log", ev->log},
                                    {"offset", ev->offset},
                                    {"terminal", ev->terminal}});
  });
  Add("GET", p + "/runs/{name}/logs/{stream...}", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    auto offset = QueryInt(req, "offset", 0);
    auto limit = QueryInt(req, "limit", 64 << 20);
    if (!offset.has_value()) return Error(offset.error());
    if (!limit.has_value()) return Error(limit.error());
    if (auto run = runs_->Get(req.Param("name")); !run.has_value()) return Error(run.error());
    auto text = runs_->ReadLog(req.Param("name"), req.Param("stream"), *offset, *limit);
    if (!text.has_value()) return Error(text.error());
    return Response::Text(200, std::move(*text));
  });
  Add("GET", p + "/runs/{name}/metrics", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    if (auto run = runs_->Get(req.Param("name")); !run.has_value()) return Error(run.error());
    auto points = runs_->Metrics(req.Param("name"), req.Query("key"));
    if (!points.has_value()) return Error(points.error());
    auto rank = QueryInt(req, "rank", -1);
    if (!rank.has_value()) return Error(rank.error());
    Json out = Json::object();
    for (const auto& m : *points) {
      if (*rank >= 0 && m.rank != *rank) continue;
      Json point = {{"step", m.step}, {"value", MetricValue(m)}, {"timestamp", m.timestamp}};
      if (m.rank >= 0) point["rank"] = m.rank;
      out[m.key].push_back(std::move(point));
    }
    return Response::FromJson(200, {{"metrics", out}});
  });
  Add("GET", p + "/runs/{name}/artifacts", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    if (auto run = runs_->Get(req.Param("name")); !run.has_value()) return Error(run.error());
    auto list = runs_->Artifacts(req.Param("name"), req.Query("prefix"));
    if (!list.has_value()) return Error(list.error());
    Json out = Json::array();
    for (const auto& a : *list) {
      out.push_back({{"path", a.path}, {"blob", a.blob}, {"size", a.size}, {"mode", a.mode}});
    }
    return Response::FromJson(200, {{"artifacts", out}});
  });
  Add("GET", p + "/runs/{name}/artifacts/content/{path...}", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    const std::string& path = req.Param("path");
    if (!IsSafeRelativePath(path)) {
      return Error(InvalidArgumentError("artifact path '" + path + "' must stay inside the run"));
    }
    auto list = runs_->Artifacts(req.Param("name"), path);
    if (!list.has_value()) return Error(list.error());
    for (const auto& a : *list) {
      if (a.path != path) continue;
      auto data = blobs_->Get(a.blob);
      if (!data.has_value()) return Error(data.error());
      return Response::Text(200, std::move(*data), "application/octet-stream");
    }
    return Error(NotFoundError("run '" + req.Param("name") + "' has no artifact '" + path + "'"));
  });

  // Runner endpoints.
  Add("POST", p + "/runs/{name}/status", RouteAccess::RunReport(), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    auto report = jobs::StatusReportFromJson(*body);
    if (!report.has_value()) return Error(report.error());
    auto run = runs_->ReportStatus(req.Param("name"), req.BearerToken(), *report);
    if (!run.has_value()) return Error(run.error());
    return Response::FromJson(200, RunToJson(*run));
  });
  Add("POST", p + "/runs/{name}/heartbeat", RouteAccess::RunReport(), [this](Request& req) {
    auto reply = runs_->Heartbeat(req.Param("name"), req.BearerToken());
    if (!reply.has_value()) return Error(reply.error());
    return Response::FromJson(200, jobs::RunControlReplyToJson(*reply));
  });
  Add("POST", p + "/runs/{name}/nodes/{rank}", RouteAccess::RunReport(), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    const std::string& rank = req.Param("rank");
    if (rank.empty() || rank.size() > 6 || rank.find_first_not_of("0123456789") != std::string::npos) {
      return Error(InvalidArgumentError("node rank '" + rank + "' is not a non-negative integer"));
    }
    auto report = jobs::NodeReportFromJson(*body, std::stoll(rank));
    if (!report.has_value()) return Error(report.error());
    auto view = runs_->ReportNode(req.Param("name"), req.BearerToken(), std::move(*report));
    if (!view.has_value()) return Error(view.error());
    return Response::FromJson(200, jobs::NodesViewToJson(*view));
  });
  Add("GET", p + "/runs/{name}/nodes", RouteAccess::Read(RunAccess::kOwnRun), [this](Request& req) {
    auto view = runs_->Nodes(req.Param("name"));
    if (!view.has_value()) return Error(view.error());
    return Response::FromJson(200, jobs::NodesViewToJson(*view));
  });
  Add("POST", p + "/runs/{name}/logs/{stream...}", RouteAccess::RunReport(), [this](Request& req) {
    auto offset = QueryInt(req, "offset", 0);
    if (!offset.has_value()) return Error(offset.error());
    auto length = runs_->AppendLog(req.Param("name"), req.BearerToken(), req.Param("stream"),
                                   *offset, req.body);
    if (!length.has_value()) return Error(length.error());
    return Response::FromJson(200, {{"length", *length}});
  });
  Add("POST", p + "/runs/{name}/metrics", RouteAccess::RunReport(), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object() || !body->contains("metrics") || !(*body)["metrics"].is_array()) {
      return Error(InvalidArgumentError("field 'metrics' must be a list"));
    }
    std::vector<store::MetricPoint> points;
    points.reserve((*body)["metrics"].size());
    for (const auto& m : (*body)["metrics"]) {
      if (!m.is_object()) return Error(InvalidArgumentError("each metric must be an object"));
      store::MetricPoint point;
      auto key = m.find("key");
      if (key == m.end() || !key->is_string()) {
        return Error(InvalidArgumentError("each metric needs a string 'key'"));
      }
      point.key = key->get<std::string>();
      auto value = m.find("value");
      if (value == m.end()) {
        return Error(InvalidArgumentError("metric '" + point.key + "' has no 'value'"));
      }
      if (value->is_number()) {
        point.value = value->get<double>();
      } else {
        point.value_json = value->dump();
      }
      auto step = m.find("step");
      if (step != m.end() && !step->is_null()) {
        if (!step->is_number_integer() || step->get<int64_t>() < 0) {
          return Error(InvalidArgumentError("metric '" + point.key +
                                            "' has a 'step' that is not a non-negative integer"));
        }
        point.step = step->get<int64_t>();
      }
      auto ts = m.find("timestamp");
      if (ts != m.end() && ts->is_number_integer()) point.timestamp = ts->get<int64_t>();
      auto rank = m.find("rank");
      if (rank != m.end() && !rank->is_null()) {
        if (!rank->is_number_integer() || rank->get<int64_t>() < 0 || rank->get<int64_t>() > 1'000'000) {
          return Error(InvalidArgumentError("metric '" + point.key +
                                            "' has a 'rank' that is not a process rank"));
        }
        point.rank = static_cast<int32_t>(rank->get<int64_t>());
      }
      points.push_back(std::move(point));
    }
    size_t n = points.size();
    auto through = QueryInt(req, "through", 0);
    if (!through.has_value()) return Error(through.error());
    Status st = runs_->AppendMetrics(req.Param("name"), req.BearerToken(), std::move(points),
                                     *through, req.Query("sender"));
    if (!st.ok()) return Error(st);
    return Response::FromJson(200, {{"accepted", n}});
  });
  Add("POST", p + "/runs/{name}/tags", RouteAccess::RunReport(), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object() || !body->contains("tags") || !(*body)["tags"].is_object()) {
      return Error(InvalidArgumentError("field 'tags' must be an object"));
    }
    std::map<std::string, std::string> tags;
    for (const auto& [k, v] : (*body)["tags"].items()) {
      tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    auto run = runs_->SetTags(req.Param("name"), req.BearerToken(), tags);
    if (!run.has_value()) return Error(run.error());
    return Response::FromJson(200, RunToJson(*run));
  });
  // Files added to a run from outside its runner (run.log_image and run.upload_file in a
  // notebook), or by the run's own scripts: never replacing one (RunService::AddFiles).
  Add("POST", p + "/runs/{name}/files", RouteAccess::Write(Role::kContributor, RunAccess::kOwnRun),
      [this](Request& req) {
        auto body = JsonBody(req);
        if (!body.has_value()) return Error(body.error());
        if (!body->is_object() || !body->contains("files") || !(*body)["files"].is_array()) {
          return Error(InvalidArgumentError("field 'files' must be a list"));
        }
        std::vector<store::ArtifactRecord> files;
        for (const auto& f : (*body)["files"]) {
          auto rec = ArtifactFromJson(f);
          if (!rec.has_value()) return Error(rec.error());
          files.push_back(std::move(*rec));
        }
        Status st = runs_->AddFiles(req.Param("name"), files);
        if (!st.ok()) return Error(st);
        return Response::FromJson(201, {{"count", files.size()}});
      });
  Add("POST", p + "/runs/{name}/artifacts", RouteAccess::RunReport(), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object() || !body->contains("artifacts") || !(*body)["artifacts"].is_array()) {
      return Error(InvalidArgumentError("field 'artifacts' must be a list"));
    }
    std::vector<store::ArtifactRecord> artifacts;
    for (const auto& a : (*body)["artifacts"]) {
      auto rec = ArtifactFromJson(a);
      if (!rec.has_value()) return Error(rec.error());
      artifacts.push_back(std::move(*rec));
    }
    Status st = runs_->AddArtifacts(req.Param("name"), req.BearerToken(), artifacts);
    if (!st.ok()) return Error(st);
    return Response::FromJson(200, {{"count", artifacts.size()}});
  });
}

}  // namespace gantry::api

namespace gantry::api {

Json EndpointToJson(const store::EndpointRecord& e, const std::string& base_url) {
  return Json{{"name", e.name},
              {"description", e.description},
              {"auth_mode", e.auth_mode},
              {"scoring_uri", base_url + "/endpoints/" + http::UrlEncode(e.name) + "/score"},
              {"traffic", e.traffic},
              {"tags", e.tags},
              {"created_at", FormatIsoTime(e.created_at)},
              {"updated_at", FormatIsoTime(e.updated_at)}};
}

Json ReplicasToJson(const std::vector<workspace::ReplicaStatus>& replicas) {
  Json out = Json::array();
  for (const auto& r : replicas) {
    out.push_back({{"index", r.index},
                   {"pid", r.pid},
                   {"port", r.port},
                   {"state", r.state},
                   {"restarts", r.restarts},
                   {"last_exit", r.last_exit}});
  }
  return out;
}

Json DeploymentToJson(const store::DeploymentRecord& d,
                      const std::vector<workspace::ReplicaStatus>& replicas) {
  const Json& spec = d.spec;
  Json model = spec.value("model", Json::object());
  return Json{{"name", d.name},
              {"endpoint_name", d.endpoint},
              {"provisioning_state", d.state},
              {"error", d.error},
              {"generation", d.generation},
              {"model", model.value("name", "") + ":" + std::to_string(model.value("version", 0))},
              {"model_framework", model.value("framework", "")},
              {"backend", spec.value("backend", "")},
              {"scoring_script", spec.value("scoring_script", "")},
              {"environment", spec.contains("environment") && spec["environment"].is_object()
                                  ? Json(spec["environment"].value("name", "") + ":" +
                                         std::to_string(spec["environment"].value("version", 0)))
                                  : Json(nullptr)},
              {"instance_type", spec.value("instance_type", "")},
              {"instance_count", spec.value("instance_count", 1)},
              {"request_settings", spec.value("request_settings", Json::object())},
              {"replicas", ReplicasToJson(replicas)},
              {"created_at", FormatIsoTime(d.created_at)},
              {"updated_at", FormatIsoTime(d.updated_at)}};
}

namespace {

std::string BaseUrl(const Request& r) {
  std::string host = r.Header("host");
  return (r.tls ? "https://" : "http://") + (host.empty() ? std::string("127.0.0.1") : host);
}

// Reads an optional field into `out` when present with the right type; InvalidArgument
// naming it otherwise.
Status OptionalInt(const Json& body, const char* field, int64_t& out) {
  if (!body.contains(field) || body[field].is_null()) return Status::Ok();
  auto value = IntFromJson(body[field], field);
  if (!value.has_value()) return value.error();
  out = *value;
  return Status::Ok();
}

Status OptionalObject(const Json& body, const char* field, Json& out) {
  if (!body.contains(field) || body[field].is_null()) return Status::Ok();
  if (!body[field].is_object()) {
    return InvalidArgumentError(std::string("field '") + field + "' must be an object");
  }
  out = body[field];
  return Status::Ok();
}

}  // namespace

void Api::AddEndpointRoutes(workspace::EndpointService* endpoints) {
  endpoints_ = endpoints;
  const std::string p = std::string(kPrefix) + "/endpoints";
  Add("POST", p, RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object()) return Error(InvalidArgumentError("expected a JSON object"));
    workspace::EndpointRequest e;
    for (auto [field, target, fallback] :
         std::initializer_list<std::tuple<const char*, std::string*, const char*>>{
             {"name", &e.name, ""}, {"description", &e.description, ""},
             {"auth_mode", &e.auth_mode, "key"}}) {
      auto v = GetString(*body, field, fallback);
      if (!v.has_value()) return Error(v.error());
      *target = *v;
    }
    if (Status st = OptionalObject(*body, "tags", e.tags); !st.ok()) return Error(st);
    auto created = endpoints_->CreateEndpoint(e);
    if (!created.has_value()) return Error(created.error());
    return Response::FromJson(201, EndpointToJson(*created, BaseUrl(req)));
  });
  Add("GET", p, RouteAccess::Read(), [this](Request& req) {
    auto all = endpoints_->ListEndpoints();
    if (!all.has_value()) return Error(all.error());
    Json out = Json::array();
    for (const auto& e : *all) out.push_back(EndpointToJson(e, BaseUrl(req)));
    return Response::FromJson(200, {{"endpoints", out}});
  });
  Add("GET", p + "/{name}", RouteAccess::Read(), [this](Request& req) {
    auto e = endpoints_->GetEndpoint(req.Param("name"));
    if (!e.has_value()) return Error(e.error());
    Json out = EndpointToJson(*e, BaseUrl(req));
    Json names = Json::array();
    if (auto deps = endpoints_->ListDeployments(e->name); deps.has_value()) {
      for (const auto& d : *deps) names.push_back({{"name", d.name}, {"provisioning_state", d.state}});
    }
    out["deployments"] = names;
    return Response::FromJson(200, out);
  });
  Add("PATCH", p + "/{name}", RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object()) return Error(InvalidArgumentError("expected a JSON object"));
    workspace::EndpointUpdate u;
    if (body->contains("traffic")) u.traffic = (*body)["traffic"];
    if (body->contains("tags")) u.tags = (*body)["tags"];
    if (body->contains("description")) {
      auto d = GetString(*body, "description");
      if (!d.has_value()) return Error(d.error());
      u.description = *d;
    }
    auto e = endpoints_->UpdateEndpoint(req.Param("name"), u);
    if (!e.has_value()) return Error(e.error());
    return Response::FromJson(200, EndpointToJson(*e, BaseUrl(req)));
  });
  Add("DELETE", p + "/{name}", RouteAccess::Write(Role::kOwner), [this](Request& req) {
    Status st = endpoints_->DeleteEndpoint(req.Param("name"));
    if (!st.ok()) return Error(st);
    return Response::FromJson(200, {{"deleted", req.Param("name")}});
  });
  Add("GET", p + "/{name}/keys", RouteAccess::Secret(), [this](Request& req) {
    auto e = endpoints_->GetEndpoint(req.Param("name"));
    if (!e.has_value()) return Error(e.error());
    return Response::FromJson(200, {{"primaryKey", e->primary_key},
                                    {"secondaryKey", e->secondary_key}});
  });
  Add("POST", p + "/{name}/keys/regenerate", RouteAccess::Write(Role::kOwner), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    auto which = GetString(*body, "key_type", "primary");
    if (!which.has_value()) return Error(which.error());
    auto e = endpoints_->RegenerateKey(req.Param("name"), *which);
    if (!e.has_value()) return Error(e.error());
    return Response::FromJson(200, {{"primaryKey", e->primary_key},
                                    {"secondaryKey", e->secondary_key}});
  });
  Add("PUT", p + "/{name}/deployments/{deployment}", RouteAccess::Write(Role::kContributor), [this](Request& req) {
    auto body = JsonBody(req);
    if (!body.has_value()) return Error(body.error());
    if (!body->is_object()) return Error(InvalidArgumentError("expected a JSON object"));
    workspace::DeploymentRequest d;
    d.endpoint = req.Param("name");
    d.name = req.Param("deployment");
    for (auto [field, target] : std::initializer_list<std::pair<const char*, std::string*>>{
             {"model", &d.model}, {"code_tree", &d.code_tree},
             {"scoring_script", &d.scoring_script}, {"environment", &d.environment},
             {"instance_type", &d.instance_type}}) {
      auto v = GetString(*body, field);
      if (!v.has_value()) return Error(v.error());
      *target = *v;
    }
    for (auto [field, target] : std::initializer_list<std::pair<const char*, int64_t*>>{
             {"instance_count", &d.instance_count}, {"max_batch_size", &d.max_batch_size}}) {
      if (Status st = OptionalInt(*body, field, *target); !st.ok()) return Error(st);
    }
    for (auto [field, target] : std::initializer_list<std::pair<const char*, Json*>>{
             {"request_settings", &d.request_settings},
             {"environment_variables", &d.environment_variables}}) {
      if (Status st = OptionalObject(*body, field, *target); !st.ok()) return Error(st);
    }
    if (body->contains("all_traffic")) {
      if (!(*body)["all_traffic"].is_boolean()) {
        return Error(InvalidArgumentError("field 'all_traffic' must be true or false"));
      }
      d.all_traffic = (*body)["all_traffic"].get<bool>();
    }
    auto put = endpoints_->PutDeployment(d);
    if (!put.has_value()) return Error(put.error());
    return Response::FromJson(put->generation == 1 ? 201 : 200,
                              DeploymentToJson(*put, endpoints_->Replicas(d.endpoint, d.name)));
  });
  Add("GET", p + "/{name}/deployments", RouteAccess::Read(), [this](Request& req) {
    auto all = endpoints_->ListDeployments(req.Param("name"));
    if (!all.has_value()) return Error(all.error());
    Json out = Json::array();
    for (const auto& d : *all) {
      out.push_back(DeploymentToJson(d, endpoints_->Replicas(d.endpoint, d.name)));
    }
    return Response::FromJson(200, {{"deployments", out}});
  });
  Add("GET", p + "/{name}/deployments/{deployment}", RouteAccess::Read(), [this](Request& req) {
    auto d = endpoints_->GetDeployment(req.Param("name"), req.Param("deployment"));
    if (!d.has_value()) return Error(d.error());
    return Response::FromJson(200, DeploymentToJson(*d, endpoints_->Replicas(d->endpoint, d->name)));
  });
  Add("GET", p + "/{name}/deployments/{deployment}/logs", RouteAccess::Read(), [this](Request& req) {
    auto lines = QueryInt(req, "lines", 5000);
    if (!lines.has_value()) return Error(lines.error());
    auto text = endpoints_->DeploymentLogs(req.Param("name"), req.Param("deployment"), *lines);
    if (!text.has_value()) return Error(text.error());
    return Response::Text(200, *text);
  });
  Add("DELETE", p + "/{name}/deployments/{deployment}", RouteAccess::Write(Role::kOwner), [this](Request& req) {
    Status st = endpoints_->DeleteDeployment(req.Param("name"), req.Param("deployment"));
    if (!st.ok()) return Error(st);
    return Response::FromJson(200, {{"deleted", req.Param("deployment")}});
  });

  // Scoring: /endpoints/NAME/score and every other model-server path (v2, v1, /).
  auto score = [this](Request& req) {
    std::string path = "/" + req.Param("path");
    if (!req.query.empty()) {
      std::string q;
      for (const auto& [k, v] : req.query) {
        q += (q.empty() ? "?" : "&") + http::UrlEncode(k) + "=" + http::UrlEncode(v);
      }
      path += q;
    }
    // The inference protocols' own headers go to the model server and back.
    std::map<std::string, std::string> headers;
    for (const char* name : workspace::kForwardedHeaders) {
      if (std::string value = req.Header(name); !value.empty()) headers[name] = value;
    }
    auto result = endpoints_->Score(req.Param("name"), req.BearerToken(),
                                    req.Header("azureml-model-deployment"), req.method, path,
                                    req.body, req.Header("content-type"), headers);
    if (!result.has_value()) {
      Response err = Error(result.error());
      if (result.error().code() == StatusCode::kUnauthenticated) {
        err.headers.emplace_back("WWW-Authenticate", "Bearer");
      }
      return err;
    }
    Response out;
    out.status = result->response.status;
    out.body = std::move(result->response.body);
    out.content_type = result->response.content_type.empty() ? "application/json"
                                                             : result->response.content_type;
    out.headers.emplace_back("azureml-model-deployment", result->deployment);
    for (const auto& [name, value] : result->response.headers) out.headers.emplace_back(name, value);
    return out;
  };
  Add("POST", "/endpoints/{name}/{path...}", RouteAccess::Open(), score);
  Add("GET", "/endpoints/{name}/{path...}", RouteAccess::Open(), score);
}

}  // namespace gantry::api
