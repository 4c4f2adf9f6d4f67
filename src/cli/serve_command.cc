#include "cli/serve_command.h"

#include <signal.h>

#include <iostream>

#include "cli/client_context.h"
#include "common/logging.h"
#include "http/epoll_http_server.h"
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
  http::EpollHttpServerOptions options;
  options.host = flags.host;
  options.port = flags.port;
  options.loop_threads = flags.http_threads;
  serving::ModelServer* raw = model->get();
  // Requests read in one round of a loop share a forward when batching is on.
  options.after_round = [raw] { raw->Flush(); };
  auto server = http::EpollHttpServer::Start(
      options, [raw](http::Request& r, http::Responder responder) {
        raw->HandleAsync(r, std::move(responder));
      });
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
