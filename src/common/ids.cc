#include "common/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <string_view>

namespace gantry {
namespace {

uint64_t RandomU64() {
  uint64_t v = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof(v));
  return v;
}

constexpr std::array<std::string_view, 16> kAdjectives = {
    "calm", "bold",   "brave", "bright", "clever", "eager", "gentle", "happy",
    "keen", "lively", "lucid", "mellow", "nimble", "quiet", "swift",  "witty"};
constexpr std::array<std::string_view, 16> kNouns = {
    "river", "forest",  "falcon", "garden", "harbor",  "island", "meadow", "mountain",
    "ocean", "orchard", "canyon", "comet",  "lantern", "pepper", "planet", "willow"};

}  // namespace

std::string NewRunName() {
  uint64_t r = RandomU64();
  std::string name(kAdjectives[r % kAdjectives.size()]);
  r /= kAdjectives.size();
  name += "_";
  name += kNouns[r % kNouns.size()];
  r /= kNouns.size();
  name += "_";
  static constexpr char kAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  uint64_t s = RandomU64();
  for (int i = 0; i < 8; ++i) {
    name += kAlphabet[s % 36];
    s /= 36;
  }
  return name;
}

std::string NewSecretToken() {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

}  // namespace gantry
