#include "runner/stderr_tail.h"

namespace gantry::runner {
namespace {
constexpr std::string_view kCutMarker = " [...]";
}  // namespace

StderrTail::StderrTail(size_t max_lines, size_t max_line_bytes)
    : max_lines_(max_lines == 0 ? 1 : max_lines), max_line_bytes_(max_line_bytes) {}

void StderrTail::Append(std::string_view chunk) {
  for (char c : chunk) {
    if (c == '\n') {
      EndLine();
    } else if (c == '\r') {
      // A terminal would overwrite the line from its start: keep only what follows.
      partial_.clear();
      partial_cut_ = false;
    } else if (partial_.size() < max_line_bytes_) {
      partial_ += c;
    } else {
      partial_cut_ = true;
    }
  }
}

void StderrTail::EndLine() {
  std::string line = std::move(partial_);
  if (partial_cut_) line += kCutMarker;
  partial_.clear();
  partial_cut_ = false;
  lines_.push_back(std::move(line));
  while (lines_.size() > max_lines_) lines_.pop_front();
}

std::string StderrTail::Text() const {
  std::deque<std::string> lines = lines_;
  if (!partial_.empty() || partial_cut_) {
    lines.push_back(partial_ + (partial_cut_ ? std::string(kCutMarker) : ""));
    if (lines.size() > max_lines_) lines.pop_front();
  }
  while (!lines.empty() && lines.back().find_first_not_of(" \t") == std::string::npos) {
    lines.pop_back();
  }
  std::string out;
  for (const std::string& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  // Leading blank lines carry no information either.
  size_t first = out.find_first_not_of('\n');
  return first == std::string::npos ? "" : out.substr(first);
}

}  // namespace gantry::runner
