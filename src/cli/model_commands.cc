#include "cli/model_commands.h"

#include <cstdio>
#include <iostream>

#include "artifacts/tree.h"
#include "cli/command_group.h"
#include "cli/downloader.h"
#include "cli/uploader.h"
#include "common/hashing.h"
#include "http/http_types.h"

namespace gantry::cli {

namespace {

Result<Json> KeyValues(const std::vector<std::string>& items, const char* flag) {
  Json out = Json::object();
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Err(
          InvalidArgumentError(std::string(flag) + " expects KEY=VALUE, got '" + item + "'"));
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

// "runs:/RUN/outputs/model" or "azureml://jobs/RUN/outputs/artifacts/paths/outputs/model".
bool ParseRunPath(const std::string& path, std::string* run, std::string* rel) {
  for (const std::string prefix : {"runs:/", "azureml://jobs/"}) {
    if (path.rfind(prefix, 0) != 0) continue;
    std::string rest = path.substr(prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos) return false;
    *run = rest.substr(0, slash);
    *rel = rest.substr(slash + 1);
    constexpr std::string_view kArtifacts = "outputs/artifacts/paths/";
    if (prefix == "azureml://jobs/" && rel->rfind(kArtifacts, 0) == 0) {
      *rel = rel->substr(kArtifacts.size());
    }
    return true;
  }
  return false;
}

std::string ModelPath(const std::string& name, int64_t version) {
  return "/api/v1/models/" + http::UrlEncode(name) +
         (version > 0 ? "/versions/" + std::to_string(version) : "");
}

}  // namespace

int ModelCreate(const GlobalFlags& g, const ModelFlags& f) {
  auto tags = KeyValues(f.tags, "--tag");
  if (!tags.has_value()) return ReportError(tags.error());
  auto props = KeyValues(f.properties, "--property");
  if (!props.has_value()) return ReportError(props.error());
  Json body = {{"name", f.name},
               {"type", f.type},
               {"framework", f.framework},
               {"framework_version", f.framework_version},
               {"description", f.description},
               {"tags", *tags},
               {"properties", *props}};
  std::string run, rel;
  bool from_run = ParseRunPath(f.path, &run, &rel);
  if (!from_run && !fs::exists(f.path)) {
    return ReportError(NotFoundError("model path '" + f.path + "' does not exist"));
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  if (from_run) {
    body["run"] = run;
    body["path"] = rel;
  } else {
    // A folder keeps its name inside the model, like registering outputs/model from a run.
    fs::path p = fs::absolute(f.path).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    Result<std::string> tree;
    if (fs::is_directory(p)) {
      auto inner = UploadFolder(**client, p, "model", nullptr);
      if (!inner.has_value()) return ReportError(inner.error());
      // Re-root the folder's tree under its own name.
      auto r = (*client)->Send("GET", "/api/v1/trees/" + *inner);
      if (!r.has_value()) return ReportError(r.error());
      auto t = artifacts::Tree::FromJson(r->body);
      if (!t.has_value()) return ReportError(t.error());
      artifacts::Tree rooted;
      for (auto e : t->entries()) {
        e.path = p.filename().string() + "/" + e.path;
        if (Status st = rooted.Add(e); !st.ok()) return ReportError(st);
      }
      auto posted = (*client)->Send("POST", "/api/v1/trees", rooted.ToJson());
      if (!posted.has_value()) return ReportError(posted.error());
      if (posted->status != 201)
        return ReportError(http::StatusFromErrorBody(posted->status, posted->body));
      tree = Json::parse(posted->body).value("id", "");
    } else {
      tree = UploadFile(**client, p, "model", nullptr);
    }
    if (!tree.has_value()) return ReportError(tree.error());
    body["tree_id"] = *tree;
  }
  auto model = (*client)->Call("POST", "/api/v1/models", body);
  if (!model.has_value()) return ReportError(model.error());
  if (f.output == "json") {
    std::cout << model->dump(2) << "\n";
  } else {
    std::cout << "Registered model " << (*model)["name"].get<std::string>() << " version "
              << (*model)["version"] << "\n";
  }
  return 0;
}

int ModelList(const GlobalFlags& g, const ModelFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call(
      "GET", "/api/v1/models" + (f.name.empty() ? "" : "?name=" + http::UrlEncode(f.name)));
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") {
    std::cout << (*list)["models"].dump(2) << "\n";
    return 0;
  }
  printf("%-30s %-8s %-12s %-26s %s\n", "NAME", "VERSION", "FRAMEWORK", "CREATED", "RUN");
  for (const auto& m : (*list)["models"]) {
    printf("%-30s %-8lld %-12s %-26s %s\n", m["name"].get<std::string>().c_str(),
           static_cast<long long>(m["version"].get<int64_t>()),
           m["framework"].get<std::string>().c_str(), m["created_at"].get<std::string>().c_str(),
           m["run"].get<std::string>().c_str());
  }
  return 0;
}

int ModelShow(const GlobalFlags& g, const ModelFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto m = (*client)->Call("GET", ModelPath(f.name, f.version));
  if (!m.has_value()) return ReportError(m.error());
  std::cout << m->dump(2) << "\n";
  return 0;
}

int ModelDownload(const GlobalFlags& g, const ModelFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto m = (*client)->Call("GET", ModelPath(f.name, f.version));
  if (!m.has_value()) return ReportError(m.error());
  fs::path dest = f.download_path.empty() ? fs::current_path() : fs::path(f.download_path);
  auto n = DownloadTree(**client, (*m).value("tree_id", ""), dest, f.overwrite);
  if (!n.has_value()) return ReportError(n.error());
  std::cout << "Downloaded model " << f.name << ":" << (*m)["version"] << " (" << *n
            << " files) to " << dest.string() << "\n";
  return 0;
}

void AddModelCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static ModelFlags model;
  auto* group = app.add_subcommand("model", "Register and fetch models");
  group->require_subcommand(1);
  auto add = [&](const char* name, const char* help,
                 int (*fn)(const GlobalFlags&, const ModelFlags&), bool needs_name) {
    return AddVerb(
        group, name, help, global, {{"-n,--name", &model.name, "Model name", needs_name}},
        &model.output, {{"model name", &model.name}}, [&global, fn] { return fn(global, model); },
        result);
  };
  auto* mcreate =
      add("create", "Register a model version from a local path or a run", ModelCreate, true);
  mcreate
      ->add_option("-p,--path", model.path,
                   "Local file/folder, runs:/RUN/outputs/model or "
                   "azureml://jobs/RUN/outputs/artifacts/paths/PATH")
      ->required();
  mcreate->add_option("--type", model.type, "custom_model (default), mlflow_model, triton_model");
  mcreate->add_option("--framework", model.framework, "e.g. PyTorch, TensorFlow");
  mcreate->add_option("--framework-version", model.framework_version);
  mcreate->add_option("--description", model.description);
  mcreate->add_option("--tag", model.tags, "KEY=VALUE (repeatable)");
  mcreate->add_option("--property", model.properties, "KEY=VALUE (repeatable, immutable)");
  add("list", "List model versions", ModelList, false);
  auto* mshow = add("show", "Show a model version (default: latest)", ModelShow, true);
  mshow->add_option("-v,--version", model.version);
  auto* mdl = add("download", "Download a model version's files", ModelDownload, true);
  mdl->add_option("-v,--version", model.version);
  mdl->add_option("--download-path", model.download_path, "Destination (default: current folder)");
  mdl->add_flag("--overwrite", model.overwrite, "Replace files already there (default: refuse)");
}

}  // namespace gantry::cli
