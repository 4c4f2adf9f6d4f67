// The gantry binary: one executable, four roles (server, client, runner, model server).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/access_commands.h"
#include "cli/client_context.h"
#include "cli/compute_commands.h"
#include "cli/endpoint_commands.h"
#include "cli/data_commands.h"
#include "cli/environment_commands.h"
#include "cli/job_commands.h"
#include "cli/model_commands.h"
#include "cli/python_sdk.h"
#include "cli/serve_command.h"
#include "cli/server_command.h"
#include "common/names.h"
#include "common/process.h"
#include "runner/runner.h"

namespace {

// Names flags carry (--name, --endpoint-name) follow the server's rule (common/names.h);
// checking them here answers before any request, with the same message and exit code 2.
bool NamesOk(std::initializer_list<std::pair<const char*, const std::string*>> names) {
  for (const auto& [field, value] : names) {
    if (value->empty()) continue;  // Absent: the command decides whether it is needed.
    if (gantry::Status st = gantry::ValidateName(field, *value); !st.ok()) {
      gantry::cli::ReportError(st);
      return false;
    }
  }
  return true;
}

void AddGlobal(CLI::App* cmd, gantry::cli::GlobalFlags& g) { gantry::cli::AddGlobalFlags(cmd, g); }

}  // namespace

int main(int argc, char** argv) {
  using namespace gantry::cli;
  CLI::App app{"Gantry: a self-hosted machine-learning workspace"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gantry 0.1.0");
  GlobalFlags global;
  JobFlags job;
  ServerFlags server;
  int result = 0;

  // gantry server [stop]
  auto* server_cmd = app.add_subcommand("server", "Run the workspace server (REST API, scheduler)");
  server_cmd->add_option("--workspace", server.workspace, "Workspace folder")->capture_default_str();
  server_cmd->add_option("--host", server.host, "Address to listen on")->capture_default_str();
  server_cmd->add_option("--port", server.port, "Port (default: the one in config.json, else a free one)");
  server_cmd->add_option("--slots", server.slots, "Jobs the local compute runs at once (default: CPUs; 0 queues without starting)");
  server_cmd->add_option("--ready-fd", server.ready_fd, "Write the URL to this fd when ready")->group("");
  server_cmd->add_flag("--no-auth", server.no_auth,
                       "No credentials needed (loopback only; refused with another --host)");
  server_cmd->add_option("--allow-file-root", server.allow_file_roots,
                         "A folder whose files dataset file:// URLs may read (repeatable)");
  server_cmd->add_option("--max-fetch-bytes", server.max_fetch_bytes,
                         "Largest file a dataset URL may bring in")->capture_default_str();
  bool background = false;
  server_cmd->add_option("--env-cache", server.env_cache,
                         "Folder where environments are built (default: WORKSPACE/envs; "
                         "builds are named by content, so workspaces may share one)");
  server_cmd->add_option("--tls-cert", server.tls_cert,
                         "Serve HTTPS with this PEM certificate (chain); needs --tls-key");
  server_cmd->add_option("--tls-key", server.tls_key, "PEM private key of --tls-cert");
  server_cmd->add_option("--ca-file", server.ca_file,
                         "PEM CA file runners and local clients verify --tls-cert with "
                         "(default: the --tls-cert file itself)");
  server_cmd->add_flag("--background", background, "Start in the background and return once it answers");
  auto* server_stop = server_cmd->add_subcommand("stop", "Stop the background server of a workspace");
  std::string stop_workspace;
  server_stop->add_option("--workspace", stop_workspace, "Workspace folder");
  server_stop->callback([&] {
    GlobalFlags g;
    g.workspace = stop_workspace;
    result = StopServer(ResolveWorkspaceDir(g));
  });
  server_cmd->callback([&] {
    if (server_cmd->got_subcommand(server_stop)) return;
    if (background) {
      auto url = StartBackgroundServer(gantry::fs::absolute(server.workspace), server.port);
      if (!url.has_value()) {
        result = ReportError(url.error());
      } else {
        std::cout << "Gantry workspace server listening on " << *url << "\n";
      }
      return;
    }
    result = RunServer(server);
  });

  AddAccessCommands(app, global, result);

  // gantry job ...
  auto* job_cmd = app.add_subcommand("job", "Submit and follow jobs");
  job_cmd->require_subcommand(1);
  auto add_job = [&](const char* name, const char* help, int (*fn)(const GlobalFlags&, const JobFlags&),
                     bool needs_name) {
    auto* c = job_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    auto* opt = c->add_option("-n,--name", job.name, "Run name");
    if (needs_name) opt->required();
    c->add_option("-o,--output", job.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"run name", &job.name}, {"experiment name", &job.experiment}})
                   ? fn(global, job)
                   : 2;
    });
    return c;
  };
  auto* create = add_job("create", "Submit a job from a command-job YAML file", JobCreate, false);
  create->add_option("-f,--file", job.file, "Job YAML")->required();
  create->add_flag("-s,--stream", job.stream, "Follow the run until it ends");
  auto* list = add_job("list", "List runs, newest first", JobList, false);
  list->add_option("--experiment-name", job.experiment, "Only this experiment");
  list->add_option("--max-results", job.max_results, "How many");
  add_job("show", "Show a run: status, times, error, latest metrics", JobShow, true);
  add_job("stream", "Follow a run's phases and logs until it ends", JobStream, true);
  add_job("cancel", "Cancel a run", JobCancel, true);
  add_job("metrics", "Print each metric's history", JobMetrics, true);
  auto* download = add_job("download", "Download a run's outputs and logs", JobDownload, true);
  download->add_option("--output-name", job.output_name, "Only this named output");
  download->add_option("--download-path", job.download_path, "Destination (default: current folder)");
  download->add_flag("--overwrite", job.overwrite, "Replace files already there (default: refuse)");

  // gantry compute ...
  ComputeFlags compute;
  auto* compute_cmd = app.add_subcommand("compute", "Manage compute targets");
  compute_cmd->require_subcommand(1);
  auto add_compute = [&](const char* name, const char* help,
                         int (*fn)(const GlobalFlags&, const ComputeFlags&), bool needs_name) {
    auto* c = compute_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    if (needs_name) c->add_option("-n,--name", compute.name, "Compute target name")->required();
    c->add_option("-o,--output", compute.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"compute target name", &compute.name}}) ? fn(global, compute) : 2;
    });
    return c;
  };
  auto* ccreate = add_compute("create", "Create a local cluster of nodes of one VM shape", ComputeCreate, true);
  ccreate->add_option("--type", compute.type, "amlcompute (default, a local cluster) or slurm");
  ccreate->add_option("--size", compute.size, "VM size, e.g. STANDARD_NC6 (see `gantry compute sizes`)");
  ccreate->add_option("--min-instances", compute.min_instances, "Minimum nodes (default 0)");
  ccreate->add_option("--max-instances", compute.max_instances, "Maximum nodes: jobs at once (default 1)");
  ccreate->add_option("--idle-time-before-scale-down", compute.idle_seconds, "Seconds (default 120)");
  ccreate->add_option("--partition", compute.partition, "slurm: sbatch --partition");
  ccreate->add_option("--account", compute.account, "slurm: sbatch --account");
  ccreate->add_option("--qos", compute.qos, "slurm: sbatch --qos");
  ccreate->add_option("--sbatch-arg", compute.sbatch_args,
                      "slurm: an extra #SBATCH argument, --flag=value (repeatable)");
  ccreate->add_option("--cpus", compute.cpus, "slurm: CPUs per node (--cpus-per-task)");
  ccreate->add_option("--gpus", compute.gpus, "slurm: GPUs per node (--gres=gpu:N)");
  ccreate->add_option("--memory-gb", compute.memory_gb, "slurm: memory per node (--mem)");
  ccreate->add_option("--server-url", compute.server_url,
                      "slurm: the workspace server's URL as the nodes reach it");
  ccreate->add_option("--node-ca-file", compute.node_ca_file,
                      "slurm: the CA file that verifies an https:// server, as a path on the nodes "
                      "(default: the server's)");
  ccreate->add_option("--node-work-dir", compute.node_work_dir,
                      "slurm: folder on the nodes for runs' scratch, caches, Slurm output (default /tmp)");
  add_compute("list", "List compute targets", ComputeList, false);
  add_compute("show", "Show a compute target", ComputeShow, true);
  add_compute("delete", "Delete a compute target", ComputeDelete, true);
  add_compute("sizes", "List the VM sizes and their node shapes", ComputeSizes, false);

  // gantry online-endpoint ... / gantry online-deployment ...
  EndpointFlags epf;
  auto* ep_cmd = app.add_subcommand("online-endpoint", "Manage online endpoints (scoring URIs, keys, traffic)");
  ep_cmd->require_subcommand(1);
  auto add_ep = [&](const char* name, const char* help,
                    int (*fn)(const GlobalFlags&, const EndpointFlags&), bool needs_name) {
    auto* c = ep_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    auto* n = c->add_option("-n,--name", epf.name, "Endpoint name");
    if (needs_name) n->required();
    c->add_option("-o,--output", epf.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"endpoint name", &epf.name}}) ? fn(global, epf) : 2;
    });
    return c;
  };
  auto* epcreate = add_ep("create", "Create an endpoint (key auth by default)", EndpointCreate, false);
  epcreate->add_option("-f,--file", epf.file, "endpoint.yml (name, auth_mode, description, tags)");
  epcreate->add_option("--auth-mode", epf.auth_mode, "key (default) or none");
  epcreate->add_option("--description", epf.description, "Description");
  add_ep("show", "Show an endpoint", EndpointShow, true);
  add_ep("list", "List endpoints", EndpointList, false);
  auto* epupdate = add_ep("update", "Update an endpoint's traffic split or description", EndpointUpdate, true);
  epupdate->add_option("-t,--traffic", epf.traffic, "e.g. \"blue=90 green=10\"");
  epupdate->add_option("--description", epf.description, "Description");
  add_ep("delete", "Delete an endpoint and its deployments", EndpointDelete, true);
  auto* invoke = add_ep("invoke", "Score a request file through the endpoint", EndpointInvoke, true);
  invoke->add_option("-r,--request-file", epf.request_file, "JSON request body")->required();
  invoke->add_option("-d,--deployment-name", epf.deployment, "Send to this deployment, whatever the traffic");
  add_ep("get-credentials", "Print the endpoint's keys", EndpointGetCredentials, true);
  auto* regen = add_ep("regenerate-keys", "Replace one of the endpoint's keys", EndpointRegenerateKeys, true);
  regen->add_option("--key-type", epf.key_type, "primary (default) or secondary");

  DeploymentFlags depf;
  auto* dep_cmd = app.add_subcommand("online-deployment", "Manage an endpoint's deployments (model servers)");
  dep_cmd->require_subcommand(1);
  auto add_dep = [&](const char* name, const char* help,
                     int (*fn)(const GlobalFlags&, const DeploymentFlags&), bool needs_names) {
    auto* c = dep_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    auto* n = c->add_option("-n,--name", depf.name, "Deployment name");
    auto* e = c->add_option("-e,--endpoint-name", depf.endpoint, "Endpoint name");
    if (needs_names) {
      n->required();
      e->required();
    }
    c->add_option("-o,--output", depf.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"deployment name", &depf.name}, {"endpoint name", &depf.endpoint}})
                   ? fn(global, depf)
                   : 2;
    });
    return c;
  };
  for (const char* verb : {"create", "update"}) {
    auto* c = add_dep(verb, verb == std::string("create") ? "Create a deployment from deployment.yml and wait until it serves"
                                                          : "Update a deployment from deployment.yml (a new generation)",
                      DeploymentCreate, false);
    c->add_option("-f,--file", depf.file, "deployment.yml")->required();
    c->add_flag("--all-traffic", depf.all_traffic, "Send all of the endpoint's traffic here once created");
    c->add_flag("--no-wait", depf.no_wait, "Return once accepted");
  }
  add_dep("show", "Show a deployment and its replicas", DeploymentShow, true);
  auto* dlist = add_dep("list", "List an endpoint's deployments", DeploymentList, false);
  dlist->get_option("--endpoint-name")->required();
  auto* logs = add_dep("get-logs", "Print the model servers' logs and the controller's events", DeploymentGetLogs, true);
  logs->add_option("-l,--lines", depf.lines, "How many lines from the end (default 100)");
  add_dep("delete", "Delete a deployment (its traffic must be 0)", DeploymentDelete, true);

  // gantry environment ...
  EnvironmentFlags envf;
  auto* env_cmd = app.add_subcommand("environment", "Register and inspect software environments");
  env_cmd->require_subcommand(1);
  auto add_env = [&](const char* name, const char* help,
                     int (*fn)(const GlobalFlags&, const EnvironmentFlags&), bool needs_name) {
    auto* c = env_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    auto* opt = c->add_option("-n,--name", envf.name, "Environment name");
    if (needs_name) opt->required();
    c->add_option("-o,--output", envf.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"environment name", &envf.name}}) ? fn(global, envf) : 2;
    });
    return c;
  };
  auto* ecreate = add_env("create", "Register an environment version", EnvironmentCreate, true);
  ecreate->add_option("--conda-file", envf.conda_file, "Conda environment YAML");
  ecreate->add_option("--pip", envf.pip, "A pip requirement (repeatable): built into a venv");
  ecreate->add_option("--python", envf.python, "Interpreter path or name (default python3)");
  ecreate->add_option("--image", envf.image, "Container image");
  ecreate->add_option("--dockerfile", envf.dockerfile, "Dockerfile to build the image from");
  ecreate->add_option("--env", envf.variables, "KEY=VALUE environment variable (repeatable)");
  ecreate->add_option("--description", envf.description);
  ecreate->add_flag("--user-managed", envf.user_managed, "Use the interpreter as it is; install nothing");
  add_env("list", "List curated and registered environments", EnvironmentList, false);
  auto* eshow = add_env("show", "Show an environment version (default: latest)", EnvironmentShow, true);
  eshow->add_option("-v,--version", envf.version);

  // gantry data ...
  DataFlags data;
  auto* data_cmd = app.add_subcommand("data", "Register and fetch datasets");
  data_cmd->require_subcommand(1);
  auto add_data = [&](const char* name, const char* help,
                      int (*fn)(const GlobalFlags&, const DataFlags&), bool needs_name) {
    auto* c = data_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    auto* opt = c->add_option("-n,--name", data.name, "Dataset name");
    if (needs_name) opt->required();
    c->add_option("-o,--output", data.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"dataset name", &data.name}}) ? fn(global, data) : 2;
    });
    return c;
  };
  auto* dcreate = add_data("create", "Register a dataset version from local paths, globs or URLs", DataCreate, true);
  dcreate->add_option("-p,--path", data.paths, "Local file/folder/glob or http(s)/file URL (repeatable)")->required();
  dcreate->add_option("-v,--version", data.version, "Explicit version (default: next)");
  dcreate->add_option("--type", data.type, "uri_folder (default) or uri_file")
      ->check(CLI::IsMember({"uri_folder", "uri_file"}));
  dcreate->add_option("--description", data.description);
  dcreate->add_option("--tag", data.tags, "KEY=VALUE (repeatable)");
  dcreate->add_flag("!--no-new-version", data.create_new_version,
                    "Fail instead of adding a version when the content changed");
  add_data("list", "List dataset versions", DataList, false);
  auto* dshow = add_data("show", "Show a dataset version and its files (default: latest)", DataShow, true);
  dshow->add_option("-v,--version", data.version);
  auto* ddl = add_data("download", "Download a dataset version's files", DataDownload, true);
  ddl->add_option("-v,--version", data.version);
  ddl->add_option("--download-path", data.download_path, "Destination (default: current folder)");
  ddl->add_flag("--overwrite", data.overwrite, "Replace files already there (default: refuse)");

  // gantry model ...
  ModelFlags model;
  auto* model_cmd = app.add_subcommand("model", "Register and fetch models");
  model_cmd->require_subcommand(1);
  auto add_model = [&](const char* name, const char* help,
                       int (*fn)(const GlobalFlags&, const ModelFlags&), bool needs_name) {
    auto* c = model_cmd->add_subcommand(name, help);
    AddGlobal(c, global);
    auto* opt = c->add_option("-n,--name", model.name, "Model name");
    if (needs_name) opt->required();
    c->add_option("-o,--output", model.output, "Output format: json")->check(CLI::IsMember({"json", "table"}));
    c->callback([&, fn] {
      result = NamesOk({{"model name", &model.name}}) ? fn(global, model) : 2;
    });
    return c;
  };
  auto* mcreate = add_model("create", "Register a model version from a local path or a run", ModelCreate, true);
  mcreate->add_option("-p,--path", model.path,
                      "Local file/folder, runs:/RUN/outputs/model or azureml://jobs/RUN/outputs/artifacts/paths/PATH")
      ->required();
  mcreate->add_option("--type", model.type, "custom_model (default), mlflow_model, triton_model");
  mcreate->add_option("--framework", model.framework, "e.g. PyTorch, TensorFlow");
  mcreate->add_option("--framework-version", model.framework_version);
  mcreate->add_option("--description", model.description);
  mcreate->add_option("--tag", model.tags, "KEY=VALUE (repeatable)");
  mcreate->add_option("--property", model.properties, "KEY=VALUE (repeatable, immutable)");
  add_model("list", "List model versions", ModelList, false);
  auto* mshow = add_model("show", "Show a model version (default: latest)", ModelShow, true);
  mshow->add_option("-v,--version", model.version);
  auto* mdl = add_model("download", "Download a model version's files", ModelDownload, true);
  mdl->add_option("-v,--version", model.version);
  mdl->add_option("--download-path", model.download_path, "Destination (default: current folder)");
  mdl->add_flag("--overwrite", model.overwrite, "Replace files already there (default: refuse)");

  // gantry serve --model DIR [--backend torchscript|tensorflow|python|tensorflow-serving]
  ServeFlags serve;
  auto* serve_cmd = app.add_subcommand("serve", "Serve one model: Open Inference v2, TF Serving REST, /score");
  serve_cmd->add_option("--model", serve.model,
                        "Model folder (e.g. a downloaded model); optional with --backend python");
  serve_cmd->add_option("--name", serve.name, "Served name (default: the folder's name)");
  serve_cmd->add_option("--host", serve.host, "Address to listen on")->capture_default_str();
  serve_cmd->add_option("--port", serve.port, "Port (default: a free one)");
  serve_cmd->add_option("--port-file", serve.port_file, "Write the port here once listening");
  serve_cmd->add_option("--backend", serve.backend,
                        "torchscript, tensorflow (SavedModel), python or tensorflow-serving")
      ->capture_default_str();
  serve_cmd->add_option("--max-batch-size", serve.max_batch_size,
                        "Dynamic batching: most rows in one forward (default 0: off)");
  serve_cmd->add_option("--max-queue-delay-us", serve.max_queue_delay_us,
                        "Dynamic batching: how long a request waits for others (0: batch only "
                        "what queues while a forward runs)")->capture_default_str();
  serve_cmd->add_option("--http-threads", serve.http_threads,
                        "HTTP event-loop threads (default 0: one per core, at most 4)");
  serve_cmd->add_option("--entry-script", serve.entry_script,
                        "python: the Azure ML entry script defining init() and run(raw_data)");
  serve_cmd->add_option("--source-dir", serve.source_dir,
                        "python: working folder and sys.path[0] (default: the entry script's folder)");
  serve_cmd->add_option("--python", serve.python,
                        "python: the workers' interpreter (default /usr/bin/python3); tensorflow: "
                        "the environment's interpreter whose tensorflow wheel is used (default "
                        "python3 on PATH)");
  serve_cmd->add_option("--tensorflow-lib", serve.tensorflow_lib,
                        "tensorflow: the folder holding libtensorflow_cc.so.2 "
                        "(tf.sysconfig.get_lib()), instead of asking --python");
  serve_cmd->add_option("--signature", serve.signature, "tensorflow: the SignatureDef to serve")
      ->capture_default_str();
  serve_cmd->add_option("--workers", serve.workers, "python: worker processes")->capture_default_str();
  serve_cmd->add_option("--request-timeout-ms", serve.request_timeout_ms,
                        "python: a request's limit; the worker is restarted past it")
      ->capture_default_str();
  serve_cmd->add_option("--max-queued-requests", serve.max_queued_requests,
                        "python: requests that may wait for a free worker; more get 503")
      ->capture_default_str();
  serve_cmd->callback([&] { result = RunServe(serve); });

  // gantry runner (launched by compute backends)
  gantry::runner::RunnerOptions runner;
  auto* runner_cmd = app.add_subcommand("runner", "Run one job's processes (started by compute backends)");
  runner_cmd->add_option("--server", runner.server_url)->required();
  runner_cmd->add_option("--run", runner.run_name)->required();
  runner_cmd->add_option("--work-dir", runner.work_dir)->required();
  runner_cmd->add_option("--grace-seconds", runner.grace_seconds);
  runner_cmd->add_option("--ca-file", runner.ca_file,
                         "PEM CA file that verifies an https:// server (else the system's CAs)");
  runner_cmd->add_flag("--no-report-on-signal", runner.no_report_on_signal,
                       "When signalled, leave the run's final status to the batch system (Slurm)");
  std::string node_rank_from_env;
  runner_cmd->add_option("--node-count", runner.node_count,
                         "Multi-node jobs: the job's nodes, one runner on each");
  runner_cmd->add_option("--node-rank", runner.node_rank, "Multi-node jobs: this node's rank");
  runner_cmd->add_option("--node-rank-from-env", node_rank_from_env,
                         "Multi-node jobs: read this node's rank from this variable (SLURM_NODEID)");
  runner_cmd->add_option("--node-address", runner.node_address,
                         "Multi-node jobs: this node's address for the others (default: the "
                         "address of the route to the server)");
  runner_cmd->add_option("--rendezvous-seconds", runner.rendezvous_seconds,
                         "Multi-node jobs: how long the nodes wait for each other")
      ->capture_default_str();
  runner_cmd->callback([&] {
    if (!node_rank_from_env.empty()) {
      const char* value = std::getenv(node_rank_from_env.c_str());
      char* end = nullptr;
      long rank = value != nullptr ? std::strtol(value, &end, 10) : -1;
      if (value == nullptr || *value == '\0' || *end != '\0' || rank < 0) {
        std::cerr << "gantry runner: --node-rank-from-env " << node_rank_from_env << ": the variable "
                  << (value == nullptr ? "is not set" : std::string("is '") + value + "', not a node rank")
                  << "\n";
        result = 2;
        return;
      }
      runner.node_rank = static_cast<int>(rank);
    }
    if (runner.node_count > 1 && (runner.node_rank < 0 || runner.node_rank >= runner.node_count)) {
      std::cerr << "gantry runner: --node-rank " << runner.node_rank << " is outside 0.."
                << runner.node_count - 1 << " (--node-count " << runner.node_count << ")\n";
      result = 2;
      return;
    }
    if (const char* token = std::getenv("GANTRY_RUN_TOKEN")) runner.token = token;
    ::unsetenv("GANTRY_RUN_TOKEN");
    // A person's token in the environment the server was started from must not reach the
    // run's scripts: they act with the run's own token only.
    ::unsetenv("GANTRY_TOKEN");
    runner.python_sdk_dir = gantry::cli::FindPythonSdk();
    result = gantry::runner::RunJob(runner);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return result;
}
