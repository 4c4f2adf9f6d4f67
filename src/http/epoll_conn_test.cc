// A connection's input buffer: what is read in stays readable in order across consumes, growth
// and compaction, and a buffer that once held a large body gives its memory back when empty.
#include "http/epoll_conn.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace gantry::http::epoll {
namespace {

void Append(Buffer& b, std::string_view bytes) {
  auto [at, room] = b.Reserve(bytes.size());
  ASSERT_GE(room, bytes.size());
  std::memcpy(at, bytes.data(), bytes.size());
  b.Commit(bytes.size());
}

std::string Contents(const Buffer& b) { return std::string(b.data(), b.size()); }

TEST(EpollConnBufferTest, KeepsUnconsumedBytesInOrderAcrossGrowthAndCompaction) {
  Buffer b;
  Append(b, "GET /a");
  b.Consume(4);
  EXPECT_EQ(Contents(b), "/a");
  // No room left at the end but enough in front: the live bytes move to the front.
  size_t capacity = b.capacity();
  Append(b, "bc");
  EXPECT_EQ(Contents(b), "/abc");
  EXPECT_EQ(b.capacity(), capacity);
  // More than fits at all: the buffer grows, the live bytes still in front of the new ones.
  std::string more(capacity, 'x');
  Append(b, more);
  EXPECT_GT(b.capacity(), capacity);
  EXPECT_EQ(Contents(b), "/abc" + more);
  b.Consume(b.size());
  EXPECT_EQ(b.size(), 0u);
  Append(b, "next");
  EXPECT_EQ(Contents(b), "next");
}

TEST(EpollConnBufferTest, ShrinkFreesOnlyALargeEmptyBuffer) {
  Buffer b;
  Append(b, std::string(8 * kReadSize, 'b'));
  b.Shrink();  // not empty: kept
  EXPECT_EQ(b.size(), 8 * kReadSize);
  b.Consume(b.size());
  b.Shrink();
  EXPECT_EQ(b.capacity(), 0u);

  Append(b, "small");
  b.Consume(b.size());
  size_t small = b.capacity();
  b.Shrink();  // small buffers are kept for the next request
  EXPECT_EQ(b.capacity(), small);
  EXPECT_GT(small, 0u);
}

}  // namespace
}  // namespace gantry::http::epoll
