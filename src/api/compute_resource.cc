#include "api/compute_resource.h"

#include "api/views.h"
#include "compute/vm_sizes.h"

namespace gantry::api {

using http::Request;
using http::Response;
using workspace::Role;
using workspace::RouteAccess;
using workspace::RunAccess;

namespace {

// The body of POST /computes. A slurm target may give its node shape as cpus/gpus/memory_gb
// instead of a VM size.
Result<store::ComputeRecord> ComputeFromBody(const BodyFields& body) {
  store::ComputeRecord c;
  ASSIGN_OR_RETURN(c.name, body.String("name"));
  ASSIGN_OR_RETURN(c.type, body.String("type", "amlcompute"));
  const bool slurm = c.type == workspace::kSlurmType;
  ASSIGN_OR_RETURN(c.vm_size, body.String("vm_size", slurm ? "" : "STANDARD_D2_V2"));
  ASSIGN_OR_RETURN(c.min_nodes, body.Int("min_nodes", 0));
  ASSIGN_OR_RETURN(c.max_nodes, body.Int("max_nodes", 1));
  ASSIGN_OR_RETURN(c.idle_seconds_before_scaledown, body.Int("idle_seconds_before_scaledown", 120));
  for (const char* key : {"partition", "account", "qos", "sbatch_args", "cpus", "gpus", "memory_gb",
                          "server_url", "ca_file", "node_work_dir"}) {
    if (body.Has(key)) c.properties[key] = body.json()[key];
  }
  return c;
}

}  // namespace

void ComputeResource::AddTo(Routes& routes) {
  const std::string p = std::string(kApiPrefix) + "/computes";
  const RouteAccess read = RouteAccess::Read(RunAccess::kAny);
  routes.Add("GET", std::string(kApiPrefix) + "/vm-sizes", read,
             [this](Request& r) { return VmSizes(r); });
  routes.Add("POST", p, RouteAccess::Write(Role::kOwner), [this](Request& r) { return Create(r); });
  routes.Add("GET", p, read, [this](Request& r) { return List(r); });
  routes.Add("GET", p + "/{name}", read, [this](Request& r) { return Get(r); });
  routes.Add("DELETE", p + "/{name}", RouteAccess::Write(Role::kOwner),
             [this](Request& r) { return Delete(r); });
}

Response ComputeResource::VmSizes(Request&) {
  Json out = Json::array();
  for (const auto& s : compute::AllVmSizes()) {
    out.push_back(
        {{"name", s.name}, {"cpus", s.cpus}, {"memory_gb", s.memory_gb}, {"gpus", s.gpus}});
  }
  return Response::FromJson(200, {{"vm_sizes", out}});
}

Response ComputeResource::Create(Request& req) {
  auto body = BodyFields::Parse(req);
  if (!body.has_value()) return Error(body.error());
  auto record = ComputeFromBody(*body);
  if (!record.has_value()) return Error(record.error());
  auto created = computes_.Create(std::move(*record));
  if (!created.has_value()) return Error(created.error());
  return Response::FromJson(201, ComputeToJson(*created));
}

Response ComputeResource::List(Request&) {
  auto list = computes_.List();
  if (!list.has_value()) return Error(list.error());
  Json out = Json::array();
  for (const auto& t : *list) out.push_back(ComputeToJson(t));
  return Response::FromJson(200, {{"computes", out}});
}

Response ComputeResource::Get(Request& req) {
  auto t = computes_.Get(req.Param("name"));
  if (!t.has_value()) return Error(t.error());
  return Response::FromJson(200, ComputeToJson(*t));
}

Response ComputeResource::Delete(Request& req) {
  const std::string& name = req.Param("name");
  Status st = computes_.Delete(name);
  if (!st.ok()) return Error(st);
  return Response::FromJson(200, {{"deleted", name}});
}

}  // namespace gantry::api
