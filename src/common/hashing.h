// SHA-256 hashing for content addressing. Thread-compatible: one Sha256 per thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/files.h"
#include "common/status.h"

namespace gantry {

// Incremental SHA-256; Final() returns 64 lowercase hex digits.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  std::string Final();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(std::string_view data);
// Hashes a file's content, streaming it.
Result<std::string> Sha256File(const fs::path& path);
// True for 64 lowercase hex digits.
bool IsSha256Hex(std::string_view s);

}  // namespace gantry
