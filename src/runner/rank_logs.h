// RankLogs: the logs of a distributed job's processes. Each rank's stdout+stderr goes, as
// written, to its own file `std_log_process_RANK.txt` (Azure ML's user_logs names) and, line
// by line with a "[rank N] " prefix, to the job's merged `std_log.txt`, so that one view
// (`gantry job stream`) shows every rank without lines cut into each other.
//
// A line reaches the merged log once it is complete (or too long: it is then cut into pieces
// of max_line_bytes, each prefixed); Flush() ends the partial lines of ranks that stopped
// mid-line. stdout and stderr of one rank are buffered apart, so a half-written stdout line
// is not spliced with a stderr line. Every write is one write(2) on an O_APPEND descriptor.
//
// Thread-safe: the output pumps of all ranks call Append concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runner/stderr_tail.h"

namespace gantry::runner {

namespace fs = std::filesystem;

struct RankLogsOptions {
  // The merged log (std_log.txt), created or appended to.
  fs::path merged_log;
  // Folder of the per-rank files (created or appended to).
  fs::path dir;
  // Ranks 0 .. world_size-1.
  int64_t world_size = 1;
  // A merged-log line longer than this is cut into pieces of this size.
  size_t max_line_bytes = 64 << 10;
  // How many stderr lines StderrText() keeps per rank.
  size_t stderr_lines = 20;
  // Name of the launcher whose own output is passed as rank kLauncher (e.g. "mpirun"): it
  // goes only to the merged log, prefixed "[NAME] ".
  std::string launcher_name = "launcher";
};

class RankLogs {
 public:
  // Opens (creates) every file. Internal naming the file that cannot be opened.
  static Result<std::unique_ptr<RankLogs>> Open(const RankLogsOptions& options);
  ~RankLogs();
  RankLogs(const RankLogs&) = delete;
  RankLogs& operator=(const RankLogs&) = delete;

  // Append's rank for the launcher's own output.
  static constexpr int64_t kLauncher = -1;

  // The log stream (and file) name of a rank: "std_log_process_RANK.txt".
  static std::string StreamName(int64_t rank);

  // Bytes `rank` (or kLauncher) wrote to stdout or stderr; chunks may split lines anywhere.
  // A rank outside 0 .. world_size-1 is a caller bug and is ignored.
  void Append(int64_t rank, bool is_stderr, std::string_view chunk);
  // Ends every partial line in the merged log (adding '\n'). Call once the ranks are gone.
  void Flush();

  // The last stderr lines of `rank` or kLauncher (see StderrTail::Text).
  std::string StderrText(int64_t rank) const;
  // Path of a rank's own log file.
  fs::path RankFile(int64_t rank) const;

 private:
  struct Rank {
    int fd = -1;
    std::string partial[2];  // stdout, stderr: text after the last '\n'
    StderrTail stderr_tail;
    explicit Rank(size_t lines) : stderr_tail(lines) {}
  };
  explicit RankLogs(const RankLogsOptions& options);
  // Writes "[rank N] " + line + "\n" to the merged log. Requires mu_.
  void WriteMerged(int64_t rank, std::string_view line);
  // The entry of a rank or the launcher (last); nullptr when out of range.
  Rank* Find(int64_t rank);
  const Rank* Find(int64_t rank) const;
  std::string Prefix(int64_t rank) const;

  RankLogsOptions options_;
  mutable std::mutex mu_;
  int merged_fd_ = -1;
  std::vector<Rank> ranks_;    // ranks 0..world_size-1, then the launcher; guarded by mu_
  bool write_failed_ = false;  // guarded by mu_
};

}  // namespace gantry::runner
