#include "cli/access_commands.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/command_group.h"
#include "http/http_types.h"

namespace gantry::cli {

Result<int64_t> ParseDurationSeconds(const std::string& text) {
  auto bad = [&] {
    return Err(InvalidArgumentError("--expires-in '" + text +
                                    "' is not a duration such as 30d, 12h, 90m or 3600"));
  };
  if (text.empty()) return bad();
  int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 's':
      digits.pop_back();
      break;
    default:
      break;
  }
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return bad();
  }
  int64_t n = std::stoll(digits) * unit;
  if (n <= 0) return bad();
  return n;
}

namespace {

struct TokenFlags {
  std::string role = "contributor";
  std::string name;
  std::string expires_in;
  std::string id;
  std::string output;
  std::string login_token;
  int64_t audit_limit = 100;
  int64_t audit_after = 0;
};

std::string Str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string("-");
}

int TokenCreate(const GlobalFlags& g, const TokenFlags& f) {
  Json body = {{"role", f.role}, {"name", f.name}};
  if (!f.expires_in.empty()) {
    auto seconds = ParseDurationSeconds(f.expires_in);
    if (!seconds.has_value()) return ReportError(seconds.error());
    body["expires_in_seconds"] = *seconds;
  }
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto created = (*client)->Call("POST", "/api/v1/tokens", body);
  if (!created.has_value()) return ReportError(created.error());
  if (f.output == "json") {
    std::cout << created->dump(2) << "\n";
    return 0;
  }
  std::cerr << "Created token " << Str(*created, "id") << " (" << Str(*created, "role")
            << (created->value("expires_at", Json()).is_string()
                    ? ", expires " + Str(*created, "expires_at")
                    : std::string(", no expiry"))
            << "). It is shown only now; keep it secret:\n";
  std::cout << Str(*created, "token") << "\n";
  return 0;
}

int TokenList(const GlobalFlags& g, const TokenFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call("GET", "/api/v1/tokens");
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") {
    std::cout << (*list)["tokens"].dump(2) << "\n";
    return 0;
  }
  printf("%-18s %-12s %-20s %-26s %-26s %s\n", "ID", "ROLE", "NAME", "CREATED", "EXPIRES",
         "REVOKED");
  for (const auto& t : (*list)["tokens"]) {
    printf("%-18s %-12s %-20s %-26s %-26s %s\n", Str(t, "id").c_str(), Str(t, "role").c_str(),
           Str(t, "name").c_str(), Str(t, "created_at").c_str(), Str(t, "expires_at").c_str(),
           Str(t, "revoked_at").c_str());
  }
  return 0;
}

int TokenRevoke(const GlobalFlags& g, const TokenFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto r = (*client)->Call("DELETE", "/api/v1/tokens/" + http::UrlEncode(f.id));
  if (!r.has_value()) return ReportError(r.error());
  std::cout << "Revoked token " << f.id << "\n";
  return 0;
}

int Login(const GlobalFlags& g, const TokenFlags& f) {
  if (g.server_url.empty()) return ReportError(InvalidArgumentError("login needs --server URL"));
  std::string token = f.login_token;
  if (token.empty()) {
    if (::isatty(0)) std::cerr << "Token for " << g.server_url << ": ";
    std::getline(std::cin, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  }
  if (token.empty()) return ReportError(InvalidArgumentError("no token given (--token or stdin)"));
  // The CA file is checked here, by this very login, before it is stored with the token.
  std::string ca_file = ResolveCaFile(g.server_url, g.ca_file, {});
  if (!ca_file.empty()) ca_file = fs::absolute(ca_file).string();
  auto client = http::HttpClient::Create(g.server_url, {.bearer_token = token, .ca_file = ca_file});
  if (!client.has_value()) return ReportError(client.error());
  auto who = (*client)->Call("GET", "/api/v1/whoami");
  if (!who.has_value()) return ReportError(who.error());
  if (Status st = StoreCredential(g.server_url, token, ca_file); !st.ok()) return ReportError(st);
  std::cout << "Logged in to " << g.server_url << " as " << Str(*who, "principal")
            << "; the token is stored in " << CredentialsFile().string() << " (mode 0600)\n";
  return 0;
}

int AuditList(const GlobalFlags& g, const TokenFlags& f) {
  auto client = Connect(g);
  if (!client.has_value()) return ReportError(client.error());
  auto list = (*client)->Call("GET", "/api/v1/audit?after=" + std::to_string(f.audit_after) +
                                         "&limit=" + std::to_string(f.audit_limit));
  if (!list.has_value()) return ReportError(list.error());
  if (f.output == "json") {
    std::cout << (*list)["records"].dump(2) << "\n";
    return 0;
  }
  printf("%-8s %-26s %-30s %-7s %-6s %s\n", "ID", "TIME", "WHO", "METHOD", "STATUS", "PATH");
  for (const auto& r : (*list)["records"]) {
    printf("%-8lld %-26s %-30s %-7s %-6d %s\n", static_cast<long long>(r.value("id", 0)),
           Str(r, "time").c_str(), Str(r, "principal").c_str(), Str(r, "method").c_str(),
           r.value("status", 0), Str(r, "path").c_str());
  }
  return 0;
}

}  // namespace

void AddGlobalFlags(CLI::App* cmd, GlobalFlags& global) {
  cmd->add_option("--server", global.server_url,
                  "Workspace server URL (else $GANTRY_URL, else .gantry/config.json)");
  cmd->add_option("--workspace", global.workspace,
                  "Local workspace folder (default: nearest .gantry)");
  cmd->add_option("--ca-file", global.ca_file,
                  "PEM CA file that verifies an https:// server (else $GANTRY_CA_FILE, else the "
                  "one stored by login or in config.json, else the system's CAs)");
}

void AddAccessCommands(CLI::App& app, GlobalFlags& global, int& result) {
  static TokenFlags flags;
  auto add_global = [&](CLI::App* c) { AddGlobalFlags(c, global); };

  auto* token = app.add_subcommand("token", "Personal access tokens (owners)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "Create a token; it is printed once");
  add_global(create);
  create->add_option("--role", flags.role, "reader, contributor or owner")
      ->check(CLI::IsMember({"reader", "contributor", "owner"}))
      ->capture_default_str();
  create->add_option("--name", flags.name, "A label, e.g. whose it is");
  create->add_option("--expires-in", flags.expires_in, "Lifetime: 30d, 12h, 90m or seconds");
  create->add_option("-o,--output", flags.output, "Output format: json");
  create->callback([&] { result = RunVerb([&] { return TokenCreate(global, flags); }); });
  auto* list = token->add_subcommand("list", "List tokens (never their secrets)");
  add_global(list);
  list->add_option("-o,--output", flags.output, "Output format: json");
  list->callback([&] { result = RunVerb([&] { return TokenList(global, flags); }); });
  auto* revoke = token->add_subcommand("revoke", "Revoke a token at once");
  add_global(revoke);
  revoke->add_option("id", flags.id, "The token's id (tk_...)")->required();
  revoke->callback([&] { result = RunVerb([&] { return TokenRevoke(global, flags); }); });

  auto* login = app.add_subcommand("login", "Store a token for a remote workspace server");
  add_global(login);
  login->add_option("--token", flags.login_token, "The token (default: read from stdin)");
  login->callback([&] { result = RunVerb([&] { return Login(global, flags); }); });

  auto* audit = app.add_subcommand("audit", "The audit log of changes (owners)");
  audit->require_subcommand(1);
  auto* alist = audit->add_subcommand("list", "Print audit records, oldest first");
  add_global(alist);
  alist->add_option("--after", flags.audit_after, "Only records after this id");
  alist->add_option("--limit", flags.audit_limit, "How many")->capture_default_str();
  alist->add_option("-o,--output", flags.output, "Output format: json");
  alist->callback([&] { result = RunVerb([&] { return AuditList(global, flags); }); });
}

}  // namespace gantry::cli
