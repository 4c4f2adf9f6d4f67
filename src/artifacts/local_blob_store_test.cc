#include "artifacts/local_blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>
#include <vector>

#include "common/files.h"
#include "common/hashing.h"

namespace gantry::artifacts {
namespace {

class LocalBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = *MakeTempDir("gantry-blob-test");
    auto store = LocalBlobStore::Open(root_);
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override { fs::remove_all(root_); }

  int TempFileCount() const {
    return static_cast<int>(std::distance(fs::directory_iterator(root_ / "tmp"), {}));
  }

  fs::path root_;
  std::unique_ptr<LocalBlobStore> store_;
};

TEST_F(LocalBlobStoreTest, PutThenGet) {
  std::string sha = Sha256Hex("hello");
  EXPECT_FALSE(store_->Has(sha));
  auto put = store_->Put("hello");
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  EXPECT_EQ(*put, sha);
  EXPECT_TRUE(store_->Has(sha));
  EXPECT_EQ(*store_->Get(sha), "hello");
  EXPECT_EQ(*store_->SizeOf(sha), 5);
  EXPECT_EQ(*store_->PathOf(sha), root_ / sha.substr(0, 2) / sha.substr(2));
  EXPECT_EQ(*ReadFile(*store_->PathOf(sha)), "hello");
  // Storing it again is a no-op with the same name.
  EXPECT_EQ(*store_->Put("hello"), sha);
  EXPECT_EQ(*store_->Put(""), Sha256Hex(""));
  EXPECT_EQ(*store_->Get(Sha256Hex("")), "");
  EXPECT_EQ(TempFileCount(), 0);
}

TEST_F(LocalBlobStoreTest, MissingAndMalformedNames) {
  std::string sha = Sha256Hex("absent");
  auto got = store_->Get(sha);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code(), StatusCode::kNotFound);
  EXPECT_NE(got.error().message().find(sha), std::string::npos);
  EXPECT_EQ(store_->PathOf(sha).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->SizeOf(sha).error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(store_->Has("../../etc/passwd"));
  EXPECT_EQ(store_->Get("../../etc/passwd").error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get(std::string(64, 'A')).error().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalBlobStoreTest, PutExpectingRejectsWrongHashAndStoresNothing) {
  std::string claimed = Sha256Hex("what the client said");
  std::string actual = Sha256Hex("what arrived");
  Status s = store_->PutExpecting(claimed, "what arrived");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(claimed), std::string::npos);
  EXPECT_NE(s.message().find(actual), std::string::npos);
  EXPECT_FALSE(store_->Has(claimed));
  EXPECT_FALSE(store_->Has(actual));
  EXPECT_EQ(TempFileCount(), 0);

  EXPECT_EQ(store_->PutExpecting("not-hex", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->PutExpecting(actual, "what arrived").ok());
  EXPECT_EQ(*store_->Get(actual), "what arrived");
}

TEST_F(LocalBlobStoreTest, WriterStreamsAndVerifies) {
  auto writer = *store_->NewWriter();
  ASSERT_TRUE(writer->Append("chunk one, ").ok());
  ASSERT_TRUE(writer->Append("chunk two").ok());
  std::string sha = Sha256Hex("chunk one, chunk two");
  auto committed = writer->Commit(sha);
  ASSERT_TRUE(committed.has_value()) << committed.error().ToString();
  EXPECT_EQ(*committed, sha);
  EXPECT_EQ(*store_->Get(sha), "chunk one, chunk two");
  EXPECT_EQ(writer->Append("more").code(), StatusCode::kFailedPrecondition);

  auto bad = *store_->NewWriter();
  ASSERT_TRUE(bad->Append("truncated upl").ok());
  auto rejected = bad->Commit(Sha256Hex("truncated upload"));
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(store_->Has(Sha256Hex("truncated upl")));
  EXPECT_EQ(TempFileCount(), 0);
}

TEST_F(LocalBlobStoreTest, AbandonedWriterLeavesNothing) {
  {
    auto writer = *store_->NewWriter();
    ASSERT_TRUE(writer->Append("half an upload").ok());
    EXPECT_EQ(TempFileCount(), 1);
  }
  EXPECT_EQ(TempFileCount(), 0);
  EXPECT_FALSE(store_->Has(Sha256Hex("half an upload")));
}

TEST_F(LocalBlobStoreTest, OpenRemovesTempFilesOfDeadWritersOnly) {
  // A temp file nobody holds, as a killed process leaves behind.
  ASSERT_TRUE(WriteFileAtomic(root_ / "tmp" / "blob-stale", "partial").ok());
  auto live = *store_->NewWriter();
  ASSERT_TRUE(live->Append("in progress").ok());
  ASSERT_EQ(TempFileCount(), 2);

  auto reopened = LocalBlobStore::Open(root_);
  ASSERT_TRUE(reopened.has_value());
  EXPECT_EQ(TempFileCount(), 1);
  auto committed = live->Commit("");
  ASSERT_TRUE(committed.has_value()) << committed.error().ToString();
  EXPECT_EQ(*(*reopened)->Get(*committed), "in progress");
}

TEST_F(LocalBlobStoreTest, ConcurrentPutsOfTheSameBlob) {
  std::string data(1 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>('a' + i % 26);
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      // Streaming writers cannot skip the write when the blob exists, so they race to
      // rename; Put() callers may take the already-stored shortcut.
      Result<std::string> sha;
      if (t % 2 == 0) {
        sha = store_->Put(data);
      } else {
        auto writer = *store_->NewWriter();
        for (size_t off = 0; off < data.size(); off += 100'000) {
          (void)writer->Append(std::string_view(data).substr(off, 100'000));
        }
        sha = writer->Commit("");
      }
      results[t] = sha.has_value() ? *sha : sha.error().ToString();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, Sha256Hex(data));
  EXPECT_EQ(*store_->Get(Sha256Hex(data)), data);
  EXPECT_EQ(TempFileCount(), 0);
}

// Writes `content` to a new file in `dir` and returns its path.
fs::path WriteUpload(const fs::path& dir, const std::string& name, const std::string& content) {
  fs::path p = dir / name;
  EXPECT_TRUE(WriteFileAtomic(p, content).ok());
  return p;
}

TEST_F(LocalBlobStoreTest, PutFileExpectingRenamesTheUploadIntoPlace) {
  std::string content = "streamed upload";
  std::string sha = Sha256Hex(content);
  fs::path upload = WriteUpload(store_->temp_dir(), "upload-1", content);
  struct stat before;
  ASSERT_EQ(::stat(upload.c_str(), &before), 0);
  ASSERT_TRUE(store_->PutFileExpecting(sha, upload).ok());
  EXPECT_FALSE(fs::exists(upload));
  EXPECT_EQ(*store_->Get(sha), content);
  struct stat after;
  ASSERT_EQ(::stat(store_->PathOf(sha)->c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "renamed, not copied";
  EXPECT_EQ(after.st_mode & 0777, 0444u);
  // The same content again: already stored, the new upload is just removed.
  fs::path again = WriteUpload(store_->temp_dir(), "upload-2", content);
  ASSERT_TRUE(store_->PutFileExpecting(sha, again).ok());
  EXPECT_FALSE(fs::exists(again));
  EXPECT_EQ(TempFileCount(), 0);
}

TEST_F(LocalBlobStoreTest, PutFileExpectingRefusesAWrongHashAndLeavesTheFile) {
  fs::path upload = WriteUpload(store_->temp_dir(), "upload-1", "actual bytes");
  std::string claimed = Sha256Hex("other bytes");
  Status st = store_->PutFileExpecting(claimed, upload);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find(Sha256Hex("actual bytes")), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(claimed), std::string::npos) << st.message();
  EXPECT_TRUE(fs::exists(upload));
  EXPECT_FALSE(store_->Has(claimed));
  EXPECT_FALSE(store_->Has(Sha256Hex("actual bytes")));
  EXPECT_EQ(store_->PutFileExpecting("not-a-sha", upload).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(upload));
}

TEST_F(LocalBlobStoreTest, PutFileExpectingRefusesMissingFilesAndSymlinks) {
  std::string sha = Sha256Hex("x");
  EXPECT_EQ(store_->PutFileExpecting(sha, root_ / "tmp" / "absent").code(), StatusCode::kNotFound);
  fs::path target = WriteUpload(root_, "target", "x");
  fs::create_symlink(target, root_ / "tmp" / "link");
  EXPECT_EQ(store_->PutFileExpecting(sha, root_ / "tmp" / "link").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->PutFileExpecting(sha, root_).code(), StatusCode::kNotFound);  // a folder
  EXPECT_FALSE(store_->Has(sha));
  EXPECT_TRUE(fs::exists(target));
}

TEST_F(LocalBlobStoreTest, PutFileExpectingCopiesWhenItCannotRename) {
  // The generic form (used across filesystems) streams the file through a writer.
  std::string content(3 << 20, 'q');  // several read chunks
  std::string sha = Sha256Hex(content);
  fs::path upload = WriteUpload(root_, "elsewhere", content);
  ASSERT_TRUE(store_->BlobStore::PutFileExpecting(sha, upload).ok());
  EXPECT_FALSE(fs::exists(upload));
  EXPECT_EQ(*store_->Get(sha), content);
  fs::path wrong = WriteUpload(root_, "wrong", "abc");
  EXPECT_EQ(store_->BlobStore::PutFileExpecting(sha, wrong).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(wrong));
  EXPECT_EQ(TempFileCount(), 0);
}

}  // namespace
}  // namespace gantry::artifacts
