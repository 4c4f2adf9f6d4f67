// StderrTail: the last few lines a job wrote to stderr, kept in memory so that a failed run's
// error message can quote them ("command exited with code 1:\n<last lines>").
//
// It sees the stream the way a terminal would: a carriage return starts the line over (so a
// progress bar keeps only its last state), and overlong lines are cut so that memory stays
// bounded whatever the job writes.
//
// Thread-compatible: one writer at a time (OutputPump guards it with its own mutex).
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace gantry::runner {

class StderrTail {
 public:
  // Keeps at most `max_lines` lines of at most `max_line_bytes` bytes each.
  explicit StderrTail(size_t max_lines = 20, size_t max_line_bytes = 1000);

  // Feeds the next chunk of the stream; chunks may split lines anywhere.
  void Append(std::string_view chunk);

  // The kept lines joined with '\n', including an unterminated last line, without a
  // trailing newline. Blank trailing lines are dropped. "" when nothing was written.
  std::string Text() const;

 private:
  void EndLine();

  size_t max_lines_;
  size_t max_line_bytes_;
  std::deque<std::string> lines_;
  std::string partial_;
  bool partial_cut_ = false;
};

}  // namespace gantry::runner
