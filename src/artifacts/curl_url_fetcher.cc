#include <curl/curl.h>
#include <sys/stat.h>

#include <map>
#include <mutex>

#include "artifacts/url_fetcher.h"

namespace gantry::artifacts {
namespace {

struct Sink {
  BlobWriter* writer;
  Status status;
  int64_t bytes = 0;
  int64_t max_bytes = 0;  // 0: no limit
  std::string url;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  if (sink->max_bytes > 0 && sink->bytes + static_cast<int64_t>(size * n) > sink->max_bytes) {
    sink->status = ResourceExhaustedError(
        sink->url + " is larger than this server's limit of " + std::to_string(sink->max_bytes) +
        " bytes for a dataset file (gantry server --max-fetch-bytes)");
    return 0;  // aborts the transfer; the writer's temp file is discarded
  }
  sink->status = sink->writer->Append(std::string_view(data, size * n));
  if (!sink->status.ok()) return 0;  // aborts the transfer
  sink->bytes += static_cast<int64_t>(size * n);
  return size * n;
}

class CurlUrlFetcher : public UrlFetcher {
 public:
  explicit CurlUrlFetcher(CurlUrlFetcherOptions options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Result<FetchedBlob> Fetch(const std::string& url, BlobStore& store,
                            const std::function<bool()>& cancelled) override {
    // An unchanged source is not fetched again: file:// by (size, mtime), http(s) by the
    // server's validators (ETag / Last-Modified) in a conditional request.
    Validators known;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(url);
      if (it != cache_.end() && store.Has(it->second.sha)) known = it->second;
    }
    if (url.rfind("file://", 0) == 0 && !known.sha.empty()) {
      struct stat st;
      std::string path = url.substr(7);
      if (::stat(path.c_str(), &st) == 0 && st.st_size == known.size &&
          st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec == known.mtime_ns) {
        return FetchedBlob{known.sha, known.size};
      }
      known = Validators{};
    }
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 &&
        url.rfind("file://", 0) != 0) {
      return Err(InvalidArgumentError("cannot fetch '" + url +
                                      "': only http://, https:// and "
                                      "file:// URLs are supported"));
    }
    ASSIGN_OR_RETURN(auto writer, store.NewWriter());
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return Err(InternalError("curl_easy_init failed"));
    Sink sink{writer.get(), Status::Ok(), 0, options_.max_bytes, url};
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, options_.timeout_seconds);
    if (options_.max_bytes > 0) {
      curl_easy_setopt(curl.get(), CURLOPT_MAXFILESIZE_LARGE,
                       static_cast<curl_off_t>(options_.max_bytes));
    }
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, OnData);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
    if (cancelled) {
      curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &cancelled);
    }
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "gantry/0.1");
    curl_slist* headers = nullptr;
    if (!known.sha.empty() && !known.etag.empty()) {
      headers = curl_slist_append(headers, ("If-None-Match: " + known.etag).c_str());
    }
    if (!known.sha.empty() && !known.last_modified.empty()) {
      headers = curl_slist_append(headers, ("If-Modified-Since: " + known.last_modified).c_str());
    }
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
    if (headers) curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    Validators seen;
    curl_easy_setopt(curl.get(), CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl.get(), CURLOPT_HEADERDATA, &seen);
    CURLcode rc = curl_easy_perform(curl.get());
    if (sink.status.code() == StatusCode::kResourceExhausted) return Err(sink.status);
    if (!sink.status.ok()) return Err(sink.status.WithPrefix("cannot store " + url));
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return Err(CancelledError("stopped fetching " + url + ": the client went away"));
    }
    if (rc == CURLE_FILESIZE_EXCEEDED) {
      return Err(ResourceExhaustedError(url + " is larger than this server's limit of " +
                                        std::to_string(options_.max_bytes) +
                                        " bytes for a dataset file (gantry server "
                                        "--max-fetch-bytes)"));
    }
    if (rc != CURLE_OK) {
      long http = 0;
      curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &http);
      std::string reason = error[0] ? error : curl_easy_strerror(rc);
      if (rc == CURLE_PARTIAL_FILE) {
        reason = "the connection closed after " + std::to_string(sink.bytes) +
                 " bytes, before the whole file arrived (" + reason + ")";
      }
      StatusCode code = http == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable;
      return Err(Status(code, "cannot download " + url + ": " + reason));
    }
    long http = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &http);
    if (http == 304 && !known.sha.empty()) return FetchedBlob{known.sha, known.size};
    ASSIGN_OR_RETURN(std::string sha, writer->Commit(""));
    seen.sha = sha;
    seen.size = sink.bytes;
    if (url.rfind("file://", 0) == 0) {
      struct stat st;
      if (::stat(url.substr(7).c_str(), &st) == 0) {
        seen.mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      cache_[url] = seen;
    }
    return FetchedBlob{sha, sink.bytes};
  }

 private:
  struct Validators {
    std::string sha, etag, last_modified;
    int64_t size = 0;
    int64_t mtime_ns = 0;
  };

  // Nonzero stops the transfer: the caller no longer wants it.
  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return (*static_cast<const std::function<bool()>*>(user))() ? 1 : 0;
  }

  static size_t OnHeader(char* data, size_t size, size_t n, void* user) {
    auto* v = static_cast<Validators*>(user);
    std::string line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(c));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
      if (name == "etag") v->etag = value;
      if (name == "last-modified") v->last_modified = value;
    }
    return size * n;
  }

  CurlUrlFetcherOptions options_;
  std::mutex mu_;
  std::map<std::string, Validators> cache_;  // guarded by mu_; url → what it last held
};

}  // namespace

std::unique_ptr<UrlFetcher> NewCurlUrlFetcher(CurlUrlFetcherOptions options) {
  return std::make_unique<CurlUrlFetcher>(options);
}

}  // namespace gantry::artifacts
