#include "cli/command_group.h"

#include <nlohmann/json.hpp>

#include "cli/access_commands.h"
#include "common/names.h"

namespace gantry::cli {

bool NamesOk(const NameChecks& names) {
  for (const auto& [field, value] : names) {
    if (value->empty()) continue;  // Absent: the command decides whether it is needed.
    if (Status st = ValidateName(field, *value); !st.ok()) {
      ReportError(st);
      return false;
    }
  }
  return true;
}

int RunVerb(const std::function<int()>& run) {
  try {
    return run();
  } catch (const nlohmann::json::exception& e) {
    return ReportError(InternalError(
        std::string("the server's answer is not what this gantry expects (is the server a "
                    "different version?): ") +
        e.what()));
  }
}

CLI::App* AddVerb(CLI::App* group, const char* verb, const char* help, GlobalFlags& global,
                  const std::vector<NameOption>& names, std::string* output, NameChecks checks,
                  std::function<int()> run, int& result) {
  CLI::App* c = group->add_subcommand(verb, help);
  AddGlobalFlags(c, global);
  for (const NameOption& n : names) {
    CLI::Option* opt = c->add_option(n.flags, *n.value, n.help);
    if (n.required) opt->required();
  }
  c->add_option("-o,--output", *output, "Output format: json")
      ->check(CLI::IsMember({"json", "table"}));
  c->callback([checks = std::move(checks), run = std::move(run), &result] {
    result = NamesOk(checks) ? RunVerb(run) : 2;
  });
  return c;
}

}  // namespace gantry::cli
