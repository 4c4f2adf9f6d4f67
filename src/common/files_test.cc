#include "common/files.h"

#include <gtest/gtest.h>

namespace gantry {
namespace {

TEST(FilesTest, AtomicWriteLeavesNoTempFiles) {
  auto dir = MakeTempDir("gantry-files-test");
  ASSERT_TRUE(dir.has_value());
  ASSERT_TRUE(WriteFileAtomic(*dir / "a.txt", "first").ok());
  ASSERT_TRUE(WriteFileAtomic(*dir / "a.txt", "second").ok());
  EXPECT_EQ(*ReadFile(*dir / "a.txt"), "second");
  int count = 0;
  for (auto& e : fs::directory_iterator(*dir)) {
    (void)e;
    ++count;
  }
  EXPECT_EQ(count, 1);
  EXPECT_EQ(ReadFile(*dir / "missing").error().code(), StatusCode::kNotFound);
  fs::remove_all(*dir);
}

TEST(FilesTest, SafeRelativePaths) {
  EXPECT_TRUE(IsSafeRelativePath("outputs/model.pt"));
  EXPECT_TRUE(IsSafeRelativePath("a/..b/c"));
  EXPECT_FALSE(IsSafeRelativePath("../etc/passwd"));
  EXPECT_FALSE(IsSafeRelativePath("outputs/../../x"));
  EXPECT_FALSE(IsSafeRelativePath("/etc/passwd"));
  EXPECT_FALSE(IsSafeRelativePath(""));
  EXPECT_FALSE(IsSafeRelativePath("a/.."));
}

}  // namespace
}  // namespace gantry
