#include "runner/output_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/logging.h"

namespace gantry::runner {
namespace {
constexpr size_t kChunkBytes = 64 << 10;
}  // namespace

OutputPump::OutputPump(const OutputPumpOptions& options)
    : fds_{options.stdout_fd, options.stderr_fd},
      log_file_(options.log_file),
      on_output_(options.on_output),
      stderr_tail_(options.stderr_lines) {}

Result<std::unique_ptr<OutputPump>> OutputPump::Start(const OutputPumpOptions& options) {
  std::unique_ptr<OutputPump> pump(new OutputPump(options));
  if (!options.on_output) {
    pump->log_fd_ =
        ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  }
  if ((!options.on_output && pump->log_fd_ < 0) || ::pipe2(pump->wake_, O_CLOEXEC) != 0) {
    std::string error = std::strerror(errno);
    for (int fd : pump->fds_) {
      if (fd >= 0) ::close(fd);
    }
    pump->fds_[0] = pump->fds_[1] = -1;
    return Err(
        InternalError("cannot open the job log " + options.log_file.string() + ": " + error));
  }
  pump->thread_ = std::thread([p = pump.get()] { p->Loop(); });
  return pump;
}

OutputPump::~OutputPump() {
  Stop();
  for (int fd : {log_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

void OutputPump::Loop() {
  bool stop = false;
  while (!stop && (fds_[0] >= 0 || fds_[1] >= 0)) {
    pollfd pfds[3] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = ::poll(pfds, 3, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      GLOG(Error) << "poll on the job's output failed: " << std::strerror(errno);
      break;
    }
    if (pfds[2].revents != 0) stop = true;
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] >= 0 && pfds[i].revents != 0 && !ReadChunk(fds_[i], i == 1)) {
        ::close(fds_[i]);
        fds_[i] = -1;
      }
    }
  }
  if (stop) {
    // Copy what is already in the pipes; a writer that is still alive gets cut off here.
    for (int i = 0; i < 2; ++i) {
      if (fds_[i] < 0) continue;
      ::fcntl(fds_[i], F_SETFL, ::fcntl(fds_[i], F_GETFL) | O_NONBLOCK);
      while (ReadChunk(fds_[i], i == 1)) {
      }
    }
  }
  for (int& fd : fds_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  eof_cv_.notify_all();
}

bool OutputPump::ReadChunk(int fd, bool is_stderr) {
  char buf[kChunkBytes];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof(buf));
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;  // EOF, EAGAIN after Stop(), or an error: this pipe is done
  if (on_output_) {
    on_output_(std::string_view(buf, static_cast<size_t>(n)), is_stderr);
  } else {
    WriteLog(buf, static_cast<size_t>(n));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (is_stderr) stderr_tail_.Append(std::string_view(buf, static_cast<size_t>(n)));
  bytes_logged_ += n;
  return true;
}

void OutputPump::WriteLog(const char* data, size_t size) {
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::write(log_fd_, data + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Keep draining anyway: a full disk must not block the job on its pipe.
      if (!write_failed_) {
        GLOG(Error) << "cannot append to " << log_file_.string() << ": " << std::strerror(errno)
                    << "; job output is being lost";
        write_failed_ = true;
      }
      return;
    }
    off += static_cast<size_t>(n);
  }
}

bool OutputPump::WaitForEof(int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  return eof_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return eof_; });
}

void OutputPump::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  char byte = 1;
  (void)!::write(wake_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
}

std::string OutputPump::StderrText() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stderr_tail_.Text();
}

int64_t OutputPump::bytes_logged() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_logged_;
}

}  // namespace gantry::runner
