// The gantry binary: one executable, four roles (server, client, runner, model server). Each
// command group registers its own verbs (*_commands.cc, server_command.cc, serve_command.cc,
// runner_command.cc).
#include <CLI/CLI.hpp>

#include "cli/access_commands.h"
#include "cli/client_context.h"
#include "cli/compute_commands.h"
#include "cli/data_commands.h"
#include "cli/endpoint_commands.h"
#include "cli/environment_commands.h"
#include "cli/job_commands.h"
#include "cli/model_commands.h"
#include "cli/runner_command.h"
#include "cli/serve_command.h"
#include "cli/server_command.h"

int main(int argc, char** argv) {
  using namespace gantry::cli;
  CLI::App app{"Gantry: a self-hosted machine-learning workspace"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "gantry 0.1.0");
  GlobalFlags global;
  int result = 0;

  AddServerCommand(app, result);
  AddAccessCommands(app, global, result);
  AddJobCommands(app, global, result);
  AddComputeCommands(app, global, result);
  AddEndpointCommands(app, global, result);
  AddEnvironmentCommands(app, global, result);
  AddDataCommands(app, global, result);
  AddModelCommands(app, global, result);
  AddServeCommand(app, result);
  AddRunnerCommand(app, result);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return result;
}
