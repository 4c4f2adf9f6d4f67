#include "common/hashing.h"

#include <gtest/gtest.h>

namespace gantry {
namespace {

TEST(HashingTest, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("x")));
  EXPECT_FALSE(IsSha256Hex("../../etc/passwd"));
}

TEST(HashingTest, FileHashMatchesInMemoryHash) {
  auto dir = MakeTempDir("gantry-hash-test");
  ASSERT_TRUE(dir.has_value());
  std::string data(3 << 20, 'q');
  ASSERT_TRUE(WriteFileAtomic(*dir / "f", data).ok());
  EXPECT_EQ(*Sha256File(*dir / "f"), Sha256Hex(data));
  EXPECT_EQ(Sha256File(*dir / "nope").error().code(), StatusCode::kNotFound);
  fs::remove_all(*dir);
}

}  // namespace
}  // namespace gantry
