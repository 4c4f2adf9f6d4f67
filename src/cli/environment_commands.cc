#include "cli/environment_commands.h"

#include <cstdio>
#include <iostream>

#include "cli/command_group.h"
#include "common/files.h"
#include "http/http_types.h"
#include "jobs/yaml_json.h"

namespace gantry::cli {

int EnvironmentCreate(const GlobalFlags& g, const EnvironmentFlags& f) {
  Json spec = Json::object();
  Json python = Json::object();
  if (!f.python.empty()) python["interpreter_path"] = f.python;
  if (f.user_managed) python["user_managed_dependencies"] = true;
  if (!f.conda_file.empty()) {
    auto text = ReadFile(f.conda_file);
    if (!text.has_value()) return ReportError(text.error());
    auto conda = jobs::YamlToJson(*text, f.conda_file);
    if (!conda.has_value()) return ReportError(conda.error());
    if (!conda->is_object()) {
      return ReportError(InvalidArgumentError(f.conda_file + ": a conda file is a mapping with "
                                                             "'dependencies'"));
    }
    python["conda_dependencies"] = *conda;
  }
  if (!python.empty()) spec["python"] = python;
  if (!f.pip.empty()) spec["pip"] = f.pip;
  if (!f.image.empty() || !f.dockerfile.empty()) {
    Json docker = Json::object();
    if (!f.image.empty()) docker["base_image"] = f.image;
    if (!f.dockerfile.empty()) {
      auto text = ReadFile(f.dockerfile);
      if (!text.has_value()) return ReportError(text.error());
      docker["base_dockerfile"] = *text;
    }
    spec["docker"] = docker;
  }
  for (const auto& kv : f.variables) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ReportError(InvalidArgumentError("--env expects KEY=VALUE, got '" + kv + "'"));
    }
    spec["environment_variables"][kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto e = (*client)->Call("POST", "/api/v1/environments",
                           {{"name", f.name}, {"description", f.description}, {"spec", spec}});
  if (!e.has_value()) return ReportError(e.error());
  if (f.output == "json") {
    std::cout << e->dump(2) << "\n";
  } else {
    std::cout << "Environment " << (*e)["name"].get<std::string>() << " version " << (*e)["version"]
              << " (build " << (*e)["hash"].get<std::string>().substr(0, 12) << ")\n";
  }
  return 0;
}

int EnvironmentList(const GlobalFlags& g, const EnvironmentFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call("GET", "/api/v1/environments");
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") {
    std::cout << (*list)["environments"].dump(2) << "\n";
    return 0;
  }
  printf("%-32s %-8s %-8s %-14s %s\n", "NAME", "VERSION", "CURATED", "BUILD", "DESCRIPTION");
  for (const auto& e : (*list)["environments"]) {
    printf("%-32s %-8lld %-8s %-14s %s\n", e["name"].get<std::string>().c_str(),
           static_cast<long long>(e["version"].get<int64_t>()),
           e["curated"].get<bool>() ? "yes" : "",
           e["hash"].get<std::string>().substr(0, 12).c_str(),
           e["description"].get<std::string>().c_str());
  }
  return 0;
}

int EnvironmentShow(const GlobalFlags& g, const EnvironmentFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  std::string path = "/api/v1/environments/" + http::UrlEncode(f.name) +
                     (f.version > 0 ? "/versions/" + std::to_string(f.version) : "");
  auto e = (*client)->Call("GET", path);
  if (!e.has_value()) return ReportError(e.error());
  std::cout << e->dump(2) << "\n";
  return 0;
}

void AddEnvironmentCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static EnvironmentFlags envf;
  auto* group = app.add_subcommand("environment", "Register and inspect software environments");
  group->require_subcommand(1);
  auto add = [&](const char* name, const char* help,
                 int (*fn)(const GlobalFlags&, const EnvironmentFlags&), bool needs_name) {
    return AddVerb(
        group, name, help, global, {{"-n,--name", &envf.name, "Environment name", needs_name}},
        &envf.output, {{"environment name", &envf.name}},
        [&global, fn] { return fn(global, envf); }, result);
  };
  auto* ecreate = add("create", "Register an environment version", EnvironmentCreate, true);
  ecreate->add_option("--conda-file", envf.conda_file, "Conda environment YAML");
  ecreate->add_option("--pip", envf.pip, "A pip requirement (repeatable): built into a venv");
  ecreate->add_option("--python", envf.python, "Interpreter path or name (default python3)");
  ecreate->add_option("--image", envf.image, "Container image");
  ecreate->add_option("--dockerfile", envf.dockerfile, "Dockerfile to build the image from");
  ecreate->add_option("--env", envf.variables, "KEY=VALUE environment variable (repeatable)");
  ecreate->add_option("--description", envf.description);
  ecreate->add_flag("--user-managed", envf.user_managed,
                    "Use the interpreter as it is; install nothing");
  add("list", "List curated and registered environments", EnvironmentList, false);
  auto* eshow = add("show", "Show an environment version (default: latest)", EnvironmentShow, true);
  eshow->add_option("-v,--version", envf.version);
}

}  // namespace gantry::cli
