#include <curl/curl.h>

#include <mutex>

#include "artifacts/url_fetcher.h"

namespace gantry::artifacts {
namespace {

struct Sink {
  BlobWriter* writer;
  Status status;
  int64_t bytes = 0;
};

size_t OnData(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
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

  Result<FetchedBlob> Fetch(const std::string& url, BlobStore& store) override {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 &&
        url.rfind("file://", 0) != 0) {
      return Err(InvalidArgumentError("cannot fetch '" + url + "': only http://, https:// and "
                                      "file:// URLs are supported"));
    }
    ASSIGN_OR_RETURN(auto writer, store.NewWriter());
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return Err(InternalError("curl_easy_init failed"));
    Sink sink{writer.get(), Status::Ok()};
    char error[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT, options_.timeout_seconds);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, OnData);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "gantry/0.1");
    CURLcode rc = curl_easy_perform(curl.get());
    if (!sink.status.ok()) return Err(sink.status.WithPrefix("cannot store " + url));
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
    ASSIGN_OR_RETURN(std::string sha, writer->Commit(""));
    return FetchedBlob{sha, sink.bytes};
  }

 private:
  CurlUrlFetcherOptions options_;
};

}  // namespace

std::unique_ptr<UrlFetcher> NewCurlUrlFetcher(CurlUrlFetcherOptions options) {
  return std::make_unique<CurlUrlFetcher>(options);
}

}  // namespace gantry::artifacts
