#include "cli/serve_command.h"

#include <signal.h>

#include <iostream>

#include "cli/client_context.h"
#include "common/logging.h"
#include "http/http_server.h"
#include "serving/model_server.h"

namespace gantry::cli {

int RunServe(const ServeFlags& flags) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto model = serving::ModelServer::Create(
      {.model_dir = flags.model,
       .name = flags.name,
       .backend = flags.backend,
       .max_batch_size = flags.max_batch_size,
       .max_queue_delay_us = flags.max_queue_delay_us});
  if (!model.has_value()) return ReportError(model.error());
  http::HttpServerOptions options;
  options.host = flags.host;
  options.port = flags.port;
  serving::ModelServer* raw = model->get();
  auto server = http::HttpServer::Start(options, [raw](http::Request& r) { return raw->Handle(r); });
  if (!server.has_value()) return ReportError(server.error());
  std::cout << "Serving model '" << raw->name() << "' on http://" << flags.host << ":"
            << (*server)->port() << std::endl;
  if (!flags.port_file.empty()) {
    Status written = WriteFileAtomic(flags.port_file, std::to_string((*server)->port()) + "\n");
    if (!written.ok()) {
      (*server)->Stop();
      return ReportError(written);
    }
  }
  int sig = 0;
  sigwait(&signals, &sig);
  GLOG(Info) << "signal " << sig << ": stopping";
  (*server)->Stop();
  return 0;
}

}  // namespace gantry::cli
