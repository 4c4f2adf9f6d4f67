#include "serving/tensorflow_serving.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "common/logging.h"
#include "http/http_client.h"

namespace gantry::serving {
namespace {

std::optional<fs::path> FindOnPath(const std::string& program) {
  auto runnable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) {
    return runnable(program) ? std::optional<fs::path>(program) : std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / program;
    if (runnable(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

bool IsSavedModel(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "saved_model.pb", ec) || fs::exists(dir / "saved_model.pbtxt", ec);
}

// TF Serving's layout: BASE/<version number>/saved_model.pb.
bool HasVersions(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    bool numeric = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && e.is_directory(ec) && IsSavedModel(e.path())) return true;
  }
  return false;
}

// A port that is free now. TF Serving binds it a moment later; another process taking it
// in between makes TF Serving fail to start, which `gantry serve` then reports.
Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(InternalError("socket() failed"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof(addr);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  if (!ok) return Err(UnavailableError("cannot find a free port"));
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace

Result<std::unique_ptr<TensorFlowServing>> TensorFlowServing::Start(
    TensorFlowServingOptions options) {
  std::optional<fs::path> program = FindOnPath(options.program);
  if (!program.has_value()) {
    return Err(FailedPreconditionError(
        "--backend tensorflow-serving runs TensorFlow Serving's " + options.program +
        ", which is not on PATH; install TensorFlow Serving (tensorflow-model-server) or put "
        "the program on PATH"));
  }
  std::error_code ec;
  fs::path dir = fs::absolute(options.model_dir, ec).lexically_normal();
  if (!fs::is_directory(dir, ec)) {
    return Err(NotFoundError("model folder " + dir.string() + " does not exist"));
  }
  auto tf = std::unique_ptr<TensorFlowServing>(new TensorFlowServing());
  // Find the SavedModel: here or one folder down, bare or in numbered version folders.
  fs::path saved_model;  // a bare SavedModel, to be presented as version 1
  std::vector<fs::path> candidates = {dir};
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec)) candidates.push_back(e.path());
  }
  for (const fs::path& c : candidates) {
    if (HasVersions(c)) {
      tf->base_path_ = c;
      break;
    }
    if (IsSavedModel(c)) {
      saved_model = c;
      break;
    }
  }
  if (!saved_model.empty()) {
    ASSIGN_OR_RETURN(tf->temp_dir_, MakeTempDir("gantry-tf-serving"));
    fs::create_directory_symlink(saved_model, tf->temp_dir_ / "1", ec);
    if (ec) {
      return Err(
          InternalError("cannot link " + saved_model.string() + " as version 1: " + ec.message()));
    }
    tf->base_path_ = tf->temp_dir_;
  }
  if (tf->base_path_.empty()) {
    return Err(InvalidArgumentError("no TensorFlow SavedModel (saved_model.pb) in " + dir.string() +
                                    " nor in numbered version folders under it"));
  }
  if (options.port == 0) {
    ASSIGN_OR_RETURN(options.port, FreePort());
  }
  // Its gRPC API is not used by Gantry, but it always listens; a free port keeps two
  // deployments on one machine from colliding on TF Serving's default 8500.
  ASSIGN_OR_RETURN(tf->grpc_port_, FreePort());
  tf->rest_port_ = options.port;
  tf->options_ = std::move(options);

  SpawnOptions spawn;
  spawn.argv = {program->string(), "--port=" + std::to_string(tf->grpc_port_),
                "--rest_api_port=" + std::to_string(tf->rest_port_),
                "--model_name=" + tf->options_.name,
                "--model_base_path=" + tf->base_path_.string()};
  spawn.new_session = true;
  spawn.stdout_fd = 2;  // its log joins ours; our stdout keeps the one "Serving..." line
  spawn.stderr_fd = 2;
  spawn.parent_death_signal = SIGKILL;
  ASSIGN_OR_RETURN(tf->pid_, Spawn(spawn));
  GLOG(Info) << "started " << program->string() << " (pid " << tf->pid_ << ") on "
             << tf->base_path_.string();
  return tf;
}

TensorFlowServing::~TensorFlowServing() {
  if (pid_ > 0 && !exit_.has_value()) {
    // It may have exited already; nothing else to do then.
    (void)SignalGroup(pid_, SIGKILL);
    exit_ = WaitFor(pid_);
  }
  std::error_code ec;
  if (!temp_dir_.empty()) fs::remove_all(temp_dir_, ec);  // the link, not what it points at
}

std::optional<ExitInfo> TensorFlowServing::TryWait() {
  if (!exit_.has_value()) exit_ = gantry::TryWait(pid_);
  return exit_;
}

Result<bool> TensorFlowServing::Ready() {
  if (auto ended = TryWait(); ended.has_value()) {
    return Err(UnavailableError(options_.program + " exited " +
                                (ended->signal ? "on signal " + std::to_string(ended->signal)
                                               : "with code " + std::to_string(ended->code)) +
                                " before it served the model (its log is above)"));
  }
  auto client = http::HttpClient::Create("http://127.0.0.1:" + std::to_string(rest_port_),
                                         {.timeout_ms = 2000});
  if (!client.has_value()) return Err(client.error());
  auto answer = (*client)->Send("GET", "/v1/models/" + options_.name);
  return answer.has_value() && answer->status == 200;
}

ExitInfo TensorFlowServing::StopWith(int sig) {
  if (!TryWait().has_value()) {
    // It may have exited already; nothing else to do then.
    (void)SignalGroup(pid_, sig);
    exit_ = WaitFor(pid_);
  }
  return *exit_;
}

}  // namespace gantry::serving
