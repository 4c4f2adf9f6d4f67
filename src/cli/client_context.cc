#include "cli/client_context.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "common/json.h"
#include "common/process.h"

namespace gantry::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kResourceExhausted:
      return 2;
    case StatusCode::kNotFound:
      return 3;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return 4;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 5;
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      return 6;
    default:
      return 1;
  }
}

int ReportError(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return ExitCodeFor(status);
}

fs::path ResolveWorkspaceDir(const GlobalFlags& flags) {
  if (!flags.workspace.empty()) {
    fs::path p = fs::absolute(flags.workspace);
    if (p.filename() != ".gantry" && fs::is_directory(p / ".gantry")) return p / ".gantry";
    return p;
  }
  std::error_code ec;
  fs::path dir = fs::current_path(ec);
  for (fs::path d = dir; !d.empty(); d = d.parent_path()) {
    if (fs::exists(d / ".gantry" / "config.json", ec)) return d / ".gantry";
    if (d == d.parent_path()) break;
  }
  return dir / ".gantry";
}

namespace {
std::string ConfigField(const fs::path& file, const char* field) {
  auto text = ReadFile(file);
  if (!text.has_value()) return "";
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains(field) || !j[field].is_string()) return "";
  return j[field].get<std::string>();
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}
}  // namespace

std::string ConfiguredUrl(const fs::path& workspace_dir) {
  return ConfigField(workspace_dir / "config.json", "server");
}

std::string ConfiguredToken(const fs::path& workspace_dir) {
  return ConfigField(workspace_dir / "config.json", "token");
}

fs::path CredentialsFile() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "gantry" / "credentials.json";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/") / ".config" / "gantry" / "credentials.json";
}

Status StoreCredential(const std::string& url, const std::string& token,
                       const std::string& ca_file) {
  fs::path file = CredentialsFile();
  RETURN_IF_ERROR(MakeDirs(file.parent_path()));
  Json all = Json::object();
  if (auto text = ReadFile(file); text.has_value()) {
    Json old = Json::parse(*text, nullptr, false);
    if (old.is_object()) all = old;
  }
  if (!all.contains("servers") || !all["servers"].is_object()) all["servers"] = Json::object();
  Json entry = {{"token", token}};
  if (!ca_file.empty()) entry["ca_file"] = ca_file;
  all["servers"][TrimSlash(url)] = entry;
  return WriteFileAtomic(file, all.dump(2) + "\n", 0600);
}

namespace {
// `field` of what `gantry login` stored for `url`, or "".
std::string StoredCredentialField(const std::string& url, const char* field) {
  auto text = ReadFile(CredentialsFile());
  if (!text.has_value()) return "";
  Json all = Json::parse(*text, nullptr, false);
  if (!all.is_object() || !all.contains("servers") || !all["servers"].is_object()) return "";
  auto it = all["servers"].find(TrimSlash(url));
  if (it == all["servers"].end() || !it->is_object() || !it->contains(field) ||
      !(*it)[field].is_string()) {
    return "";
  }
  return (*it)[field].get<std::string>();
}
}  // namespace

std::string ResolveToken(const std::string& url, const fs::path& config_dir) {
  if (const char* env = std::getenv("GANTRY_TOKEN"); env && *env) return env;
  if (std::string stored = StoredCredentialField(url, "token"); !stored.empty()) return stored;
  if (!config_dir.empty() && TrimSlash(ConfiguredUrl(config_dir)) == TrimSlash(url)) {
    return ConfiguredToken(config_dir);
  }
  return "";
}

std::string ResolveCaFile(const std::string& url, const std::string& flag,
                          const fs::path& config_dir) {
  if (!flag.empty()) return flag;
  if (url.rfind("https://", 0) != 0) return "";
  if (const char* env = std::getenv("GANTRY_CA_FILE"); env && *env) return env;
  if (std::string stored = StoredCredentialField(url, "ca_file"); !stored.empty()) return stored;
  if (!config_dir.empty() && TrimSlash(ConfiguredUrl(config_dir)) == TrimSlash(url)) {
    return ConfigField(config_dir / "config.json", "ca_file");
  }
  return "";
}

namespace {
bool Healthy(const std::string& url, const std::string& ca_file) {
  auto client = http::HttpClient::Create(url, {.timeout_ms = 2000, .ca_file = ca_file});
  if (!client.has_value()) return false;
  auto r = (*client)->Call("GET", "/api/v1/health");
  return r.has_value();
}

int PortOf(const std::string& url) {
  auto colon = url.rfind(':');
  if (colon == std::string::npos) return 0;
  return std::atoi(url.c_str() + colon + 1);
}
}  // namespace

Result<std::string> StartBackgroundServer(const fs::path& workspace_dir, int port) {
  RETURN_IF_ERROR(MakeDirs(workspace_dir));
  fs::path log = workspace_dir / "server.log";
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Err(InternalError("cannot open " + log.string()));
  SpawnOptions spawn;
  spawn.argv = {SelfExecutable().string(), "server",     "--workspace",
                workspace_dir.string(),    "--ready-fd", "1"};
  // Without a port the server takes the one in config.json (so scoring URIs stay the same
  // across restarts), else a free one.
  if (port >= 0) spawn.argv.insert(spawn.argv.end(), {"--port", std::to_string(port)});
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) {
    ::close(fd);
    return Err(InternalError("pipe failed"));
  }
  // The server writes its URL on fd 1 once it listens, then closes it; logs go to fd 2.
  spawn.stdout_fd = ready[1];
  spawn.stderr_fd = fd;
  auto pid = Spawn(spawn);
  ::close(fd);
  ::close(ready[1]);
  if (!pid.has_value()) {
    ::close(ready[0]);
    return Err(pid.error());
  }
  std::string url;
  char buf[256];
  ssize_t n;
  while ((n = ::read(ready[0], buf, sizeof(buf))) > 0) url.append(buf, static_cast<size_t>(n));
  ::close(ready[0]);
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
  if (url.empty()) {
    auto tail = ReadFile(log).value_or("");
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
    return Err(UnavailableError("the workspace server in " + workspace_dir.string() +
                                " did not start; its log says:\n" + tail));
  }
  return url;
}

Result<std::unique_ptr<http::HttpClient>> Connect(const GlobalFlags& flags) {
  std::string url = flags.server_url;
  if (url.empty()) {
    if (const char* env = std::getenv("GANTRY_URL"); env && *env && flags.workspace.empty()) {
      url = env;
    }
  }
  fs::path dir = ResolveWorkspaceDir(flags);
  if (url.empty()) {
    url = ConfiguredUrl(dir);
    if (url.empty() || !Healthy(url, ResolveCaFile(url, flags.ca_file, dir))) {
      std::cerr << "Starting the local workspace server for " << dir.string() << " ...\n";
      ASSIGN_OR_RETURN(url, StartBackgroundServer(dir, url.empty() ? 0 : PortOf(url)));
    }
  }
  return http::HttpClient::Create(url, {.bearer_token = ResolveToken(url, dir),
                                        .ca_file = ResolveCaFile(url, flags.ca_file, dir)});
}

}  // namespace gantry::cli
