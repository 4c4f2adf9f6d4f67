#include "cli/server_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <iostream>
#include <thread>

#include "api/api.h"
#include "artifacts/local_blob_store.h"
#include "cli/client_context.h"
#include "cli/python_sdk.h"
#include "common/json.h"
#include "common/logging.h"
#include "common/process.h"
#include "compute/compute_backend.h"
#include "deploy/endpoint_controller.h"
#include "http/http_server.h"
#include "store/metadata_store.h"
#include "workspace/access_service.h"
#include "workspace/endpoint_service.h"
#include "workspace/model_service.h"
#include "workspace/run_service.h"
#include "workspace/scheduler.h"
#include "workspace/sweep_service.h"

namespace gantry::cli {

namespace {

// Holds an exclusive lock on DIR/server.lock for the server's lifetime, so two servers never
// share a workspace.
Result<int> LockWorkspace(const fs::path& dir) {
  fs::path lock = dir / "server.lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Err(InternalError("cannot open " + lock.string()));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Err(FailedPreconditionError("another gantry server is already serving " + dir.string() +
                                       " (see " + (dir / "server.pid").string() + ")"));
  }
  return fd;
}

Json ReadConfig(const fs::path& dir) {
  if (auto text = ReadFile(dir / "config.json"); text.has_value()) {
    Json old = Json::parse(*text, nullptr, false);
    if (old.is_object()) return old;
  }
  return Json::object();
}

// config.json holds the owner token: readable by its owner only (0600). `ca_file` verifies
// an https:// server; "" for a plain one.
Status WriteConfig(const fs::path& dir, Json config, const std::string& url,
                   const std::string& name, const std::string& token, const std::string& ca_file) {
  config["server"] = url;
  if (ca_file.empty()) {
    config.erase("ca_file");
  } else {
    config["ca_file"] = ca_file;
  }
  config["workspace_name"] = name;
  config["local"] = true;
  if (token.empty()) {
    config.erase("token");
  } else {
    config["token"] = token;
  }
  return WriteFileAtomic(dir / "config.json", config.dump(2) + "\n", 0600);
}

int ConfiguredPort(const fs::path& dir) {
  std::string url = ConfiguredUrl(dir);
  auto colon = url.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(url.c_str() + colon + 1);
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

int RunServer(const ServerFlags& flags) {
  fs::path dir = fs::absolute(flags.workspace);
  const bool loopback = IsLoopbackHost(flags.host);
  if (flags.no_auth && !loopback) {
    return ReportError(InvalidArgumentError(
        "--no-auth is refused with --host " + flags.host +
        ": a server that listens beyond loopback runs code for whoever reaches it, so it "
        "always needs credentials (see `gantry token create`)"));
  }
  const bool tls = !flags.tls_cert.empty() || !flags.tls_key.empty();
  if (tls && (flags.tls_cert.empty() || flags.tls_key.empty())) {
    return ReportError(InvalidArgumentError(flags.tls_cert.empty() ? "--tls-key needs --tls-cert"
                                                                   : "--tls-cert needs --tls-key"));
  }
  if (!tls && !flags.ca_file.empty()) {
    return ReportError(InvalidArgumentError("--ca-file needs --tls-cert and --tls-key"));
  }
  // Runners and local clients verify the server with this file (absolute: they run elsewhere).
  const std::string ca_file =
      !tls ? "" : fs::absolute(flags.ca_file.empty() ? flags.tls_cert : flags.ca_file).string();
  if (tls && ::access(ca_file.c_str(), R_OK) != 0) {
    return ReportError(InvalidArgumentError("cannot read --ca-file " + ca_file));
  }
  if (Status st = MakeDirs(dir); !st.ok()) return ReportError(st);
  const fs::path env_cache = flags.env_cache.empty() ? dir / "envs" : fs::absolute(flags.env_cache);
  auto lock = LockWorkspace(dir);
  if (!lock.has_value()) return ReportError(lock.error());

  // Signals are taken synchronously by the main thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto store = store::OpenMetadataStore({"sqlite:" + (dir / "gantry.db").string()});
  if (!store.has_value()) return ReportError(store.error());
  auto blobs = artifacts::LocalBlobStore::Open(dir / "blobs");
  if (!blobs.has_value()) return ReportError(blobs.error());

  auto fetcher = artifacts::NewCurlUrlFetcher({.max_bytes = flags.max_fetch_bytes});
  // Which files dataset file:// URLs may read on this machine: the operator's roots, plus, for
  // a loopback-only server, the folder holding the workspace folder (the project of a
  // .gantry) and Debian's dataset packages (/usr/share/datasets).
  std::vector<fs::path> file_roots(flags.allow_file_roots.begin(), flags.allow_file_roots.end());
  if (loopback) {
    file_roots.push_back(dir.parent_path());
    file_roots.push_back("/usr/share/datasets");
  }
  workspace::DatasetService datasets(store->get(), blobs->get(), fetcher.get(), RealClock::Get(),
                                     {.file_roots = file_roots});
  int slots = flags.slots >= 0 ? flags.slots
                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  workspace::ComputeService computes(store->get(), RealClock::Get(), slots);
  workspace::EnvironmentService environments(store->get(), RealClock::Get());
  workspace::RunService runs(store->get(), blobs->get(), RealClock::Get(), &datasets, &computes,
                             &environments);
  workspace::ModelService models(store->get(), blobs->get(), RealClock::Get());
  workspace::AccessService access(store->get(), RealClock::Get());
  Json config = ReadConfig(dir);
  std::string owner_token;
  if (!flags.no_auth) {
    // Zero setup: the local owner's token lives in config.json, where the CLI and the SDK find
    // it. A valid one is kept across restarts.
    auto token = access.EnsureOwnerToken(config.value("token", ""));
    if (!token.has_value()) return ReportError(token.error());
    owner_token = *token;
  }
  // Online endpoints: the controller runs the model servers of every deployment.
  const char* path_env = std::getenv("PATH");
  deploy::EndpointController controller(
      {.root = dir / "deployments",
       .env_cache = env_cache,
       .gantry = SelfExecutable(),
       .path_env = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin",
       .python_sdk_dir = FindPythonSdk()},
      store->get(), blobs->get(), RealClock::Get());
  workspace::EndpointService endpoints(store->get(), blobs->get(), &models, &environments,
                                       controller, RealClock::Get(),
                                       path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  // Sweeps: decided here, on every run change and every primary-metric point.
  workspace::SweepService sweeps(&runs, RealClock::Get());
  runs.SetMetricsObserver(&sweeps);
  api::Api api(api::ApiServices{.access = access,
                                .runs = runs,
                                .models = models,
                                .datasets = datasets,
                                .computes = computes,
                                .environments = environments,
                                .endpoints = endpoints,
                                .sweeps = sweeps,
                                .blobs = **blobs},
               api::ApiOptions{.workspace_name = flags.name,
                               .require_auth = !flags.no_auth,
                               .upload_dir = (*blobs)->temp_dir().string()});

  http::HttpServerOptions http_options;
  http_options.host = flags.host;
  if (tls) {
    http_options.tls_cert_file = fs::absolute(flags.tls_cert).string();
    http_options.tls_key_file = fs::absolute(flags.tls_key).string();
  }
  http_options.port = flags.port >= 0 ? flags.port : ConfiguredPort(dir);
  http_options.body_limit = [&api](const std::string& m, const std::string& p) {
    return api.BodyLimit(m, p);
  };
  http_options.body_to_file = [&api](const std::string& m, const std::string& p) {
    return api.BodyToFile(m, p);
  };
  http_options.before_body = [&api](const http::Request& head) { return api.BeforeBody(head); };
  auto server =
      http::HttpServer::Start(http_options, [&api](http::Request& r) { return api.Handle(r); });
  if (!server.has_value() && flags.port < 0 && http_options.port != 0) {
    // The remembered port is taken by something else: take any free one.
    http_options.port = 0;
    server =
        http::HttpServer::Start(http_options, [&api](http::Request& r) { return api.Handle(r); });
  }
  if (!server.has_value()) return ReportError(server.error());
  // Clients on this machine use loopback; a wildcard address is no place to connect to.
  std::string host = flags.host == "0.0.0.0" || flags.host == "::" ? "127.0.0.1" : flags.host;
  std::string url = (tls ? "https://" : "http://") + host + ":" + std::to_string((*server)->port());

  auto backend = compute::NewLocalBackend({});
  auto slurm = compute::NewSlurmBackend({});
  workspace::Scheduler scheduler(&runs, &computes, backend.get(),
                                 {.server_url = url,
                                  .ca_file = ca_file,
                                  .runs_dir = dir / "runs",
                                  .env_cache_dir = env_cache,
                                  .blob_cache_dir = dir / "node-cache" / "blobs"},
                                 slurm.get());
  scheduler.Start();
  sweeps.Start();
  controller.Start();

  if (Status st = WriteConfig(dir, config, url, flags.name, owner_token, ca_file); !st.ok()) {
    return ReportError(st);
  }
  // Informational (error messages point to it); the lock is what counts.
  (void)WriteFileAtomic(dir / "server.pid", std::to_string(::getpid()) + "\n");
  GLOG(Info) << "workspace '" << flags.name << "' in " << dir.string() << " serving on " << url
             << " with " << slots << " local slot(s)";
  if (!loopback) {
    // Said on stderr, before the URL line on stdout that scripts wait for.
    std::cerr << "Listening on " << flags.host << ":" << (*server)->port()
              << (flags.host == "0.0.0.0" || flags.host == "::" ? " (every interface)" : "")
              << ": every route but health and scoring needs a token.\n"
              << "  The owner token is in " << (dir / "config.json").string() << " (mode 0600).\n"
              << "  Give each person or machine its own: gantry token create --role contributor"
                 " [--expires-in 30d]\n"
              << "  and on their side: gantry login --server " << (tls ? "https" : "http")
              << "://THIS-HOST:" << (*server)->port()
              << (tls ? " --ca-file " + ca_file + " (a copy of it)" : std::string())
              << " (or set GANTRY_TOKEN" << (tls ? " and GANTRY_CA_FILE" : "") << ").\n"
              << "  Runners need none: each run gets its own token, valid until it ends.\n";
    if (!tls) {
      std::cerr << "  Without --tls-cert and --tls-key, tokens and data cross the network in "
                   "clear text: serve HTTPS, or put a TLS proxy in front.\n";
    }
  } else if (flags.no_auth) {
    std::cerr << "Authentication is off (--no-auth): anything on this machine can use the API.\n";
  }
  if (flags.ready_fd >= 0) {
    std::string line = url + "\n";
    (void)!::write(flags.ready_fd, line.data(), line.size());
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, flags.ready_fd);
    ::close(devnull);
  } else {
    std::cout << "Gantry workspace server listening on " << url << std::endl;
  }

  int sig = 0;
  sigwait(&signals, &sig);
  GLOG(Info) << "signal " << sig << ": stopping (runners keep their jobs running)";
  sweeps.Stop();
  scheduler.Stop();
  runs.Shutdown();
  (*server)->Stop();
  controller.Stop();  // model servers stop with the server; they come back on its next start
  std::error_code ec;
  fs::remove(dir / "server.pid", ec);
  ::close(*lock);
  return 0;
}

int StopServer(const fs::path& dir) {
  auto text = ReadFile(dir / "server.pid");
  if (!text.has_value()) {
    std::cout << "No gantry server is running for " << dir.string() << "\n";
    return 0;
  }
  pid_t pid = static_cast<pid_t>(std::atoi(text->c_str()));
  if (pid <= 1 || !ProcessAlive(pid)) {
    std::error_code ec;
    fs::remove(dir / "server.pid", ec);
    std::cout << "No gantry server is running for " << dir.string() << "\n";
    return 0;
  }
  ::kill(pid, SIGTERM);
  // The server finishes in-flight requests; long polls end within their wait.
  for (int i = 0; i < 400 && ProcessAlive(pid); ++i) ::usleep(50'000);
  if (ProcessAlive(pid)) {
    ::kill(pid, SIGKILL);
    std::cout << "Gantry server (pid " << pid << ") did not stop in 20 s; killed it\n";
  } else {
    std::cout << "Stopped the gantry server (pid " << pid << ")\n";
  }
  return 0;
}

void AddServerCommand(CLI::App& app, int& result) {
  static ServerFlags server;
  static bool background = false;
  static std::string stop_workspace;
  auto* server_cmd = app.add_subcommand("server", "Run the workspace server (REST API, scheduler)");
  server_cmd->add_option("--workspace", server.workspace, "Workspace folder")
      ->capture_default_str();
  server_cmd->add_option("--host", server.host, "Address to listen on")->capture_default_str();
  server_cmd->add_option("--port", server.port,
                         "Port (default: the one in config.json, else a free one)");
  server_cmd->add_option(
      "--slots", server.slots,
      "Jobs the local compute runs at once (default: CPUs; 0 queues without starting)");
  server_cmd->add_option("--ready-fd", server.ready_fd, "Write the URL to this fd when ready")
      ->group("");
  server_cmd->add_flag("--no-auth", server.no_auth,
                       "No credentials needed (loopback only; refused with another --host)");
  server_cmd->add_option("--allow-file-root", server.allow_file_roots,
                         "A folder whose files dataset file:// URLs may read (repeatable)");
  server_cmd
      ->add_option("--max-fetch-bytes", server.max_fetch_bytes,
                   "Largest file a dataset URL may bring in")
      ->capture_default_str();
  server_cmd->add_option("--env-cache", server.env_cache,
                         "Folder where environments are built (default: WORKSPACE/envs; "
                         "builds are named by content, so workspaces may share one)");
  server_cmd->add_option("--tls-cert", server.tls_cert,
                         "Serve HTTPS with this PEM certificate (chain); needs --tls-key");
  server_cmd->add_option("--tls-key", server.tls_key, "PEM private key of --tls-cert");
  server_cmd->add_option("--ca-file", server.ca_file,
                         "PEM CA file runners and local clients verify --tls-cert with "
                         "(default: the --tls-cert file itself)");
  server_cmd->add_flag("--background", background,
                       "Start in the background and return once it answers");
  auto* server_stop =
      server_cmd->add_subcommand("stop", "Stop the background server of a workspace");
  server_stop->add_option("--workspace", stop_workspace, "Workspace folder");
  server_stop->callback([&result] {
    GlobalFlags g;
    g.workspace = stop_workspace;
    result = StopServer(ResolveWorkspaceDir(g));
  });
  // The callbacks run after this function returned: they hold the commands by value.
  server_cmd->callback([server_cmd, server_stop, &result] {
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
}

}  // namespace gantry::cli
