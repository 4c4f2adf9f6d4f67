// `gantry online-endpoint ...` and `gantry online-deployment ...`: Azure CLI v2's
// `az ml online-endpoint` / `az ml online-deployment` over the workspace server's endpoint
// resources (docs/rest-api.md). Deployment YAML follows Azure's managed online deployment
// schema (name, endpoint_name, model, code_configuration, environment, instance_type,
// instance_count, request_settings, environment_variables).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/client_context.h"

namespace gantry::cli {

struct EndpointFlags {
  std::string name;
  std::string file;
  std::string auth_mode;
  std::string description;
  std::string traffic;  // "blue=90 green=10"
  std::string request_file;
  std::string deployment;  // invoke: --deployment-name
  std::string key_type = "primary";
  std::string output;
};

struct DeploymentFlags {
  std::string name;
  std::string endpoint;
  std::string file;
  bool all_traffic = false;
  bool no_wait = false;
  int64_t lines = 100;
  std::string output;
};

int EndpointCreate(const GlobalFlags& g, const EndpointFlags& f);
int EndpointShow(const GlobalFlags& g, const EndpointFlags& f);
int EndpointList(const GlobalFlags& g, const EndpointFlags& f);
int EndpointUpdate(const GlobalFlags& g, const EndpointFlags& f);
int EndpointDelete(const GlobalFlags& g, const EndpointFlags& f);
int EndpointInvoke(const GlobalFlags& g, const EndpointFlags& f);
int EndpointGetCredentials(const GlobalFlags& g, const EndpointFlags& f);
int EndpointRegenerateKeys(const GlobalFlags& g, const EndpointFlags& f);

int DeploymentCreate(const GlobalFlags& g, const DeploymentFlags& f);  // also `update`
int DeploymentShow(const GlobalFlags& g, const DeploymentFlags& f);
int DeploymentList(const GlobalFlags& g, const DeploymentFlags& f);
int DeploymentGetLogs(const GlobalFlags& g, const DeploymentFlags& f);
int DeploymentDelete(const GlobalFlags& g, const DeploymentFlags& f);

// "blue=90 green=10" (spaces or commas between) → {"blue": 90, "green": 10}. InvalidArgument
// naming the bad part.
Result<Json> ParseTraffic(const std::string& text);

// Adds `gantry online-endpoint ...` and `gantry online-deployment ...`; a verb's exit code
// lands in `result`.
void AddEndpointCommands(CLI::App& app, GlobalFlags& global, int& result);

}  // namespace gantry::cli
