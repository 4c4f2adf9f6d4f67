// Clock seam: code that reasons about time takes a Clock so tests can use FakeClock.
// RealClock is thread-safe; FakeClock is thread-safe (atomic).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace gantry {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
};

class RealClock : public Clock {
 public:
  int64_t NowMillis() const override;
  static RealClock* Get();
};

class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t start_millis = 1'700'000'000'000) : now_(start_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Advance(int64_t millis) { now_ += millis; }

 private:
  std::atomic<int64_t> now_;
};

// Monotonic milliseconds, for measuring intervals.
int64_t MonotonicMillis();
// "2026-11-26T05:01:02.123Z".
std::string FormatIsoTime(int64_t millis);

}  // namespace gantry
