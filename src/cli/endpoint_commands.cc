#include "cli/endpoint_commands.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/command_group.h"
#include "cli/uploader.h"
#include "common/files.h"
#include "http/http_types.h"
#include "jobs/yaml_json.h"

namespace gantry::cli {

namespace {

int Print(const Json& j) {
  std::cout << j.dump(2) << "\n";
  return 0;
}

std::string EndpointPath(const std::string& name) {
  return "/api/v1/endpoints/" + http::UrlEncode(name);
}

std::string DeploymentPath(const std::string& endpoint, const std::string& name) {
  return EndpointPath(endpoint) + "/deployments/" + http::UrlEncode(name);
}

Result<Json> LoadYaml(const std::string& file) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(file));
  ASSIGN_OR_RETURN(Json doc, jobs::YamlToJson(text, file));
  if (!doc.is_object()) return Err(InvalidArgumentError(file + ": expected a mapping"));
  return doc;
}

// A string field of a YAML document, or InvalidArgument naming file and field.
Result<std::string> YamlString(const Json& doc, const std::string& file, const char* field) {
  if (!doc.contains(field) || doc[field].is_null()) return std::string();
  if (!doc[field].is_string()) {
    return Err(InvalidArgumentError(file + ": '" + field + "' must be a string"));
  }
  return doc[field].get<std::string>();
}

Result<int64_t> YamlInt(const Json& doc, const std::string& file, const std::string& field,
                        int64_t fallback) {
  if (!doc.contains(field) || doc[field].is_null()) return fallback;
  const Json& v = doc[field];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    try {
      size_t used = 0;
      int64_t n = std::stoll(v.get<std::string>(), &used);
      if (used == v.get<std::string>().size()) return n;
    } catch (const std::exception&) {
    }
  }
  return Err(InvalidArgumentError(file + ": '" + field + "' must be an integer, got " + v.dump()));
}

// The deployment's model: a reference string, or {path, name, framework} uploaded and
// registered here.
Result<std::string> ModelReference(http::HttpClient& client, const Json& doc,
                                   const std::string& file, const fs::path& base,
                                   const std::string& fallback_name) {
  if (!doc.contains("model") || doc["model"].is_null()) {
    return Err(InvalidArgumentError(file + ": 'model' is required (azureml:NAME:VERSION or "
                                           "{path: ./model})"));
  }
  const Json& m = doc["model"];
  if (m.is_string()) return m.get<std::string>();
  if (!m.is_object() || !m.contains("path") || !m["path"].is_string()) {
    return Err(InvalidArgumentError(file + ": 'model' must be a reference string or a mapping "
                                           "with 'path'"));
  }
  fs::path p = base / m["path"].get<std::string>();
  std::error_code ec;
  if (!fs::exists(p, ec)) {
    return Err(NotFoundError(file + ": model path " + p.string() + " does not exist"));
  }
  ASSIGN_OR_RETURN(std::string tree,
                   UploadLocalPaths(client, {p.string()}, false, "model", nullptr));
  Json body = {{"name", m.value("name", fallback_name)},
               {"tree_id", tree},
               {"framework", m.value("framework", "")},
               {"framework_version", m.value("framework_version", "")},
               {"type", m.value("type", "custom_model")},
               {"description", m.value("description", "")}};
  ASSIGN_OR_RETURN(Json model, client.Call("POST", "/api/v1/models", body));
  std::cout << "Registered model " << model["name"].get<std::string>() << " version "
            << model["version"] << "\n";
  return model["name"].get<std::string>() + ":" + std::to_string(model["version"].get<int64_t>());
}

void PrintEndpoint(const Json& e) {
  std::cout << "Endpoint " << e["name"].get<std::string>() << "\n"
            << "  scoring_uri: " << e["scoring_uri"].get<std::string>() << "\n"
            << "  auth_mode:   " << e["auth_mode"].get<std::string>() << "\n"
            << "  traffic:     " << e["traffic"].dump() << "\n";
}

}  // namespace

Result<Json> ParseTraffic(const std::string& text) {
  Json out = Json::object();
  std::string item;
  auto flush = [&]() -> Status {
    if (item.empty()) return Status::Ok();
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return InvalidArgumentError("traffic item '" + item + "' must be DEPLOYMENT=PERCENT");
    }
    std::string value = item.substr(eq + 1);
    try {
      size_t used = 0;
      int64_t n = std::stoll(value, &used);
      if (used != value.size()) throw std::invalid_argument(value);
      out[item.substr(0, eq)] = n;
    } catch (const std::exception&) {
      return InvalidArgumentError("traffic for '" + item.substr(0, eq) +
                                  "' must be a whole percentage, got '" + value + "'");
    }
    item.clear();
    return Status::Ok();
  };
  for (char c : text) {
    if (c == ' ' || c == ',' || c == '\t') {
      RETURN_IF_ERROR(flush());
    } else {
      item += c;
    }
  }
  RETURN_IF_ERROR(flush());
  if (out.empty())
    return Err(InvalidArgumentError("--traffic is empty; e.g. \"blue=90 green=10\""));
  return out;
}

int EndpointCreate(const GlobalFlags& g, const EndpointFlags& f) {
  Json body = Json::object();
  if (!f.file.empty()) {
    auto doc = LoadYaml(f.file);
    if (!doc.has_value()) return ReportError(doc.error());
    for (const char* field : {"name", "auth_mode", "description"}) {
      auto v = YamlString(*doc, f.file, field);
      if (!v.has_value()) return ReportError(v.error());
      if (!v->empty()) body[field] = *v;
    }
    if (doc->contains("tags")) body["tags"] = (*doc)["tags"];
  }
  if (!f.name.empty()) body["name"] = f.name;
  if (!f.auth_mode.empty()) body["auth_mode"] = f.auth_mode;
  if (!f.description.empty()) body["description"] = f.description;
  if (!body.contains("name")) {
    return ReportError(InvalidArgumentError("give the endpoint's name with --name or in --file"));
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto e = (*client)->Call("POST", "/api/v1/endpoints", body);
  if (!e.has_value()) return ReportError(e.error());
  if (f.output == "json") return Print(*e);
  std::cout << "Created ";
  PrintEndpoint(*e);
  return 0;
}

int EndpointShow(const GlobalFlags& g, const EndpointFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto e = (*client)->Call("GET", EndpointPath(f.name));
  if (!e.has_value()) return ReportError(e.error());
  return Print(*e);
}

int EndpointList(const GlobalFlags& g, const EndpointFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call("GET", "/api/v1/endpoints");
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") return Print((*list)["endpoints"]);
  printf("%-32s %-6s %-30s %s\n", "NAME", "AUTH", "TRAFFIC", "SCORING URI");
  for (const auto& e : (*list)["endpoints"]) {
    printf("%-32s %-6s %-30s %s\n", e["name"].get<std::string>().c_str(),
           e["auth_mode"].get<std::string>().c_str(), e["traffic"].dump().c_str(),
           e["scoring_uri"].get<std::string>().c_str());
  }
  return 0;
}

int EndpointUpdate(const GlobalFlags& g, const EndpointFlags& f) {
  Json body = Json::object();
  if (!f.traffic.empty()) {
    auto traffic = ParseTraffic(f.traffic);
    if (!traffic.has_value()) return ReportError(traffic.error());
    body["traffic"] = *traffic;
  }
  if (!f.description.empty()) body["description"] = f.description;
  if (body.empty()) {
    return ReportError(InvalidArgumentError("nothing to update: give --traffic or --description"));
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto e = (*client)->Call("PATCH", EndpointPath(f.name), body);
  if (!e.has_value()) return ReportError(e.error());
  if (f.output == "json") return Print(*e);
  std::cout << "Updated ";
  PrintEndpoint(*e);
  return 0;
}

int EndpointDelete(const GlobalFlags& g, const EndpointFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  (*client)->set_timeout_ms(120'000);
  auto e = (*client)->Call("DELETE", EndpointPath(f.name));
  if (!e.has_value()) return ReportError(e.error());
  std::cout << "Deleted endpoint " << f.name << " and its deployments\n";
  return 0;
}

int EndpointGetCredentials(const GlobalFlags& g, const EndpointFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto keys = (*client)->Call("GET", EndpointPath(f.name) + "/keys");
  if (!keys.has_value()) return ReportError(keys.error());
  return Print(*keys);
}

int EndpointRegenerateKeys(const GlobalFlags& g, const EndpointFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto keys = (*client)->Call("POST", EndpointPath(f.name) + "/keys/regenerate",
                              {{"key_type", f.key_type}});
  if (!keys.has_value()) return ReportError(keys.error());
  std::cout << "Regenerated the " << f.key_type << " key of endpoint " << f.name << "\n";
  return 0;
}

int EndpointInvoke(const GlobalFlags& g, const EndpointFlags& f) {
  auto request = ReadFile(f.request_file);
  if (!request.has_value()) return ReportError(request.error());
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto keys = (*client)->Call("GET", EndpointPath(f.name) + "/keys");
  if (!keys.has_value()) return ReportError(keys.error());
  auto e = (*client)->Call("GET", EndpointPath(f.name));
  if (!e.has_value()) return ReportError(e.error());
  // The scoring URI is the server's own /endpoints/NAME/score.
  std::string base = (*client)->base_url();
  auto scorer = http::HttpClient::Create(
      base, {.timeout_ms = 300'000,
             .bearer_token = (*e)["auth_mode"] == "key" ? (*keys)["primaryKey"].get<std::string>()
                                                        : std::string(),
             .extra_headers = f.deployment.empty()
                                  ? std::map<std::string, std::string>{}
                                  : std::map<std::string, std::string>{{"azureml-model-deployment",
                                                                        f.deployment}},
             .ca_file = (*client)->options().ca_file});
  if (!scorer.has_value()) return ReportError(scorer.error());
  auto answer =
      (*scorer)->Send("POST", "/endpoints/" + http::UrlEncode(f.name) + "/score", *request);
  if (!answer.has_value()) return ReportError(answer.error());
  if (answer->status / 100 != 2) {
    return ReportError(http::StatusFromErrorBody(answer->status, answer->body));
  }
  std::cout << answer->body << (answer->body.ends_with("\n") ? "" : "\n");
  return 0;
}

int DeploymentCreate(const GlobalFlags& g, const DeploymentFlags& f) {
  if (f.file.empty()) return ReportError(InvalidArgumentError("--file deployment.yml is required"));
  auto doc = LoadYaml(f.file);
  if (!doc.has_value()) return ReportError(doc.error());
  fs::path base = fs::absolute(f.file).parent_path();
  auto name = YamlString(*doc, f.file, "name");
  auto endpoint = YamlString(*doc, f.file, "endpoint_name");
  if (!name.has_value()) return ReportError(name.error());
  if (!endpoint.has_value()) return ReportError(endpoint.error());
  std::string dep = f.name.empty() ? *name : f.name;
  std::string ep = f.endpoint.empty() ? *endpoint : f.endpoint;
  if (dep.empty())
    return ReportError(InvalidArgumentError(f.file + ": 'name' is required (or --name)"));
  if (ep.empty()) {
    return ReportError(
        InvalidArgumentError(f.file + ": 'endpoint_name' is required (or --endpoint-name)"));
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  // Check the endpoint before uploading anything.
  if (auto e = (*client)->Call("GET", EndpointPath(ep)); !e.has_value())
    return ReportError(e.error());

  Json body = Json::object();
  auto model = ModelReference(**client, *doc, f.file, base, ep + "-" + dep);
  if (!model.has_value()) return ReportError(model.error());
  body["model"] = *model;
  if (doc->contains("code_configuration") && !(*doc)["code_configuration"].is_null()) {
    const Json& cc = (*doc)["code_configuration"];
    auto code = YamlString(cc, f.file, "code");
    auto script = YamlString(cc, f.file, "scoring_script");
    if (!code.has_value()) return ReportError(code.error());
    if (!script.has_value()) return ReportError(script.error());
    if (code->empty() || script->empty()) {
      return ReportError(InvalidArgumentError(
          f.file + ": code_configuration needs 'code' (a folder) and 'scoring_script'"));
    }
    fs::path folder = base / *code;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) {
      return ReportError(
          NotFoundError(f.file + ": code folder " + folder.string() + " does not exist"));
    }
    auto tree = UploadFolder(**client, folder, "code", nullptr);
    if (!tree.has_value()) return ReportError(tree.error());
    body["code_tree"] = *tree;
    body["scoring_script"] = *script;
  }
  if (doc->contains("environment") && !(*doc)["environment"].is_null()) {
    if (!(*doc)["environment"].is_string()) {
      return ReportError(InvalidArgumentError(
          f.file +
          ": 'environment' must be a reference such as azureml:NAME:VERSION (register "
          "inline environments with `gantry environment create` first)"));
    }
    body["environment"] = (*doc)["environment"];
  }
  auto type = YamlString(*doc, f.file, "instance_type");
  if (!type.has_value()) return ReportError(type.error());
  body["instance_type"] = *type;
  for (const char* field : {"instance_count", "max_batch_size"}) {
    auto v = YamlInt(*doc, f.file, field, field == std::string("instance_count") ? 1 : 0);
    if (!v.has_value()) return ReportError(v.error());
    body[field] = *v;
  }
  if (doc->contains("request_settings") && (*doc)["request_settings"].is_object()) {
    Json settings = Json::object();
    for (const char* field : {"request_timeout_ms", "max_concurrent_requests_per_instance"}) {
      if (!(*doc)["request_settings"].contains(field)) continue;
      auto v = YamlInt((*doc)["request_settings"], f.file, field, 0);
      if (!v.has_value()) return ReportError(v.error());
      settings[field] = *v;
    }
    body["request_settings"] = settings;
  }
  if (doc->contains("environment_variables") && (*doc)["environment_variables"].is_object()) {
    Json vars = Json::object();
    for (const auto& [k, v] : (*doc)["environment_variables"].items()) {
      vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    body["environment_variables"] = vars;
  }
  body["all_traffic"] = f.all_traffic;
  auto put = (*client)->Call("PUT", DeploymentPath(ep, dep), body);
  if (!put.has_value()) return ReportError(put.error());
  std::cout << ((*put)["generation"] == 1 ? "Creating" : "Updating") << " deployment " << dep
            << " of endpoint " << ep << " (model " << (*put)["model"].get<std::string>()
            << ", backend " << (*put)["backend"].get<std::string>() << ")\n";
  if (f.no_wait) return 0;
  // Wait for the controller: bounded by the model servers' own readiness timeout.
  std::string last;
  for (int i = 0; i < 6000; ++i) {
    auto d = (*client)->Call("GET", DeploymentPath(ep, dep));
    if (!d.has_value()) return ReportError(d.error());
    std::string state = (*d)["provisioning_state"].get<std::string>();
    if (state != last) {
      std::cout << "  " << state << std::endl;
      last = state;
    }
    if (state == "Succeeded") {
      if (f.output == "json") return Print(*d);
      return 0;
    }
    if (state == "Failed") {
      return ReportError(FailedPreconditionError(
          "deployment " + dep + " failed: " + (*d)["error"].get<std::string>() +
          "\n(see `gantry online-deployment get-logs --name " + dep + " --endpoint-name " + ep +
          "`)"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ReportError(
      DeadlineExceededError("deployment " + dep + " is still " + last + " after 10 minutes"));
}

int DeploymentShow(const GlobalFlags& g, const DeploymentFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto d = (*client)->Call("GET", DeploymentPath(f.endpoint, f.name));
  if (!d.has_value()) return ReportError(d.error());
  return Print(*d);
}

int DeploymentList(const GlobalFlags& g, const DeploymentFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call("GET", EndpointPath(f.endpoint) + "/deployments");
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") return Print((*list)["deployments"]);
  printf("%-24s %-12s %-28s %-12s %s\n", "NAME", "STATE", "MODEL", "BACKEND", "REPLICAS READY");
  for (const auto& d : (*list)["deployments"]) {
    int ready = 0;
    for (const auto& r : d["replicas"]) ready += r["state"] == "Ready";
    printf("%-24s %-12s %-28s %-12s %d/%lld\n", d["name"].get<std::string>().c_str(),
           d["provisioning_state"].get<std::string>().c_str(),
           d["model"].get<std::string>().c_str(), d["backend"].get<std::string>().c_str(), ready,
           static_cast<long long>(d["instance_count"].get<int64_t>()));
  }
  return 0;
}

int DeploymentGetLogs(const GlobalFlags& g, const DeploymentFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto r = (*client)->Send(
      "GET", DeploymentPath(f.endpoint, f.name) + "/logs?lines=" + std::to_string(f.lines));
  if (!r.has_value()) return ReportError(r.error());
  if (r->status != 200) return ReportError(http::StatusFromErrorBody(r->status, r->body));
  std::cout << r->body;
  return 0;
}

int DeploymentDelete(const GlobalFlags& g, const DeploymentFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  (*client)->set_timeout_ms(120'000);
  auto d = (*client)->Call("DELETE", DeploymentPath(f.endpoint, f.name));
  if (!d.has_value()) return ReportError(d.error());
  std::cout << "Deleted deployment " << f.name << " of endpoint " << f.endpoint << "\n";
  return 0;
}

void AddEndpointCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static EndpointFlags epf;
  auto* ep_cmd = app.add_subcommand("online-endpoint",
                                    "Manage online endpoints (scoring URIs, keys, traffic)");
  ep_cmd->require_subcommand(1);
  auto add_ep = [&](const char* name, const char* help,
                    int (*fn)(const GlobalFlags&, const EndpointFlags&), bool needs_name) {
    return AddVerb(
        ep_cmd, name, help, global, {{"-n,--name", &epf.name, "Endpoint name", needs_name}},
        &epf.output, {{"endpoint name", &epf.name}}, [&global, fn] { return fn(global, epf); },
        result);
  };
  auto* epcreate =
      add_ep("create", "Create an endpoint (key auth by default)", EndpointCreate, false);
  epcreate->add_option("-f,--file", epf.file, "endpoint.yml (name, auth_mode, description, tags)");
  epcreate->add_option("--auth-mode", epf.auth_mode, "key (default) or none");
  epcreate->add_option("--description", epf.description, "Description");
  add_ep("show", "Show an endpoint", EndpointShow, true);
  add_ep("list", "List endpoints", EndpointList, false);
  auto* epupdate =
      add_ep("update", "Update an endpoint's traffic split or description", EndpointUpdate, true);
  epupdate->add_option("-t,--traffic", epf.traffic, "e.g. \"blue=90 green=10\"");
  epupdate->add_option("--description", epf.description, "Description");
  add_ep("delete", "Delete an endpoint and its deployments", EndpointDelete, true);
  auto* invoke =
      add_ep("invoke", "Score a request file through the endpoint", EndpointInvoke, true);
  invoke->add_option("-r,--request-file", epf.request_file, "JSON request body")->required();
  invoke->add_option("-d,--deployment-name", epf.deployment,
                     "Send to this deployment, whatever the traffic");
  add_ep("get-credentials", "Print the endpoint's keys", EndpointGetCredentials, true);
  auto* regen =
      add_ep("regenerate-keys", "Replace one of the endpoint's keys", EndpointRegenerateKeys, true);
  regen->add_option("--key-type", epf.key_type, "primary (default) or secondary");

  static DeploymentFlags depf;
  auto* dep_cmd =
      app.add_subcommand("online-deployment", "Manage an endpoint's deployments (model servers)");
  dep_cmd->require_subcommand(1);
  auto add_dep = [&](const char* name, const char* help,
                     int (*fn)(const GlobalFlags&, const DeploymentFlags&), bool needs_names) {
    return AddVerb(
        dep_cmd, name, help, global,
        {{"-n,--name", &depf.name, "Deployment name", needs_names},
         {"-e,--endpoint-name", &depf.endpoint, "Endpoint name", needs_names}},
        &depf.output, {{"deployment name", &depf.name}, {"endpoint name", &depf.endpoint}},
        [&global, fn] { return fn(global, depf); }, result);
  };
  for (const char* verb : {"create", "update"}) {
    auto* c = add_dep(verb,
                      verb == std::string("create")
                          ? "Create a deployment from deployment.yml and wait until it serves"
                          : "Update a deployment from deployment.yml (a new generation)",
                      DeploymentCreate, false);
    c->add_option("-f,--file", depf.file, "deployment.yml")->required();
    c->add_flag("--all-traffic", depf.all_traffic,
                "Send all of the endpoint's traffic here once created");
    c->add_flag("--no-wait", depf.no_wait, "Return once accepted");
  }
  add_dep("show", "Show a deployment and its replicas", DeploymentShow, true);
  auto* dlist = add_dep("list", "List an endpoint's deployments", DeploymentList, false);
  dlist->get_option("--endpoint-name")->required();
  auto* logs = add_dep("get-logs", "Print the model servers' logs and the controller's events",
                       DeploymentGetLogs, true);
  logs->add_option("-l,--lines", depf.lines, "How many lines from the end (default 100)");
  add_dep("delete", "Delete a deployment (its traffic must be 0)", DeploymentDelete, true);
}

}  // namespace gantry::cli
