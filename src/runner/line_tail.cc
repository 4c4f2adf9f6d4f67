#include "runner/line_tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gantry::runner {

LineTail::LineTail(fs::path path, int64_t offset, size_t max_line_bytes)
    : path_(std::move(path)),
      offset_(offset),
      max_line_bytes_(std::max<size_t>(max_line_bytes, 1)) {}

Result<std::vector<TailLine>> LineTail::Peek(size_t max_bytes, bool include_partial) const {
  std::vector<TailLine> lines;
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return lines;
    return Err(InternalError("cannot open " + path_.string() + ": " + std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Err(InternalError("cannot stat " + path_.string() + ": " + std::strerror(e)));
  }
  if (st.st_size <= offset_) {
    ::close(fd);
    return lines;
  }
  // Enough to hold the longest line we accept plus its '\n', so that a line without a newline
  // in it is known to be overlong; but no more than the file holds, since this runs often.
  const size_t want = std::min<size_t>(std::max(max_bytes, max_line_bytes_ + 1),
                                       static_cast<size_t>(st.st_size - offset_));
  std::string buf(want, '\0');
  size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, buf.data() + got, want - got, offset_ + static_cast<int64_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return Err(InternalError("cannot read " + path_.string() + ": " + std::strerror(e)));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  const bool at_end = offset_ + static_cast<int64_t>(got) >= st.st_size;
  ::close(fd);
  buf.resize(got);

  size_t pos = 0;
  while (pos < buf.size()) {
    size_t nl = buf.find('\n', pos);
    size_t len = (nl == std::string::npos ? buf.size() : nl) - pos;
    if (len > max_line_bytes_) {
      // Skip the first max_line_bytes of it; the rest comes back as further cut pieces.
      pos += max_line_bytes_;
      lines.push_back(TailLine{.text = "", .cut = true, .end_offset = offset_ + int64_t(pos)});
      continue;
    }
    if (nl == std::string::npos) {
      // Bytes read but no newline: an unfinished line, unless the writer is known to be done.
      if (include_partial && at_end) {
        lines.push_back(TailLine{.text = buf.substr(pos), .end_offset = offset_ + int64_t(got)});
      }
      break;
    }
    lines.push_back(
        TailLine{.text = buf.substr(pos, len), .end_offset = offset_ + int64_t(nl + 1)});
    pos = nl + 1;
    if (pos >= max_bytes) break;
  }
  return lines;
}

}  // namespace gantry::runner
