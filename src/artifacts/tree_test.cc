#include "artifacts/tree.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "common/files.h"
#include "common/hashing.h"

namespace gantry::artifacts {
namespace {

TreeEntry Entry(std::string path, std::string_view content, uint32_t mode = 0644) {
  return TreeEntry{.path = std::move(path),
                   .blob = Sha256Hex(content),
                   .size = static_cast<int64_t>(content.size()),
                   .mode = mode};
}

TEST(TreeTest, KeepsEntriesSortedAndRoundTripsThroughJson) {
  Tree tree;
  ASSERT_TRUE(tree.Add(Entry("src/train.py", "print(1)\n", 0755)).ok());
  ASSERT_TRUE(tree.Add(Entry("README.md", "# hi\n")).ok());
  ASSERT_TRUE(tree.Add(Entry("src/data/a.csv", "x,y\n")).ok());
  ASSERT_EQ(tree.entries().size(), 3u);
  EXPECT_EQ(tree.entries()[0].path, "README.md");
  EXPECT_EQ(tree.entries()[1].path, "src/data/a.csv");
  EXPECT_EQ(tree.entries()[2].path, "src/train.py");
  EXPECT_EQ(tree.TotalBytes(), 9 + 5 + 4);
  ASSERT_NE(tree.Find("src/train.py"), nullptr);
  EXPECT_EQ(tree.Find("src/train.py")->mode, 0755u);
  EXPECT_EQ(tree.Find("src"), nullptr);

  auto parsed = Tree::FromJson(tree.ToJson());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, tree);
  EXPECT_EQ(parsed->ToJson(), tree.ToJson());
}

TEST(TreeTest, JsonIsCanonical) {
  Tree a;
  Tree b;
  ASSERT_TRUE(a.Add(Entry("x", "1")).ok());
  ASSERT_TRUE(a.Add(Entry("y", "2")).ok());
  ASSERT_TRUE(b.Add(Entry("y", "2")).ok());
  ASSERT_TRUE(b.Add(Entry("x", "1")).ok());
  EXPECT_EQ(a.ToJson(), b.ToJson());
  EXPECT_EQ(a.ToJson(), R"({"entries":[{"blob":")" + Sha256Hex("1") +
                            R"(","mode":420,"path":"x","size":1},{"blob":")" + Sha256Hex("2") +
                            R"(","mode":420,"path":"y","size":1}]})");
  EXPECT_EQ(Tree().ToJson(), R"({"entries":[]})");
}

TEST(TreeTest, RejectsBadEntries) {
  Tree tree;
  for (const char* path : {"../x", "/abs", "a/../../x", "", "a//b", "./a", "a/", "bad\xff"}) {
    Status s = tree.Add(Entry(path, "x"));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << path;
  }
  EXPECT_EQ(tree.Add(TreeEntry{.path = "a", .blob = "nothex"}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree.Add(TreeEntry{.path = "a", .blob = Sha256Hex(""), .size = -1}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(tree.Add(TreeEntry{.path = "a", .blob = Sha256Hex(""), .mode = 01777}).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(tree.Add(Entry("a/b", "x")).ok());
  EXPECT_EQ(tree.Add(Entry("a/b", "y")).code(), StatusCode::kInvalidArgument);
  // A path cannot be both a file and a folder.
  EXPECT_EQ(tree.Add(Entry("a", "x")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree.Add(Entry("a/b/c", "x")).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(tree.Add(Entry("a.b", "x")).ok());
  EXPECT_EQ(tree.entries().size(), 2u);
}

TEST(TreeTest, FromJsonNamesTheUnsafePath) {
  std::string blob = Sha256Hex("x");
  for (std::string path : {"../x", "/abs"}) {
    auto tree = Tree::FromJson(R"({"entries":[{"path":")" + path + R"(","blob":")" + blob +
                               R"(","size":1,"mode":420}]})");
    ASSERT_FALSE(tree.has_value());
    EXPECT_EQ(tree.error().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(tree.error().message().find(path), std::string::npos) << tree.error().message();
  }
  EXPECT_EQ(Tree::FromJson("{").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Tree::FromJson("[]").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Tree::FromJson(R"({"entries":[{"path":"a","blob":")" + blob + R"(","size":"1"}]})")
                .error()
                .code(),
            StatusCode::kInvalidArgument);
}

class StoredTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-tree-test");
    store_ = std::move(*LocalBlobStore::Open(dir_ / "blobs"));
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(StoredTreeTest, StoreLoadAndMaterialize) {
  Tree tree;
  ASSERT_TRUE(tree.Add(Entry("run.sh", "#!/bin/sh\necho hi\n", 0755)).ok());
  ASSERT_TRUE(tree.Add(Entry("data/a.txt", "alpha")).ok());
  ASSERT_TRUE(store_->Put("#!/bin/sh\necho hi\n").has_value());
  ASSERT_TRUE(store_->Put("alpha").has_value());

  auto id = StoreTree(*store_, tree);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, Sha256Hex(tree.ToJson()));
  auto loaded = LoadTree(*store_, *id);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  EXPECT_EQ(*loaded, tree);

  fs::path out = dir_ / "out";
  // An earlier file in the way is replaced.
  ASSERT_TRUE(MakeDirs(out / "data").ok());
  ASSERT_TRUE(WriteFileAtomic(out / "data" / "a.txt", "stale").ok());
  Status s = MaterializeTree(*store_, *loaded, out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*ReadFile(out / "run.sh"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(*ReadFile(out / "data" / "a.txt"), "alpha");
  EXPECT_EQ(fs::status(out / "run.sh").permissions(), static_cast<fs::perms>(0755));
  EXPECT_EQ(fs::status(out / "data" / "a.txt").permissions(), static_cast<fs::perms>(0644));
}

TEST_F(StoredTreeTest, LoadAndMaterializeErrors) {
  EXPECT_EQ(LoadTree(*store_, Sha256Hex("nope")).error().code(), StatusCode::kNotFound);
  std::string not_a_tree = *store_->Put("just some bytes");
  EXPECT_EQ(LoadTree(*store_, not_a_tree).error().code(), StatusCode::kInvalidArgument);

  Tree tree;
  ASSERT_TRUE(tree.Add(Entry("missing.bin", "never stored")).ok());
  EXPECT_EQ(MaterializeTree(*store_, tree, dir_ / "out").code(), StatusCode::kNotFound);
  Tree lying;
  ASSERT_TRUE(lying.Add(TreeEntry{.path = "x", .blob = not_a_tree, .size = 3}).ok());
  EXPECT_EQ(MaterializeTree(*store_, lying, dir_ / "out").code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace gantry::artifacts
