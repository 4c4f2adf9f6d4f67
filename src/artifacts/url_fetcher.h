// UrlFetcher: downloads http(s):// and file:// URLs straight into the blob store. A seam, so
// dataset registration can be tested with a fake; CurlUrlFetcher is the real one (libcurl).
// Thread-safe: each Fetch uses its own curl handle.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "artifacts/blob_store.h"
#include "common/status.h"

namespace gantry::artifacts {

struct FetchedBlob {
  std::string sha;
  int64_t size = 0;
};

class UrlFetcher {
 public:
  virtual ~UrlFetcher() = default;
  // Streams the URL's body into `store`. A source known unchanged since its last fetch (same
  // file size and mtime; HTTP 304 to a conditional request) is not transferred again. Unavailable
  // (refused, truncated, timed out) or NotFound (HTTP 404) or InvalidArgument (bad URL) or
  // ResourceExhausted (over max_bytes); the message names the URL and the
  // reason. On error nothing is stored.
  // `cancelled` (may be empty) is asked while the transfer runs; once it says true the
  // transfer stops with Cancelled and nothing is stored.
  virtual Result<FetchedBlob> Fetch(const std::string& url, BlobStore& store,
                                    const std::function<bool()>& cancelled) = 0;
};

struct CurlUrlFetcherOptions {
  // Whole-transfer limit in seconds; 0 = none.
  long timeout_seconds = 3600;
  // Largest body accepted; a bigger one stops the transfer with ResourceExhausted (413) and
  // nothing is kept. 0 = none.
  int64_t max_bytes = 0;
};

std::unique_ptr<UrlFetcher> NewCurlUrlFetcher(CurlUrlFetcherOptions options = {});

}  // namespace gantry::artifacts
