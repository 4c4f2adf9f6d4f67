#include "workspace/dataset_service.h"

#include <gtest/gtest.h>

#include "artifacts/local_blob_store.h"
#include "artifacts/tree.h"
#include "common/files.h"

namespace gantry::workspace {
namespace {

// Serves fixed bodies by URL; anything else is a 404, "refused" URLs are Unavailable.
class FakeFetcher : public artifacts::UrlFetcher {
 public:
  Result<artifacts::FetchedBlob> Fetch(const std::string& url, artifacts::BlobStore& store,
                                       const std::function<bool()>& cancelled) override {
    ++calls;
    if (cancelled && cancelled()) return Err(CancelledError("stopped fetching " + url));
    if (url.find("refused") != std::string::npos) {
      return Err(UnavailableError("cannot download " + url + ": Connection refused"));
    }
    auto it = bodies.find(url);
    if (it == bodies.end()) return Err(NotFoundError("cannot download " + url + ": HTTP 404"));
    ASSIGN_OR_RETURN(std::string sha, store.Put(it->second));
    return artifacts::FetchedBlob{sha, static_cast<int64_t>(it->second.size())};
  }
  std::map<std::string, std::string> bodies;
  int calls = 0;
};

class DatasetServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("gantry-datasets");
    store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"}));
    blobs_ = std::move(*artifacts::LocalBlobStore::Open(dir_ / "blobs"));
    service_ = std::make_unique<DatasetService>(store_.get(), blobs_.get(), &fetcher_, &clock_);
    fetcher_.bodies["http://h/mnist/train.gz"] = "train";
    fetcher_.bodies["http://h/mnist/test.gz?x=1"] = "test";
  }
  void TearDown() override { fs::remove_all(dir_); }

  RegisterDatasetRequest Mnist(bool new_version = false) {
    RegisterDatasetRequest r;
    r.name = "mnist-dataset";
    r.urls = {"http://h/mnist/train.gz", "http://h/mnist/test.gz?x=1"};
    r.create_new_version = new_version;
    return r;
  }

  fs::path dir_;
  FakeClock clock_;
  FakeFetcher fetcher_;
  std::unique_ptr<store::MetadataStore> store_;
  std::unique_ptr<artifacts::BlobStore> blobs_;
  std::unique_ptr<DatasetService> service_;
};

TEST_F(DatasetServiceTest, UrlsArePinnedByContent) {
  auto d = service_->Register(Mnist());
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->version, 1);
  auto tree = *artifacts::LoadTree(*blobs_, d->tree_id);
  ASSERT_EQ(tree.entries().size(), 2u);
  EXPECT_EQ(tree.entries()[0].path, "test.gz");
  EXPECT_EQ(*blobs_->Get(tree.entries()[1].blob), "train");
  // Same content again, even asking for a new version: the existing version comes back.
  EXPECT_EQ(service_->Register(Mnist(true))->version, 1);
  // Changed content: an error without create_new_version, version 2 with it.
  fetcher_.bodies["http://h/mnist/train.gz"] = "train v2";
  auto clash = service_->Register(Mnist());
  ASSERT_FALSE(clash.has_value());
  EXPECT_EQ(clash.error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->Register(Mnist(true))->version, 2);
  // Version 1 still means the old bytes.
  auto v1 = *artifacts::LoadTree(*blobs_, service_->Get("mnist-dataset", 1)->tree_id);
  EXPECT_EQ(*blobs_->Get(v1.entries()[1].blob), "train");
}

TEST_F(DatasetServiceTest, AFailedUrlRegistersNothing) {
  auto req = Mnist();
  req.urls.push_back("http://h/mnist/missing.gz");
  auto r = service_->Register(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  EXPECT_NE(r.error().message().find("missing.gz"), std::string::npos);
  req.urls.back() = "http://refused/x.gz";
  EXPECT_EQ(service_->Register(req).error().code(), StatusCode::kUnavailable);
  EXPECT_EQ(service_->List("")->size(), 0u);
}

TEST_F(DatasetServiceTest, AFetchForAClientThatWentAwayStopsAndRegistersNothing) {
  auto req = Mnist();
  req.cancelled = [] { return true; };
  auto r = service_->Register(req);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kCancelled);
  EXPECT_EQ(service_->List("")->size(), 0u);
}

TEST_F(DatasetServiceTest, FileUrlsOnlyUnderTheAllowedRoots) {
  fs::path root = *MakeTempDir("gantry-roots");
  ASSERT_TRUE(WriteFileAtomic(root / "ok.txt", "rows").ok());
  fs::create_symlink("/etc/passwd", root / "out.txt");
  DatasetService rooted(store_.get(), blobs_.get(), &fetcher_, &clock_, {.file_roots = {root}});
  EXPECT_TRUE(rooted.CheckFileUrl("file://" + (root / "ok.txt").string()).ok());
  EXPECT_TRUE(rooted.CheckFileUrl("http://h/x").ok());
  for (const std::string& url :
       {std::string("file:///etc/shadow"), "file://" + (root / "out.txt").string(),
        "file://" + root.string() + "/../../etc/passwd"}) {
    Status st = rooted.CheckFileUrl(url);
    EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << url;
    EXPECT_NE(st.message().find("--allow-file-root"), std::string::npos);
  }
  EXPECT_EQ(rooted.CheckFileUrl("file://" + (root / "missing").string()).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(rooted.CheckFileUrl("file://relative/x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->CheckFileUrl("file://" + (root / "ok.txt").string()).code(),
            StatusCode::kPermissionDenied);  // no roots: no file is read
  fs::remove_all(root);
}

TEST_F(DatasetServiceTest, ResolvesReferences) {
  ASSERT_TRUE(service_->Register(Mnist()).has_value());
  fetcher_.bodies["http://h/mnist/train.gz"] = "v2";
  ASSERT_TRUE(service_->Register(Mnist(true)).has_value());
  EXPECT_EQ(service_->Resolve("azureml:mnist-dataset:1")->version, 1);
  EXPECT_EQ(service_->Resolve("azureml:mnist-dataset@latest")->version, 2);
  EXPECT_EQ(service_->Resolve("gantry:mnist-dataset")->version, 2);
  EXPECT_EQ(service_->Resolve("azureml:mnist-dataset:9").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Resolve("azureml:mnist-dataset:x").error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(DatasetServiceTest, UriFileHoldsOneFile) {
  auto req = Mnist();
  req.type = "uri_file";
  EXPECT_EQ(service_->Register(req).error().code(), StatusCode::kInvalidArgument);
  req.urls.resize(1);
  EXPECT_TRUE(service_->Register(req).has_value());
}

}  // namespace
}  // namespace gantry::workspace
