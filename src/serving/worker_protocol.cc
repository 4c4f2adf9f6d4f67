#include "serving/worker_protocol.h"

namespace gantry::serving {

namespace {
constexpr size_t kHeaderSize = 5;

bool KnownKind(char c) {
  switch (static_cast<FrameKind>(c)) {
    case FrameKind::kScore:
    case FrameKind::kReady:
    case FrameKind::kInitFailed:
    case FrameKind::kResult:
    case FrameKind::kRunError:
      return true;
  }
  return false;
}
}  // namespace

std::string EncodeFrame(FrameKind kind, std::string_view payload) {
  std::string out;
  out.reserve(kHeaderSize + payload.size());
  uint32_t n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.push_back(static_cast<char>(kind));
  out.append(payload);
  return out;
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (buffer_.size() < kHeaderSize) return std::optional<Frame>();
  auto byte = [this](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(buffer_[i]));
  };
  uint32_t n = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
  if (n > kMaxFramePayload) {
    return Err(DataLossError("frame of " + std::to_string(n) + " bytes is over the limit"));
  }
  if (!KnownKind(buffer_[4])) {
    return Err(DataLossError("unknown frame kind " + std::to_string(byte(4))));
  }
  if (buffer_.size() < kHeaderSize + n) return std::optional<Frame>();
  Frame frame{static_cast<FrameKind>(buffer_[4]), buffer_.substr(kHeaderSize, n)};
  buffer_.erase(0, kHeaderSize + n);
  return std::optional<Frame>(std::move(frame));
}

}  // namespace gantry::serving
