#include "common/logging.h"

#include <unistd.h>

#include <atomic>

#include "common/clock.h"

namespace gantry {
namespace {
std::atomic<LogLevel> g_min_level{LogLevel::kInfo};
}

void SetMinLogLevel(LogLevel level) { g_min_level = level; }

void WriteLogLine(LogLevel level, const std::string& message) {
  if (level < g_min_level.load()) return;
  static constexpr char kLetters[] = {'D', 'I', 'W', 'E'};
  std::string line = FormatIsoTime(RealClock::Get()->NowMillis());
  line += ' ';
  line += kLetters[static_cast<int>(level)];
  line += ' ';
  line += message;
  line += '\n';
  (void)!::write(2, line.data(), line.size());
}

}  // namespace gantry
