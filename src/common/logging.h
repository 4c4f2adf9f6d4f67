// Minimal leveled logging to stderr: "2026-11-26T05:01:02.123Z I message". Thread-safe:
// each line is written with one write(2).
#pragma once

#include <sstream>
#include <string>

namespace gantry {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

void SetMinLogLevel(LogLevel level);
void WriteLogLine(LogLevel level, const std::string& message);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { WriteLogLine(level_, stream_.str()); }
  std::ostringstream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

}  // namespace gantry

#define GLOG(level) ::gantry::LogMessage(::gantry::LogLevel::k##level).stream()

// CHECK guards invariants the program itself guarantees; never user, file or network input.
#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      ::gantry::WriteLogLine(                                                                      \
          ::gantry::LogLevel::kError,                                                              \
          std::string("CHECK failed: " #cond " at ") + __FILE__ + ":" + std::to_string(__LINE__)); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
