#include "runner/log_shipper.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/logging.h"

namespace gantry::runner {

LogShipper::LogShipper(fs::path file, LogSink* sink, size_t chunk_bytes)
    : file_(std::move(file)), sink_(sink), chunk_bytes_(std::max<size_t>(chunk_bytes, 1)) {}

Status LogShipper::Ship() {
  int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Ok();
    return InternalError("cannot open " + file_.string() + ": " + std::strerror(errno));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return InternalError("cannot stat " + file_.string() + ": " + std::strerror(errno));
  }
  // Only what the file held now: a job that never stops writing cannot keep us here.
  const int64_t end = st.st_size;
  bool restarted = false;
  std::string chunk;
  while (shipped_ < end) {
    size_t want = static_cast<size_t>(std::min<int64_t>(end - shipped_, chunk_bytes_));
    chunk.resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, chunk.data() + got, want - got, shipped_ + int64_t(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return InternalError("cannot read " + file_.string() + ": " + std::strerror(errno));
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == 0) return Status::Ok();  // Truncated under us; nothing more to send.
    chunk.resize(got);
    const int64_t sent_end = shipped_ + static_cast<int64_t>(got);
    Result<int64_t> length = sink_->AppendLog(shipped_, chunk);
    if (!length) {
      if (length.error().code() == StatusCode::kFailedPrecondition && !restarted) {
        GLOG(Warning) << "the server's copy of " << file_.filename().string()
                      << " is shorter than expected (" << length.error().message()
                      << "); resending it from the start";
        shipped_ = 0;
        restarted = true;
        continue;
      }
      return length.error();
    }
    // The answer is the stream's whole length; more than we sent cannot be ours to skip.
    int64_t next = std::clamp<int64_t>(*length, 0, sent_end);
    if (next <= shipped_) {
      return InternalError("the server accepted none of " + std::to_string(got) +
                           " log bytes at offset " + std::to_string(shipped_));
    }
    shipped_ = next;
  }
  return Status::Ok();
}

}  // namespace gantry::runner
