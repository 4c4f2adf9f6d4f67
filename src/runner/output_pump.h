// OutputPump: drains a job's stdout and stderr pipes into the merged local log file
// (std_log.txt) and keeps the last stderr lines for the error message.
//
// It runs on its own thread so that nothing the runner's main loop does (a slow or absent
// server: the HTTP client blocks) can stall the job on a full pipe. Each chunk is appended
// to the log with write(2) as it arrives, so the file is the durable buffer other parts
// read from; bytes of stdout and stderr are interleaved in arrival order.
//
// Thread-safety: thread-safe. Start() spawns the pump thread; every other method may be
// called from any thread. Stop() (also run by the destructor) joins it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "common/status.h"
#include "runner/stderr_tail.h"

namespace gantry::runner {

namespace fs = std::filesystem;

struct OutputPumpOptions {
  // Read ends of the job's stdout and stderr pipes; the pump owns and closes them.
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Merged log, created or appended to. Unused when on_output is set.
  fs::path log_file;
  // When set, every chunk read goes here (on the pump thread) instead of to log_file: a
  // distributed job's rank hands its output to RankLogs.
  std::function<void(std::string_view chunk, bool is_stderr)> on_output;
  // How many stderr lines StderrText() keeps.
  size_t stderr_lines = 20;
};

class OutputPump {
 public:
  // Opens the log and starts the thread. Internal when the log cannot be opened (the pipes
  // are closed then too).
  static Result<std::unique_ptr<OutputPump>> Start(const OutputPumpOptions& options);
  ~OutputPump();
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  // Waits until both pipes are at end-of-file (every writer closed them) or `timeout_ms`
  // passed. True at end-of-file.
  bool WaitForEof(int timeout_ms);
  // Copies what is readable now, then stops the thread and closes the pipes, even when some
  // process still holds a write end. Idempotent.
  void Stop();

  // The last stderr lines (see StderrTail::Text).
  std::string StderrText() const;
  // Bytes appended to the log so far.
  int64_t bytes_logged() const;

 private:
  explicit OutputPump(const OutputPumpOptions& options);
  void Loop();
  // Reads one chunk from `fd`; false at end-of-file or on a read error.
  bool ReadChunk(int fd, bool is_stderr);
  void WriteLog(const char* data, size_t size);

  int fds_[2];
  int log_fd_ = -1;
  int wake_[2] = {-1, -1};  // self-pipe: Stop() writes to wake the thread
  fs::path log_file_;
  std::function<void(std::string_view, bool)> on_output_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable eof_cv_;
  bool eof_ = false;           // guarded by mu_
  StderrTail stderr_tail_;     // guarded by mu_
  int64_t bytes_logged_ = 0;   // guarded by mu_
  bool write_failed_ = false;  // pump thread only
  bool stopped_ = false;       // guarded by mu_
};

}  // namespace gantry::runner
