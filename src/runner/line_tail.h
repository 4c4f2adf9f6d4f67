// LineTail: reads complete lines from a file that another process keeps appending to (the
// job's metrics file), starting at a byte offset that the caller advances only once it has
// delivered what it read. A line still being written (no '\n' yet) is left for a later read.
//
// Reading does not move the offset: Peek() returns lines with the offset just past each, and
// Advance() commits. So a failed delivery is simply retried on the next Peek().
//
// Thread-compatible: one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::runner {

namespace fs = std::filesystem;

struct TailLine {
  // The line without its '\n'. Empty and `cut` set when the line was longer than the tail's
  // max_line_bytes: its bytes are skipped, not returned.
  std::string text;
  bool cut = false;
  // File offset just past this line (past its '\n').
  int64_t end_offset = 0;
};

class LineTail {
 public:
  // `offset` is where reading starts; a line longer than `max_line_bytes` is returned as a
  // `cut` line (in pieces of max_line_bytes, each cut) so that it cannot stall the tail.
  explicit LineTail(fs::path path, int64_t offset = 0, size_t max_line_bytes = 16 << 20);

  // Complete lines after offset(), reading about `max_bytes` (at least one whole line when one
  // is there). With `include_partial`, an unterminated last line is returned too (for the
  // final read, once the writer is gone). An absent file reads as empty. Internal when the
  // file cannot be read.
  Result<std::vector<TailLine>> Peek(size_t max_bytes, bool include_partial = false) const;

  // Commits reading up to `offset` (an end_offset from Peek()).
  void Advance(int64_t offset) { offset_ = offset; }
  int64_t offset() const { return offset_; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  int64_t offset_;
  size_t max_line_bytes_;
};

}  // namespace gantry::runner
