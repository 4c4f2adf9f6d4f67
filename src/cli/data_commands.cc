#include "cli/data_commands.h"

#include <cstdio>
#include <iostream>

#include "cli/command_group.h"
#include "cli/downloader.h"
#include "cli/uploader.h"
#include "http/http_types.h"

namespace gantry::cli {

namespace {
bool IsUrl(const std::string& p) {
  return p.rfind("http://", 0) == 0 || p.rfind("https://", 0) == 0 || p.rfind("file://", 0) == 0;
}

std::string DataPath(const std::string& name, int64_t version) {
  return "/api/v1/datasets/" + http::UrlEncode(name) +
         (version > 0 ? "/versions/" + std::to_string(version) : "");
}
}  // namespace

int DataCreate(const GlobalFlags& g, const DataFlags& f) {
  Json body = {{"name", f.name},
               {"type", f.type},
               {"description", f.description},
               {"version", f.version},
               {"create_new_version", f.create_new_version},
               {"urls", Json::array()},
               {"sources", Json::array()},
               {"tags", Json::object()}};
  for (const auto& t : f.tags) {
    auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ReportError(InvalidArgumentError("--tag expects KEY=VALUE, got '" + t + "'"));
    }
    body["tags"][t.substr(0, eq)] = t.substr(eq + 1);
  }
  std::vector<std::string> local;
  for (const auto& p : f.paths) {
    if (IsUrl(p)) {
      body["urls"].push_back(p);
      body["sources"].push_back(p);
    } else {
      local.push_back(p);
      body["sources"].push_back(fs::absolute(p).lexically_normal().string());
    }
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  if (!local.empty()) {
    auto tree = UploadLocalPaths(**client, local, /*single_folder_at_root=*/true, "data", nullptr);
    if (!tree.has_value()) return ReportError(tree.error());
    body["tree_id"] = *tree;
  }
  // The server fetches the URLs before it answers (as the SDK, up to 10 minutes).
  (*client)->set_timeout_ms(600'000);
  auto d = (*client)->Call("POST", "/api/v1/datasets", body);
  if (!d.has_value()) return ReportError(d.error());
  if (f.output == "json") {
    std::cout << d->dump(2) << "\n";
  } else {
    std::cout << "Dataset " << (*d)["name"].get<std::string>() << " version " << (*d)["version"]
              << "\n";
  }
  return 0;
}

int DataList(const GlobalFlags& g, const DataFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call(
      "GET", "/api/v1/datasets" + (f.name.empty() ? "" : "?name=" + http::UrlEncode(f.name)));
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") {
    std::cout << (*list)["datasets"].dump(2) << "\n";
    return 0;
  }
  printf("%-30s %-8s %-11s %-26s %s\n", "NAME", "VERSION", "TYPE", "CREATED", "DESCRIPTION");
  for (const auto& d : (*list)["datasets"]) {
    printf("%-30s %-8lld %-11s %-26s %s\n", d["name"].get<std::string>().c_str(),
           static_cast<long long>(d["version"].get<int64_t>()),
           d["type"].get<std::string>().c_str(), d["created_at"].get<std::string>().c_str(),
           d["description"].get<std::string>().c_str());
  }
  return 0;
}

int DataShow(const GlobalFlags& g, const DataFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto d = (*client)->Call("GET", DataPath(f.name, f.version));
  if (!d.has_value()) return ReportError(d.error());
  auto tree = (*client)->Call("GET", "/api/v1/trees/" + (*d)["tree_id"].get<std::string>());
  if (tree.has_value()) {
    Json files = Json::array();
    for (const auto& e : (*tree)["entries"])
      files.push_back({{"path", e["path"]}, {"size", e["size"]}});
    (*d)["files"] = files;
  }
  std::cout << d->dump(2) << "\n";
  return 0;
}

int DataDownload(const GlobalFlags& g, const DataFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto d = (*client)->Call("GET", DataPath(f.name, f.version));
  if (!d.has_value()) return ReportError(d.error());
  fs::path dest = f.download_path.empty() ? fs::current_path() : fs::path(f.download_path);
  auto n = DownloadTree(**client, (*d).value("tree_id", ""), dest, f.overwrite);
  if (!n.has_value()) return ReportError(n.error());
  std::cout << "Downloaded dataset " << f.name << ":" << (*d)["version"] << " (" << *n
            << " files) to " << dest.string() << "\n";
  return 0;
}

void AddDataCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static DataFlags data;
  auto* group = app.add_subcommand("data", "Register and fetch datasets");
  group->require_subcommand(1);
  auto add = [&](const char* name, const char* help,
                 int (*fn)(const GlobalFlags&, const DataFlags&), bool needs_name) {
    return AddVerb(
        group, name, help, global, {{"-n,--name", &data.name, "Dataset name", needs_name}},
        &data.output, {{"dataset name", &data.name}}, [&global, fn] { return fn(global, data); },
        result);
  };
  auto* dcreate =
      add("create", "Register a dataset version from local paths, globs or URLs", DataCreate, true);
  dcreate
      ->add_option("-p,--path", data.paths,
                   "Local file/folder/glob or http(s)/file URL (repeatable)")
      ->required();
  dcreate->add_option("-v,--version", data.version, "Explicit version (default: next)");
  dcreate->add_option("--type", data.type, "uri_folder (default) or uri_file")
      ->check(CLI::IsMember({"uri_folder", "uri_file"}));
  dcreate->add_option("--description", data.description);
  dcreate->add_option("--tag", data.tags, "KEY=VALUE (repeatable)");
  dcreate->add_flag("!--no-new-version", data.create_new_version,
                    "Fail instead of adding a version when the content changed");
  add("list", "List dataset versions", DataList, false);
  auto* dshow =
      add("show", "Show a dataset version and its files (default: latest)", DataShow, true);
  dshow->add_option("-v,--version", data.version);
  auto* ddl = add("download", "Download a dataset version's files", DataDownload, true);
  ddl->add_option("-v,--version", data.version);
  ddl->add_option("--download-path", data.download_path, "Destination (default: current folder)");
  ddl->add_flag("--overwrite", data.overwrite, "Replace files already there (default: refuse)");
}

}  // namespace gantry::cli
