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

std::string Manifest(const std::string& entries) { return R"({"entries":[)" + entries + "]}"; }

std::string FileJson(const std::string& path, int64_t size = 1, int64_t mode = 0644) {
  return R"({"path":")" + path + R"(","blob":")" + Sha256Hex("x") + R"(","size":)" +
         std::to_string(size) + R"(,"mode":)" + std::to_string(mode) + "}";
}

TEST(TreeTest, RefusesUnsafePathsNamingThem) {
  for (std::string path : {"a\\\\b", "a/./b", "a/b/", "../../etc/passwd", "x/../y"}) {
    auto tree = Tree::FromJson(Manifest(FileJson(path)));
    ASSERT_FALSE(tree.has_value()) << path;
    EXPECT_EQ(tree.error().code(), StatusCode::kInvalidArgument) << path;
  }
  Tree tree;
  for (std::string path :
       {std::string("a\0b", 3), std::string("new\nline"), std::string("back\\slash"),
        std::string(256, 'n'), "a/" + std::string(256, 'n'), std::string(4097, 'p')}) {
    Status st = tree.Add(Entry(path, "x"));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << path.size();
  }
  std::string deep;
  while (deep.size() < 4000) deep += "abcdefgh/";
  EXPECT_TRUE(tree.Add(Entry(deep + "f", "x")).ok());
  EXPECT_TRUE(ValidateTreePath("caf\xc3\xa9/r\xc3\xa9sum\xc3\xa9.txt").ok());
}

TEST(TreeTest, SizesMustFitAndModesAreMaskedOnUpload) {
  EXPECT_EQ(Tree::FromJson(Manifest(FileJson("a", -1))).error().code(),
            StatusCode::kInvalidArgument);
  auto huge = Tree::FromJson(Manifest(FileJson("a", kMaxTreeEntryBytes + 1)));
  ASSERT_FALSE(huge.has_value());
  EXPECT_NE(huge.error().message().find("\"a\""), std::string::npos) << huge.error().message();
  EXPECT_TRUE(Tree::FromJson(Manifest(FileJson("a", kMaxTreeEntryBytes))).has_value());

  auto setuid = Tree::FromJson(Manifest(FileJson("a", 1, 04755) + "," + FileJson("b", 1, 07777)));
  ASSERT_TRUE(setuid.has_value()) << setuid.error().ToString();
  EXPECT_EQ(setuid->Find("a")->mode, 0755u);
  EXPECT_EQ(setuid->Find("b")->mode, 0777u);
  EXPECT_FALSE(Tree::FromJson(Manifest(FileJson("a", 1, 010000))).has_value());
  EXPECT_FALSE(Tree::FromJson(Manifest(FileJson("a", 1, -1))).has_value());
}

TEST(TreeTest, RefusesAFileAndAFolderUnderOneName) {
  auto both = Tree::FromJson(Manifest(FileJson("a") + "," + FileJson("a/b")));
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(both.error().message().find("a/b"), std::string::npos) << both.error().message();
}

TEST(TreeTest, LinksRoundTripAndStayInside) {
  Tree tree;
  ASSERT_TRUE(tree.Add(Entry("data/a.csv", "1")).ok());
  ASSERT_TRUE(tree.Add(LinkEntry("latest.csv", "data/a.csv")).ok());
  ASSERT_TRUE(tree.Add(LinkEntry("data/up", "../latest.csv")).ok());
  ASSERT_TRUE(tree.CheckLinks().ok());
  const TreeEntry* link = tree.Find("latest.csv");
  ASSERT_NE(link, nullptr);
  EXPECT_TRUE(link->is_link());
  EXPECT_EQ(link->blob, Sha256Hex("data/a.csv"));
  EXPECT_EQ(link->size, 10);
  auto parsed = Tree::FromJson(tree.ToJson());
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, tree);
  EXPECT_NE(tree.ToJson().find(R"("link":"data/a.csv")"), std::string::npos);

  // A file through a link, and lexical escapes, are refused when added.
  EXPECT_EQ(tree.Add(Entry("latest.csv/x", "1")).code(), StatusCode::kInvalidArgument);
  for (const char* target : {"/etc/passwd", "../x", "data/../../x", "a\\b", "a\nb"}) {
    Status st = tree.Add(LinkEntry("l", target));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << target;
  }
  auto empty = Tree::FromJson(
      Manifest(R"({"path":"l","blob":")" + Sha256Hex("") + R"(","size":0,"mode":420,"link":""})"));
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tree.Add(LinkEntry("data/l", "../../x")).code(), StatusCode::kInvalidArgument);
  // Blob and size must describe the target text.
  TreeEntry forged = LinkEntry("f", "data/a.csv");
  forged.blob = Sha256Hex("other");
  EXPECT_EQ(tree.Add(forged).code(), StatusCode::kInvalidArgument);
}

TEST(TreeTest, CheckLinksFollowsLinksThroughEachOther) {
  Tree escape;
  ASSERT_TRUE(escape.Add(LinkEntry("here", ".")).ok());
  ASSERT_TRUE(escape.Add(LinkEntry("sub/deep", "../here/..")).ok());  // lexically the root
  Status st = escape.CheckLinks();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("sub/deep"), std::string::npos) << st.message();
  auto parsed = Tree::FromJson(escape.ToJson());
  ASSERT_FALSE(parsed.has_value());
  EXPECT_NE(parsed.error().message().find("sub/deep"), std::string::npos);

  Tree loop;
  ASSERT_TRUE(loop.Add(LinkEntry("a", "b")).ok());
  ASSERT_TRUE(loop.Add(LinkEntry("b", "a")).ok());
  EXPECT_EQ(loop.CheckLinks().code(), StatusCode::kInvalidArgument);

  Tree fine;
  ASSERT_TRUE(fine.Add(LinkEntry("d", "x/y")).ok());
  ASSERT_TRUE(fine.Add(LinkEntry("x", "z")).ok());
  ASSERT_TRUE(fine.Add(LinkEntry("e", "d/..")).ok());  // z/y/.. is z: inside
  ASSERT_TRUE(fine.Add(LinkEntry("dangling", "nowhere")).ok());
  EXPECT_TRUE(fine.CheckLinks().ok()) << fine.CheckLinks().ToString();
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

TEST_F(StoredTreeTest, MaterializeWritesLinksAndNeverThroughOne) {
  Tree tree;
  ASSERT_TRUE(tree.Add(Entry("data/a.txt", "alpha")).ok());
  ASSERT_TRUE(tree.Add(LinkEntry("a.txt", "data/a.txt")).ok());
  ASSERT_TRUE(store_->Put("alpha").has_value());
  fs::path out = dir_ / "out";
  ASSERT_TRUE(MaterializeTree(*store_, tree, out).ok());
  EXPECT_EQ(fs::read_symlink(out / "a.txt"), "data/a.txt");
  EXPECT_EQ(*ReadFile(out / "a.txt"), "alpha");

  // A symlinked folder already in the destination is not written through.
  fs::path elsewhere = dir_ / "elsewhere";
  ASSERT_TRUE(MakeDirs(elsewhere).ok());
  fs::path out2 = dir_ / "out2";
  ASSERT_TRUE(MakeDirs(out2).ok());
  fs::create_directory_symlink(elsewhere, out2 / "data");
  EXPECT_EQ(MaterializeTree(*store_, tree, out2).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(elsewhere));
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
