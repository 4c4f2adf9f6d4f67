#include "cli/serve_command.h"

#include <signal.h>

#include <chrono>
#include <functional>
#include <iostream>

#include "cli/client_context.h"
#include "common/logging.h"
#include "http/epoll_http_server.h"
#include "http/http_server.h"
#include "serving/model_server.h"
#include "serving/python_worker_pool.h"
#include "serving/tensorflow_serving.h"

namespace gantry::cli {
namespace {

using namespace std::chrono_literals;

// Waits up to `timeout` for SIGINT or SIGTERM (blocked in every thread); 0 when none came.
int WaitForSignal(const sigset_t& signals, std::chrono::milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000),
              static_cast<long>(timeout.count() % 1000) * 1'000'000};
  int sig = ::sigtimedwait(&signals, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

std::string DefaultName(const ServeFlags& flags) {
  if (!flags.name.empty() || !flags.model.empty()) return flags.name;  // ModelServer decides
  return fs::path(flags.entry_script).stem().string();
}

// Listens, announces the port, serves until SIGINT or SIGTERM, then lets in-flight requests
// finish (up to `drain`) before it stops listening and calls `stop_backend`.
int ServeHttp(serving::ModelServer& model, const ServeFlags& flags, sigset_t& signals,
              std::chrono::milliseconds drain, const std::function<void()>& stop_backend) {
  http::HttpServerOptions options;
  options.host = flags.host;
  options.port = flags.port;
  // No cap per client address: behind an endpoint, every scoring request comes from the
  // workspace server's router, one address.
  options.max_connections_per_client = options.max_connections;
  serving::ModelServer* raw = &model;
  auto server =
      http::HttpServer::Start(options, [raw](http::Request& r) { return raw->Handle(r); });
  if (!server.has_value()) {
    stop_backend();
    return ReportError(server.error());
  }
  // The port file first: whoever reads the line below may look for it.
  if (!flags.port_file.empty()) {
    Status written = WriteFileAtomic(flags.port_file, std::to_string((*server)->port()) + "\n");
    if (!written.ok()) {
      (*server)->Stop();
      stop_backend();
      return ReportError(written);
    }
  }
  std::cout << "Serving model '" << raw->name() << "' on http://" << flags.host << ":"
            << (*server)->port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  GLOG(Info) << "signal " << sig << ": finishing requests in flight, then stopping";
  if (!model.Drain(drain)) GLOG(Warning) << "requests still running after the drain; stopping";
  (*server)->Stop();
  stop_backend();
  return 0;
}

// The no-code backends: an event-driven server whose loops hand requests to the model
// without blocking (ModelServer::HandleAsync); requests read in one round of a loop share a
// forward when batching is on. On SIGINT/SIGTERM in-flight requests are answered first.
int ServeEpoll(serving::ModelServer& model, const ServeFlags& flags, sigset_t& signals) {
  http::EpollHttpServerOptions options;
  options.host = flags.host;
  options.port = flags.port;
  options.loop_threads = flags.http_threads;
  serving::ModelServer* raw = &model;
  options.after_round = [raw] { raw->Flush(); };
  auto server =
      http::EpollHttpServer::Start(options, [raw](http::Request& r, http::Responder responder) {
        raw->HandleAsync(r, std::move(responder));
      });
  if (!server.has_value()) return ReportError(server.error());
  // The port file first: whoever reads the line below may look for it.
  if (!flags.port_file.empty()) {
    Status written = WriteFileAtomic(flags.port_file, std::to_string((*server)->port()) + "\n");
    if (!written.ok()) {
      (*server)->Stop();
      return ReportError(written);
    }
  }
  std::cout << "Serving model '" << raw->name() << "' on http://" << flags.host << ":"
            << (*server)->port() << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  GLOG(Info) << "signal " << sig << ": answering requests in flight, then stopping";
  (*server)->Stop();
  return 0;
}

int ServePython(const ServeFlags& flags, sigset_t& signals) {
  auto pool = serving::PythonWorkerPool::Start(
      {.entry_script = flags.entry_script,
       .source_dir = flags.source_dir,
       .model_dir = flags.model,
       .python = flags.python.empty() ? std::string("/usr/bin/python3") : flags.python,
       .workers = flags.workers,
       .request_timeout_ms = flags.request_timeout_ms,
       .max_queued = flags.max_queued_requests});
  if (!pool.has_value()) return ReportError(pool.error());
  serving::PythonWorkerPool* raw = pool->get();
  // Every worker's init() must succeed before the port opens: a deployment whose model does
  // not load fails here, with the traceback. SIGTERM still stops a slow init().
  for (;;) {
    auto ready = raw->WaitUntilReady(100ms);
    if (!ready.has_value()) {
      raw->Stop();
      return ReportError(ready.error());
    }
    if (*ready) break;
    if (int sig = WaitForSignal(signals, 0ms); sig != 0) {
      GLOG(Info) << "signal " << sig << " while the workers started: stopping";
      raw->Stop();
      return 0;
    }
  }
  auto model = serving::ModelServer::Create(
      {.model_dir = flags.model, .name = DefaultName(flags), .backend = "python"},
      std::move(*pool));
  if (!model.has_value()) {
    raw->Stop();
    return ReportError(model.error());
  }
  // Each request ends by its timeout, so the drain needs little more than that.
  auto drain = std::chrono::milliseconds(flags.request_timeout_ms) + 5s;
  return ServeHttp(**model, flags, signals, drain, [raw] { raw->Stop(); });
}

int ServeTensorFlowServing(const ServeFlags& flags, sigset_t& signals) {
  if (flags.model.empty())
    return ReportError(InvalidArgumentError("--backend tensorflow-serving needs --model"));
  std::string name = flags.name;
  if (name.empty()) {
    fs::path p = fs::absolute(flags.model).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    name = p.filename().string();
  }
  auto tf = serving::TensorFlowServing::Start(
      {.model_dir = flags.model, .name = name, .port = flags.port});
  if (!tf.has_value()) return ReportError(tf.error());
  for (;;) {
    auto ready = (*tf)->Ready();
    if (!ready.has_value()) return ReportError(ready.error());
    if (*ready) break;
    if (int sig = WaitForSignal(signals, 200ms); sig != 0) {
      (*tf)->StopWith(sig);
      return 0;
    }
  }
  // TF Serving listens on every interface itself; --host only names the address printed.
  if (!flags.port_file.empty()) {
    Status written = WriteFileAtomic(flags.port_file, std::to_string((*tf)->rest_port()) + "\n");
    if (!written.ok()) return ReportError(written);  // the destructor stops the child
  }
  std::cout << "Serving model '" << name << "' on http://" << flags.host << ":"
            << (*tf)->rest_port() << std::endl;
  for (;;) {
    if (auto ended = (*tf)->TryWait(); ended.has_value()) {
      return ReportError(
          InternalError("tensorflow_model_server " +
                        (ended->signal ? "was killed by signal " + std::to_string(ended->signal)
                                       : "exited with code " + std::to_string(ended->code)) +
                        " (its log is above)"));
    }
    if (int sig = WaitForSignal(signals, 200ms); sig != 0) {
      GLOG(Info) << "signal " << sig << ": passing it to tensorflow_model_server";
      (*tf)->StopWith(sig);
      return 0;
    }
  }
}

}  // namespace

int RunServe(const ServeFlags& flags) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  if (flags.backend != "python" && !flags.entry_script.empty()) {
    return ReportError(InvalidArgumentError("--entry-script needs --backend python"));
  }
  if (flags.backend == "python") return ServePython(flags, signals);
  if (flags.backend == "tensorflow-serving") return ServeTensorFlowServing(flags, signals);
  if (flags.model.empty()) return ReportError(InvalidArgumentError("--model is required"));

  serving::ModelBackendOptions backend_options;
  backend_options.tensorflow_lib = flags.tensorflow_lib;
  if (!flags.python.empty()) backend_options.python = flags.python;
  backend_options.signature = flags.signature;
  auto model = serving::ModelServer::Create({.model_dir = flags.model,
                                             .name = flags.name,
                                             .backend = flags.backend,
                                             .backend_options = backend_options,
                                             .max_batch_size = flags.max_batch_size,
                                             .max_queue_delay_us = flags.max_queue_delay_us});
  if (!model.has_value()) return ReportError(model.error());
  return ServeEpoll(**model, flags, signals);
}

void AddServeCommand(CLI::App& app, int& result) {
  static ServeFlags serve;
  // gantry serve --model DIR [--backend torchscript|tensorflow|python|tensorflow-serving]
  auto* serve_cmd =
      app.add_subcommand("serve", "Serve one model: Open Inference v2, TF Serving REST, /score");
  serve_cmd->add_option("--model", serve.model,
                        "Model folder (e.g. a downloaded model); optional with --backend python");
  serve_cmd->add_option("--name", serve.name, "Served name (default: the folder's name)");
  serve_cmd->add_option("--host", serve.host, "Address to listen on")->capture_default_str();
  serve_cmd->add_option("--port", serve.port, "Port (default: a free one)");
  serve_cmd->add_option("--port-file", serve.port_file, "Write the port here once listening");
  serve_cmd
      ->add_option("--backend", serve.backend,
                   "torchscript, tensorflow (SavedModel), python or tensorflow-serving")
      ->capture_default_str();
  serve_cmd->add_option("--max-batch-size", serve.max_batch_size,
                        "Dynamic batching: most rows in one forward (default 0: off)");
  serve_cmd
      ->add_option("--max-queue-delay-us", serve.max_queue_delay_us,
                   "Dynamic batching: how long a request waits for others (0: batch only "
                   "what queues while a forward runs)")
      ->capture_default_str();
  serve_cmd->add_option("--http-threads", serve.http_threads,
                        "HTTP event-loop threads (default 0: one per core, at most 4)");
  serve_cmd->add_option("--entry-script", serve.entry_script,
                        "python: the Azure ML entry script defining init() and run(raw_data)");
  serve_cmd->add_option(
      "--source-dir", serve.source_dir,
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
  serve_cmd->add_option("--workers", serve.workers, "python: worker processes")
      ->capture_default_str();
  serve_cmd
      ->add_option("--request-timeout-ms", serve.request_timeout_ms,
                   "python: a request's limit; the worker is restarted past it")
      ->capture_default_str();
  serve_cmd
      ->add_option("--max-queued-requests", serve.max_queued_requests,
                   "python: requests that may wait for a free worker; more get 503")
      ->capture_default_str();
  serve_cmd->callback([&] { result = RunServe(serve); });
}

}  // namespace gantry::cli
