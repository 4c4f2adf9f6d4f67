#include "artifacts/snapshot.h"

#include <gtest/gtest.h>

#include <chrono>

#include "artifacts/local_blob_store.h"
#include "common/files.h"
#include "common/hashing.h"

namespace gantry::artifacts {
namespace {

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-snapshot-test");
    root_ = dir_ / "code";
    ASSERT_TRUE(MakeDirs(root_).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& rel, std::string_view content) {
    ASSERT_TRUE(MakeDirs((root_ / rel).parent_path()).ok());
    ASSERT_TRUE(WriteFileAtomic(root_ / rel, content).ok());
  }

  // Hashes of files modified within a couple of seconds of a snapshot are not trusted
  // later, so tests that exercise the cache date their files back.
  void Backdate(const std::string& rel, std::chrono::minutes age) {
    fs::last_write_time(root_ / rel, fs::file_time_type::clock::now() - age);
  }
  void BackdateAll() {
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_regular_file()) Backdate(fs::relative(e.path(), root_).string(), kHourAgo);
    }
  }

  Snapshot Take(bool with_cache = false) {
    SnapshotOptions options{.root = root_};
    if (with_cache) options.cache_file = root_ / ".gantry" / "snapshot-cache";
    auto snap = TakeSnapshot(options);
    EXPECT_TRUE(snap.has_value()) << snap.error().ToString();
    return snap.has_value() ? std::move(*snap) : Snapshot{};
  }

  static std::vector<std::string> Paths(const Snapshot& snap) {
    std::vector<std::string> paths;
    for (const auto& e : snap.tree.entries()) paths.push_back(e.path);
    return paths;
  }

  static constexpr std::chrono::minutes kHourAgo{60};
  fs::path dir_;
  fs::path root_;
};

TEST_F(SnapshotTest, AppliesIgnoreFilesAndAlwaysSkipsGitAndGantry) {
  Write(".gitignore", "*.log\nbuild/\n");
  Write("train.py", "print('train')\n");
  Write("a.log", "noise");
  Write("build/out.bin", "binary");
  Write("src/model.py", "class Model: pass\n");
  Write("src/.gitignore", "!debug.log\n");
  Write("src/debug.log", "kept by the nested file");
  Write(".git/HEAD", "ref: refs/heads/main\n");
  Write(".gantry/state", "x");
  Write("vendor/lib/.git", "gitdir: ../../.git/modules/lib\n");
  Write("vendor/lib/lib.py", "");
  Snapshot snap = Take();
  EXPECT_EQ(Paths(snap),
            (std::vector<std::string>{".gitignore", "src/.gitignore", "src/debug.log",
                                      "src/model.py", "train.py", "vendor/lib/lib.py"}));
  const TreeEntry* train = snap.tree.Find("train.py");
  ASSERT_NE(train, nullptr);
  EXPECT_EQ(train->blob, Sha256Hex("print('train')\n"));
  EXPECT_EQ(train->size, 15);
  EXPECT_EQ(snap.blob_sources.at(train->blob), root_ / "train.py");
  EXPECT_EQ(snap.hashed_files, 6);
}

TEST_F(SnapshotTest, IgnoreFilePriority) {
  Write(".gitignore", "*.a\n");
  Write(".amlignore", "*.b\n");
  Write("x.a", "");
  Write("x.b", "");
  Write("sub/.gantryignore", "*.c\n");
  Write("sub/.amlignore", "*.a\n");
  Write("sub/x.a", "");
  Write("sub/x.c", "");
  // .amlignore wins at the root, .gantryignore in sub/.
  EXPECT_EQ(Paths(Take()), (std::vector<std::string>{".amlignore", ".gitignore", "sub/.amlignore",
                                                     "sub/.gantryignore", "sub/x.a", "x.a"}));
}

TEST_F(SnapshotTest, KeepsExecutableBitAndRecordsLinksInsideAsLinks) {
  Write("run.sh", "#!/bin/sh\n");
  Write("data/real.txt", "real");
  fs::permissions(root_ / "run.sh", static_cast<fs::perms>(0755));
  fs::permissions(root_ / "data/real.txt", static_cast<fs::perms>(0600));
  fs::create_symlink("data/real.txt", root_ / "link.txt");
  fs::create_symlink("missing", root_ / "broken");
  fs::create_directory_symlink("data", root_ / "datalink");
  fs::create_symlink(root_ / "data/real.txt", root_ / "data/absolute");  // inside: made relative
  Snapshot snap = Take();
  EXPECT_EQ(Paths(snap), (std::vector<std::string>{"broken", "data/absolute", "data/real.txt",
                                                   "datalink", "link.txt", "run.sh"}));
  EXPECT_EQ(snap.tree.Find("run.sh")->mode, 0755u);
  EXPECT_EQ(snap.tree.Find("data/real.txt")->mode, 0644u);
  EXPECT_EQ(snap.tree.Find("link.txt")->link, "data/real.txt");
  EXPECT_EQ(snap.tree.Find("link.txt")->blob, Sha256Hex("data/real.txt"));
  EXPECT_EQ(snap.tree.Find("datalink")->link, "data");
  EXPECT_EQ(snap.tree.Find("data/absolute")->link, "real.txt");
  EXPECT_EQ(snap.link_blobs.at(Sha256Hex("data")), "data");
  // Nothing is read through a link: only the real file is a blob source.
  EXPECT_EQ(snap.blob_sources.size(), 2u);
}

TEST_F(SnapshotTest, RefusesALinkThatLeadsOutsideAndNeverReadsIt) {
  fs::path secret = dir_ / "id_rsa";
  ASSERT_TRUE(WriteFileAtomic(secret, "PRIVATE KEY").ok());
  Write("train.py", "print(1)\n");
  fs::create_symlink(secret, root_ / "creds");
  auto snap = TakeSnapshot({.root = root_});
  ASSERT_FALSE(snap.has_value());
  EXPECT_EQ(snap.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(snap.error().message().find("'creds'"), std::string::npos) << snap.error().message();
  EXPECT_NE(snap.error().message().find(secret.string()), std::string::npos);

  fs::remove(root_ / "creds");
  fs::create_symlink("../id_rsa", root_ / "up");
  snap = TakeSnapshot({.root = root_});
  ASSERT_FALSE(snap.has_value());
  EXPECT_NE(snap.error().message().find("'up'"), std::string::npos) << snap.error().message();

  // Listed in .gantryignore, the link is left out like any other file.
  Write(".gantryignore", "up\n");
  snap = TakeSnapshot({.root = root_});
  ASSERT_TRUE(snap.has_value()) << snap.error().ToString();
  EXPECT_EQ(Paths(*snap), (std::vector<std::string>{".gantryignore", "train.py"}));

  // A run's outputs take links by content, wherever they point.
  auto outputs = TakeSnapshot({.root = root_, .links = SnapshotOptions::Links::kFollowFiles});
  ASSERT_TRUE(outputs.has_value());
  fs::remove(root_ / ".gantryignore");
  outputs = TakeSnapshot({.root = root_, .links = SnapshotOptions::Links::kFollowFiles});
  ASSERT_TRUE(outputs.has_value()) << outputs.error().ToString();
  EXPECT_EQ(outputs->tree.Find("up")->blob, Sha256Hex("PRIVATE KEY"));
  EXPECT_FALSE(outputs->tree.Find("up")->is_link());
}

TEST_F(SnapshotTest, CacheSkipsUnchangedFilesAndNoticesTouchedOnes) {
  for (int i = 0; i < 20; ++i)
    Write("f" + std::to_string(i) + ".txt", "content " + std::to_string(i));
  BackdateAll();
  Snapshot first = Take(/*with_cache=*/true);
  EXPECT_EQ(first.hashed_files, 20);
  Snapshot second = Take(/*with_cache=*/true);
  EXPECT_EQ(second.hashed_files, 0);
  EXPECT_EQ(second.tree, first.tree);

  // Same size, new content, new mtime.
  Write("f7.txt", "CONTENT 7");
  Backdate("f7.txt", std::chrono::minutes(30));
  Snapshot third = Take(/*with_cache=*/true);
  EXPECT_EQ(third.hashed_files, 1);
  EXPECT_EQ(third.tree.Find("f7.txt")->blob, Sha256Hex("CONTENT 7"));
  EXPECT_EQ(third.tree.Find("f3.txt")->blob, first.tree.Find("f3.txt")->blob);
}

TEST_F(SnapshotTest, JustModifiedFilesAreRehashed) {
  Write("old.txt", "old");
  Backdate("old.txt", kHourAgo);
  Write("new.txt", "new");
  EXPECT_EQ(Take(/*with_cache=*/true).hashed_files, 2);
  // An edit within the same timestamp tick could keep size and mtime, so new.txt's hash
  // is not trusted yet.
  EXPECT_EQ(Take(/*with_cache=*/true).hashed_files, 1);
}

TEST_F(SnapshotTest, CorruptCacheIsIgnored) {
  Write("a.txt", "a");
  BackdateAll();
  Snapshot first = Take(/*with_cache=*/true);
  ASSERT_TRUE(WriteFileAtomic(root_ / ".gantry" / "snapshot-cache",
                              "gantry-snapshot-cache 1\n" + std::string(64, 'f') + " 1 2 99\na\n")
                  .ok());
  Snapshot second = Take(/*with_cache=*/true);
  EXPECT_EQ(second.hashed_files, 1);
  EXPECT_EQ(second.tree, first.tree);
  EXPECT_EQ(Take(/*with_cache=*/true).hashed_files, 0);
}

TEST_F(SnapshotTest, UploadAndMaterializeReproducesTheFiles) {
  Write("run.sh", "#!/bin/sh\necho run\n");
  fs::permissions(root_ / "run.sh", static_cast<fs::perms>(0755));
  Write("src/a.py", "a = 1\n");
  Write("src/copy_of_a.py", "a = 1\n");
  Write("empty", "");
  Snapshot snap = Take();
  EXPECT_EQ(snap.blob_sources.size(), 3u);

  auto store = *LocalBlobStore::Open(dir_ / "blobs");
  for (const auto& [sha, path] : snap.blob_sources) {
    ASSERT_TRUE(store->PutExpecting(sha, *ReadFile(path)).ok());
  }
  std::string id = *StoreTree(*store, snap.tree);
  Tree loaded = *LoadTree(*store, id);
  fs::path out = dir_ / "materialized";
  ASSERT_TRUE(MaterializeTree(*store, loaded, out).ok());

  for (const auto& e : snap.tree.entries()) {
    EXPECT_EQ(*ReadFile(out / e.path), *ReadFile(root_ / e.path)) << e.path;
  }
  EXPECT_EQ(fs::status(out / "run.sh").permissions(), static_cast<fs::perms>(0755));
  // Snapshotting the copy gives the same tree id.
  auto again = TakeSnapshot({.root = out});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*StoreTree(*store, again->tree), id);
}

TEST_F(SnapshotTest, BadRoots) {
  auto missing = TakeSnapshot({.root = dir_ / "nope"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.error().message().find((dir_ / "nope").string()), std::string::npos);
  Write("file.txt", "x");
  EXPECT_EQ(TakeSnapshot({.root = root_ / "file.txt"}).error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SnapshotTest, NamesThatAreNotUtf8AreRejectedUnlessIgnored) {
  Write("ok.txt", "x");
  Write("bad\xff.txt", "x");
  auto snap = TakeSnapshot({.root = root_});
  ASSERT_FALSE(snap.has_value());
  EXPECT_EQ(snap.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(snap.error().message().find("bad\\xff.txt"), std::string::npos)
      << snap.error().message();
  Write(".gantryignore", "bad*\n");
  EXPECT_EQ(Paths(Take()), (std::vector<std::string>{".gantryignore", "ok.txt"}));
}

}  // namespace
}  // namespace gantry::artifacts
