// The framed protocol between `gantry serve --backend python` and its Python workers, over
// two pipes (the worker's fd 3 for requests, fd 4 for replies; never its stdout, which
// belongs to the user's prints). The Python half is python_worker.py.
//
// A frame is a 4-byte big-endian payload length, one kind byte, then the payload:
//   server → worker  'S' score: the request body
//   worker → server  'R' ready: init() returned       'F' init failed: the traceback
//                    'O' result: run()'s JSON answer  'E' run() raised: "Type: message"
// Pure functions and a value type; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace gantry::serving {

enum class FrameKind : char {
  kScore = 'S',
  kReady = 'R',
  kInitFailed = 'F',
  kResult = 'O',
  kRunError = 'E',
};

struct Frame {
  FrameKind kind;
  std::string payload;
};

// Payloads above this are refused: a length that large means the stream is corrupt.
inline constexpr uint32_t kMaxFramePayload = 1u << 30;

// The bytes of one frame.
std::string EncodeFrame(FrameKind kind, std::string_view payload);

// Reassembles frames from bytes as they arrive from a pipe.
class FrameDecoder {
 public:
  void Append(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, or nullopt while more bytes are needed. DataLoss for an unknown
  // kind or a length over kMaxFramePayload (the stream cannot be resynchronised after that).
  Result<std::optional<Frame>> Next();
  // True when bytes of an unfinished frame are waiting.
  bool partial() const { return !buffer_.empty(); }

 private:
  std::string buffer_;
};

}  // namespace gantry::serving
