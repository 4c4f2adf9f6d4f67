#include "serving/worker_protocol.h"

#include <gtest/gtest.h>

namespace gantry::serving {
namespace {

TEST(WorkerProtocolTest, EncodesLengthKindAndPayload) {
  std::string bytes = EncodeFrame(FrameKind::kScore, "hi");
  EXPECT_EQ(bytes, std::string("\0\0\0\2Shi", 7));
  std::string big = EncodeFrame(FrameKind::kResult, std::string(0x010203, 'x'));
  EXPECT_EQ(big.substr(0, 5), std::string("\0\x01\x02\x03O", 5));
}

TEST(WorkerProtocolTest, ReassemblesFramesSplitAnywhere) {
  std::string stream = EncodeFrame(FrameKind::kReady, "") +
                       EncodeFrame(FrameKind::kResult, "{\"a\": 1}") +
                       EncodeFrame(FrameKind::kRunError, "ValueError: bad");
  FrameDecoder decoder;
  std::vector<Frame> frames;
  // One byte at a time: every split point of every frame.
  for (char c : stream) {
    decoder.Append(std::string_view(&c, 1));
    auto next = decoder.Next();
    ASSERT_TRUE(next.has_value()) << next.error().message();
    if (next->has_value()) frames.push_back(std::move(**next));
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].kind, FrameKind::kReady);
  EXPECT_EQ(frames[0].payload, "");
  EXPECT_EQ(frames[1].kind, FrameKind::kResult);
  EXPECT_EQ(frames[1].payload, "{\"a\": 1}");
  EXPECT_EQ(frames[2].kind, FrameKind::kRunError);
  EXPECT_EQ(frames[2].payload, "ValueError: bad");
  EXPECT_FALSE(decoder.partial());
}

TEST(WorkerProtocolTest, SeveralFramesInOneRead) {
  FrameDecoder decoder;
  decoder.Append(EncodeFrame(FrameKind::kResult, "1") + EncodeFrame(FrameKind::kResult, "2"));
  EXPECT_EQ((*decoder.Next())->payload, "1");
  EXPECT_EQ((*decoder.Next())->payload, "2");
  EXPECT_FALSE(decoder.Next()->has_value());
}

TEST(WorkerProtocolTest, PayloadMayHoldAnyBytes) {
  std::string payload("a\0\xff\n", 4);
  FrameDecoder decoder;
  decoder.Append(EncodeFrame(FrameKind::kScore, payload));
  EXPECT_EQ((*decoder.Next())->payload, payload);
}

TEST(WorkerProtocolTest, CorruptStreamIsDataLoss) {
  FrameDecoder text;  // what a stray print would look like
  text.Append("hello world\n");
  auto r = text.Next();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kDataLoss);

  FrameDecoder kind;
  kind.Append(std::string("\0\0\0\0Z", 5));
  ASSERT_FALSE(kind.Next().has_value());
}

}  // namespace
}  // namespace gantry::serving
