#include "common/clock.h"

#include <chrono>
#include <ctime>

namespace gantry {

int64_t RealClock::NowMillis() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

RealClock* RealClock::Get() {
  static RealClock clock;
  return &clock;
}

int64_t MonotonicMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string FormatIsoTime(int64_t millis) {
  if (millis <= 0) return "";
  time_t secs = static_cast<time_t>(millis / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(millis % 1000));
  return buf;
}

}  // namespace gantry
