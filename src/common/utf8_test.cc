#include "common/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace gantry {
namespace {

TEST(Utf8Test, AcceptsAsciiAndWellFormedSequences) {
  EXPECT_EQ(FirstInvalidUtf8Byte(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Byte("command: python train.py\n"), std::nullopt);
  // é (2 bytes), € (3), 😀 (4), U+10FFFF, and a UTF-8 byte order mark.
  EXPECT_EQ(FirstInvalidUtf8Byte("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF"),
            std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Byte("\xEF\xBB\xBFname: x"), std::nullopt);
}

TEST(Utf8Test, PointsAtAUtf16ByteOrderMark) {
  EXPECT_EQ(FirstInvalidUtf8Byte("\xFF\xFE"
                                 "c\0o\0"),
            0u);
  EXPECT_EQ(FirstInvalidUtf8Byte("name: x\n\xFF\xFE"), 8u);
}

TEST(Utf8Test, PointsAtTheFirstByteOfABrokenSequence) {
  EXPECT_EQ(FirstInvalidUtf8Byte("ab\x80"), 2u);  // stray continuation byte
  EXPECT_EQ(FirstInvalidUtf8Byte("ab\xC3"
                                 "A"),
            2u);                                             // lead byte, no continuation
  EXPECT_EQ(FirstInvalidUtf8Byte("abc\xE2\x82"), 3u);        // truncated at the end
  EXPECT_EQ(FirstInvalidUtf8Byte("x\xC0\xAF"), 1u);          // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8Byte("x\xE0\x80\xAF"), 1u);      // overlong, 3 bytes
  EXPECT_EQ(FirstInvalidUtf8Byte("x\xED\xA0\x80"), 1u);      // UTF-16 surrogate U+D800
  EXPECT_EQ(FirstInvalidUtf8Byte("x\xF4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8Byte("x\xF5\x80\x80\x80"), 1u);  // byte UTF-8 never uses
  EXPECT_EQ(FirstInvalidUtf8Byte("\xC3\xA9\xC3"), 2u);       // after a good sequence
}

}  // namespace
}  // namespace gantry
