#include "runner/rank_logs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging.h"

namespace gantry::runner {
namespace {

int OpenAppend(const fs::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

// Writes all of `data`; false on an error other than EINTR.
bool WriteAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

RankLogs::RankLogs(const RankLogsOptions& options) : options_(options) {
  if (options_.max_line_bytes == 0) options_.max_line_bytes = 1;
  for (int64_t r = 0; r <= options_.world_size; ++r) ranks_.emplace_back(options_.stderr_lines);
}

RankLogs::Rank* RankLogs::Find(int64_t rank) {
  if (rank == kLauncher) return &ranks_.back();
  if (rank < 0 || rank >= options_.world_size) return nullptr;
  return &ranks_[static_cast<size_t>(rank)];
}

const RankLogs::Rank* RankLogs::Find(int64_t rank) const {
  return const_cast<RankLogs*>(this)->Find(rank);
}

std::string RankLogs::Prefix(int64_t rank) const {
  return rank == kLauncher ? "[" + options_.launcher_name + "] "
                           : "[rank " + std::to_string(rank) + "] ";
}

Result<std::unique_ptr<RankLogs>> RankLogs::Open(const RankLogsOptions& options) {
  std::unique_ptr<RankLogs> logs(new RankLogs(options));
  logs->merged_fd_ = OpenAppend(options.merged_log);
  if (logs->merged_fd_ < 0) {
    return Err(
        InternalError("cannot open " + options.merged_log.string() + ": " + std::strerror(errno)));
  }
  for (int64_t r = 0; r < options.world_size; ++r) {
    fs::path path = logs->RankFile(r);
    logs->Find(r)->fd = OpenAppend(path);
    if (logs->Find(r)->fd < 0) {
      return Err(InternalError("cannot open " + path.string() + ": " + std::strerror(errno)));
    }
  }
  return logs;
}

RankLogs::~RankLogs() {
  if (merged_fd_ >= 0) ::close(merged_fd_);
  for (auto& r : ranks_) {
    if (r.fd >= 0) ::close(r.fd);
  }
}

std::string RankLogs::StreamName(int64_t rank) {
  return "std_log_process_" + std::to_string(rank) + ".txt";
}

fs::path RankLogs::RankFile(int64_t rank) const { return options_.dir / StreamName(rank); }

void RankLogs::WriteMerged(int64_t rank, std::string_view line) {
  std::string text = Prefix(rank);
  text.append(line);
  text.push_back('\n');
  if (!WriteAll(merged_fd_, text) && !write_failed_) {
    GLOG(Error) << "cannot append to " << options_.merged_log.string() << ": "
                << std::strerror(errno) << "; job output is being lost";
    write_failed_ = true;
  }
}

void RankLogs::Append(int64_t rank, bool is_stderr, std::string_view chunk) {
  Rank* found = Find(rank);
  if (found == nullptr || chunk.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Rank& r = *found;
  if (r.fd >= 0 && !WriteAll(r.fd, chunk) && !write_failed_) {
    GLOG(Error) << "cannot append to " << RankFile(rank).string() << ": " << std::strerror(errno)
                << "; job output is being lost";
    write_failed_ = true;
  }
  if (is_stderr) r.stderr_tail.Append(chunk);
  std::string& partial = r.partial[is_stderr ? 1 : 0];
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    std::string_view piece = chunk.substr(0, nl);
    if (partial.size() + piece.size() > options_.max_line_bytes) {
      // Cut an overlong line so that memory stays bounded and the merged log keeps moving.
      size_t take = options_.max_line_bytes - partial.size();
      partial.append(piece.substr(0, take));
      WriteMerged(rank, partial);
      partial.clear();
      chunk.remove_prefix(take);
      continue;
    }
    if (nl == std::string_view::npos) {
      partial.append(piece);
      break;
    }
    partial.append(piece);
    WriteMerged(rank, partial);
    partial.clear();
    chunk.remove_prefix(nl + 1);
  }
}

void RankLogs::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  for (int64_t rank = kLauncher; rank < options_.world_size; ++rank) {
    for (std::string& partial : Find(rank)->partial) {
      if (partial.empty()) continue;
      WriteMerged(rank, partial);
      partial.clear();
    }
  }
}

std::string RankLogs::StderrText(int64_t rank) const {
  std::lock_guard<std::mutex> lock(mu_);
  const Rank* r = Find(rank);
  return r == nullptr ? "" : r->stderr_tail.Text();
}

}  // namespace gantry::runner
