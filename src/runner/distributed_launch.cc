#include "runner/distributed_launch.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <map>
#include <sstream>

#include "common/files.h"

namespace gantry::runner {
namespace {

// Binds a TCP socket to 127.0.0.1:port (0: any free port). Returns the fd (caller closes)
// and the bound port, or -1.
int BindLocal(int port, int* bound) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  if (bound != nullptr) *bound = ntohs(addr.sin_port);
  return fd;
}

bool IsShellName(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool IsOpenMpiOwn(const std::string& name) {
  for (const char* prefix : {"OMPI_", "PMIX_", "OPAL_", "PRTE_", "ORTE_"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Runs as `bash -c WRAPPER SHELL RANK_DIR COMMAND PROCESSES_PER_INSTANCE INSTANCE_COUNT
// NODE_DIR_TEMPLATE LEADER_NODE_DIR` for each rank mpirun starts. With a node folder template
// (one runner per node), the rank's node folder is the template with @NODE@ replaced by its
// node rank: the rank runs in its wd/, with the variables its node's runner wrote to
// rank.env, writes to its ranks/ pipes, and the leader's node folder in the command (input
// and output paths) becomes its own. $EPOCHREALTIME (bash 5) orders the ranks' exits.
constexpr char kRankWrapper[] =
    "r=${OMPI_COMM_WORLD_RANK:?is not set: not started by OpenMPI mpirun}\n"
    "d=$1 c=$2\n"
    "if [ -n \"$5\" ]; then\n"
    "  n=${5//@NODE@/$((r / $3))}\n"
    "  cd \"$n/wd\" || exit 127\n"
    "  set -a; . \"$n/rank.env\" || exit 127; set +a\n"
    "  d=$n/ranks c=${2//\"$6\"/\"$n\"}\n"
    "fi\n"
    "export GANTRY_RANK=$r GANTRY_WORLD_SIZE=$OMPI_COMM_WORLD_SIZE GANTRY_NODE_COUNT=$4 "
    "GANTRY_NODE_RANK=$((r / $3)) GANTRY_LOCAL_RANK=$((r % $3))\n"
    "exec >\"$d/stdout.$r\" 2>\"$d/stderr.$r\"\n"
    "\"$0\" -c \"$c\"\n"
    "rc=$?\n"
    "printf '%s %s\\n' \"$rc\" \"$EPOCHREALTIME\" >\"$d/exit.$r\"\n"
    "exit $rc\n";

}  // namespace

std::vector<std::string> LocalHosts(const jobs::DistributionPlan& plan) {
  return std::vector<std::string>(static_cast<size_t>(std::max<int64_t>(plan.instance_count, 1)),
                                  kLocalHost);
}

Result<int> FindFreePorts(int count) {
  count = std::max(count, 1);
  for (int attempt = 0; attempt < 50; ++attempt) {
    int base = 0;
    int first = BindLocal(0, &base);
    if (first < 0) continue;
    std::vector<int> held = {first};
    bool ok = base + count - 1 <= 65535;
    for (int k = 1; ok && k < count; ++k) {
      int fd = BindLocal(base + k, nullptr);
      if (fd < 0)
        ok = false;
      else
        held.push_back(fd);
    }
    for (int fd : held) ::close(fd);
    if (ok) return base;
  }
  return Err(UnavailableError("cannot find " + std::to_string(count) +
                              " consecutive free ports on 127.0.0.1"));
}

Result<std::string> LocalAddressTowards(const std::string& url) {
  std::string rest = url;
  if (size_t scheme = rest.find("://"); scheme != std::string::npos) rest = rest.substr(scheme + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest, port = "80";
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    size_t close = rest.find(']');
    host = rest.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < rest.size() && rest[close + 1] == ':') {
      port = rest.substr(close + 2);
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return Err(InvalidArgumentError("server URL '" + url + "' has no host"));
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Err(UnavailableError("cannot resolve '" + host + "': " + ::gai_strerror(rc)));
  }
  std::string error = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    // Connecting a UDP socket sends nothing; it only picks the route and its source address.
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* addr =
          local.ss_family == AF_INET6
              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
              : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
      if (::inet_ntop(local.ss_family, addr, text, sizeof(text)) != nullptr) {
        ::close(fd);
        ::freeaddrinfo(found);
        return std::string(text);
      }
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return Err(UnavailableError("no route to '" + host + "': " + error));
}

std::string InterfaceOfAddress(const std::string& address) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string name;
  for (ifaddrs* i = list; i != nullptr && name.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_name == nullptr) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr =
        family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr);
    if (::inet_ntop(family, addr, text, sizeof(text)) != nullptr && address == text)
      name = i->ifa_name;
  }
  ::freeifaddrs(list);
  return name;
}

std::string MergeHostFile(const std::string& host_file) {
  std::vector<std::string> order;
  std::map<std::string, int64_t> slots;
  std::istringstream lines(host_file);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string host, field;
    if (!(fields >> host)) continue;
    int64_t n = 1;
    while (fields >> field) {
      if (field.rfind("slots=", 0) == 0) {
        std::from_chars(field.data() + 6, field.data() + field.size(), n);
      }
    }
    if (!slots.contains(host)) order.push_back(host);
    slots[host] += n;
  }
  std::string out;
  for (const auto& host : order) out += host + " slots=" + std::to_string(slots[host]) + "\n";
  return out;
}

std::string RankEnvironmentFile(const std::map<std::string, std::string>& env) {
  std::string out;
  for (const auto& [name, value] : env) {
    if (!IsShellName(name) || IsOpenMpiOwn(name) || name.rfind("SLURM_", 0) == 0) continue;
    out += name + "='";
    for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += "'\n";
  }
  return out;
}

std::vector<std::string> MpiCommand(const jobs::DistributionPlan& plan,
                                    const MpiCommandOptions& options) {
  const int64_t per_node = std::max<int64_t>(plan.processes_per_instance, 1);
  std::vector<std::string> argv = {options.mpirun.string()};
  if (options.in_allocation) {
    // The batch system's allocation names the nodes (one slot each, as its runners hold
    // them): place P ranks per node, over the slots.
    argv.insert(argv.end(),
                {"--map-by", "ppr:" + std::to_string(per_node) + ":node", "--oversubscribe"});
  } else {
    argv.insert(argv.end(), {"--hostfile", options.host_file.string()});
  }
  argv.insert(argv.end(), {"-np", std::to_string(plan.world_size())});
  if (options.as_root) argv.push_back("--allow-run-as-root");
  if (plan.world_size() > options.cpus && !options.in_allocation) argv.push_back("--oversubscribe");
  // Ranks share this machine with other jobs: no pinning to cores.
  argv.insert(argv.end(), {"--bind-to", "none"});
  for (const auto& name : options.export_names) {
    if (!IsShellName(name) || IsOpenMpiOwn(name)) continue;
    argv.insert(argv.end(), {"-x", name});
  }
  argv.insert(argv.end(), {options.shell.string(), "-c", kRankWrapper, options.shell.string(),
                           options.rank_dir.string(), options.command, std::to_string(per_node),
                           std::to_string(plan.instance_count), options.node_dir_template,
                           options.leader_node_dir.string()});
  return argv;
}

fs::path MpiRankPipe(const fs::path& rank_dir, int64_t rank, bool is_stderr) {
  return rank_dir / ((is_stderr ? "stderr." : "stdout.") + std::to_string(rank));
}

fs::path MpiRankExitFile(const fs::path& rank_dir, int64_t rank) {
  return rank_dir / ("exit." + std::to_string(rank));
}

std::vector<MpiRankExit> ReadMpiExits(const fs::path& rank_dir, int64_t world_size) {
  std::vector<MpiRankExit> out;
  for (int64_t r = 0; r < world_size; ++r) {
    auto text = ReadFile(MpiRankExitFile(rank_dir, r));
    if (!text.has_value()) continue;
    std::string s = *text;
    // $EPOCHREALTIME follows the locale's decimal point.
    std::replace(s.begin(), s.end(), ',', '.');
    std::istringstream fields(s);
    MpiRankExit e;
    e.rank = r;
    if (!(fields >> e.code)) continue;
    if (!(fields >> e.ended_at)) e.ended_at = 0;
    out.push_back(e);
  }
  return out;
}

std::optional<MpiRankExit> FirstMpiFailure(const std::vector<MpiRankExit>& exits) {
  std::optional<MpiRankExit> first, first_stopped;
  for (const auto& e : exits) {
    if (e.code == 0) continue;
    const bool stopped = e.code == 128 + 15 || e.code == 128 + 9;
    auto& slot = stopped ? first_stopped : first;
    if (!slot || e.ended_at < slot->ended_at ||
        (e.ended_at == slot->ended_at && e.rank < slot->rank)) {
      slot = e;
    }
  }
  return first ? first : first_stopped;
}

}  // namespace gantry::runner
