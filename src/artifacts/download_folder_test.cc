#include "artifacts/download_folder.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.h"
#include "common/hashing.h"

namespace gantry::artifacts {
namespace {

TreeEntry File(std::string path, std::string_view content, uint32_t mode = 0644) {
  return TreeEntry{.path = std::move(path),
                   .blob = Sha256Hex(content),
                   .size = static_cast<int64_t>(content.size()),
                   .mode = mode};
}

class DownloadFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-download-folder-test");
    root_ = dir_ / "target";
  }
  void TearDown() override { fs::remove_all(dir_); }

  Tree Make(std::initializer_list<TreeEntry> entries) {
    Tree tree;
    for (const auto& e : entries) EXPECT_TRUE(tree.Add(e).ok()) << e.path;
    return tree;
  }

  // Writes every entry of `tree`, files with the content "data:<path>".
  Status Download(const Tree& tree, bool overwrite = false) {
    ASSIGN_OR_RETURN(DownloadFolder folder,
                     DownloadFolder::Open(root_, tree, {.overwrite = overwrite}));
    for (const auto& e : tree.entries()) {
      RETURN_IF_ERROR(e.is_link() ? folder.WriteLink(e) : folder.WriteFile(e, "data:" + e.path));
    }
    return Status::Ok();
  }

  // Names below `root_`, sorted, so a test sees everything that was written.
  std::vector<std::string> Listing() {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec); it != fs::end(it); ++it) {
      out.push_back(fs::relative(it->path(), root_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_, root_;
};

TEST_F(DownloadFolderTest, WritesFilesWithTheirModesMaskedTo0777) {
  Tree tree = Make({File("a/b.txt", "x", 0755), File("c", "y")});
  ASSERT_TRUE(Download(tree).ok());
  EXPECT_EQ(*ReadFile(root_ / "a/b.txt"), "data:a/b.txt");
  struct stat st;
  ASSERT_EQ(::stat((root_ / "a/b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(Listing(), (std::vector<std::string>{"a", "a/b.txt", "c"}));  // no temp files

  // Even an entry that slipped past Tree::Add with a setuid bit gets only 0777 bits.
  auto folder = DownloadFolder::Open(root_, Tree(), {.overwrite = true});
  ASSERT_TRUE(folder.has_value());
  TreeEntry setuid = File("s", "z");
  setuid.mode = 04755;
  ASSERT_TRUE(folder->WriteFile(setuid, "z").ok());
  ASSERT_EQ(::stat((root_ / "s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(DownloadFolderTest, NeverReplacesAFileUnlessAskedAndChecksBeforeWriting) {
  ASSERT_TRUE(MakeDirs(root_).ok());
  ASSERT_TRUE(WriteFileAtomic(root_ / "m", "mine").ok());
  Tree tree = Make({File("a", "1"), File("m", "2"), File("z", "3")});
  Status st = Download(tree);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(st.message().find((root_ / "m").string()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--overwrite"), std::string::npos) << st.message();
  EXPECT_EQ(*ReadFile(root_ / "m"), "mine");
  EXPECT_EQ(Listing(), (std::vector<std::string>{"m"}));  // "a" was not written either

  ASSERT_TRUE(Download(tree, /*overwrite=*/true).ok());
  EXPECT_EQ(*ReadFile(root_ / "m"), "data:m");
}

TEST_F(DownloadFolderTest, RefusesGitAndGantryParts) {
  ASSERT_TRUE(MakeDirs(root_ / ".git").ok());
  ASSERT_TRUE(WriteFileAtomic(root_ / ".git/config", "mine").ok());
  for (const char* path : {".git/config", "x/.git/hooks/pre-commit", ".GIT/config",
                           ".gantry/config.json", "a/.Gantry"}) {
    Status st = Download(Make({File("ok", "1"), File(path, "evil")}), /*overwrite=*/true);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << path;
    EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
  }
  EXPECT_EQ(*ReadFile(root_ / ".git/config"), "mine");
  EXPECT_EQ(Listing(), (std::vector<std::string>{".git", ".git/config"}));
  EXPECT_TRUE(HasReservedPart(".git"));
  EXPECT_FALSE(HasReservedPart(".gitignore"));
  EXPECT_FALSE(HasReservedPart("a/.gantryignore"));
}

TEST_F(DownloadFolderTest, NeverWritesThroughASymlinkAlreadyThere) {
  fs::path outside = dir_ / "outside";
  ASSERT_TRUE(MakeDirs(outside).ok());
  ASSERT_TRUE(MakeDirs(root_).ok());
  fs::create_directory_symlink(outside, root_ / "sub");
  for (bool overwrite : {false, true}) {
    Status st = Download(Make({File("sub/x", "evil")}), overwrite);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("sub/x"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(fs::is_empty(outside));

  // A symlink at the final name is replaced (with overwrite), not written through.
  ASSERT_TRUE(WriteFileAtomic(outside / "secret", "keep").ok());
  fs::create_symlink(outside / "secret", root_ / "f");
  EXPECT_EQ(Download(Make({File("f", "1")})).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(Download(Make({File("f", "1")}), /*overwrite=*/true).ok());
  EXPECT_EQ(*ReadFile(outside / "secret"), "keep");
  EXPECT_FALSE(fs::is_symlink(root_ / "f"));
  EXPECT_EQ(*ReadFile(root_ / "f"), "data:f");
}

TEST_F(DownloadFolderTest, WritesLinksThatStayInsideAndRefusesOthers) {
  Tree tree = Make({File("data/a.csv", "1"), LinkEntry("latest", "data/a.csv"),
                    LinkEntry("data/here", "."), LinkEntry("dir", "data")});
  ASSERT_TRUE(Download(tree).ok());
  EXPECT_EQ(fs::read_symlink(root_ / "latest"), "data/a.csv");
  EXPECT_EQ(*ReadFile(root_ / "latest"), "data:data/a.csv");
  EXPECT_EQ(*ReadFile(root_ / "dir/a.csv"), "data:data/a.csv");

  fs::remove_all(root_);
  // A link through another link that climbs out: "up" is the root, so "up/.." is outside.
  Tree escape;
  ASSERT_TRUE(escape.Add(LinkEntry("up", ".")).ok());
  ASSERT_TRUE(escape.Add(LinkEntry("x", "up/../secret")).ok());  // lexically inside
  Status st = Download(escape);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("\"x\""), std::string::npos) << st.message();
  EXPECT_FALSE(fs::exists(root_));
}

TEST_F(DownloadFolderTest, RefusesAFileWhereAFolderIsNeededAndTheReverse) {
  ASSERT_TRUE(MakeDirs(root_ / "d").ok());
  ASSERT_TRUE(WriteFileAtomic(root_ / "f", "mine").ok());
  EXPECT_EQ(Download(Make({File("d", "1")}), true).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Download(Make({File("f/x", "1")}), true).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFile(root_ / "f"), "mine");
}

}  // namespace
}  // namespace gantry::artifacts
