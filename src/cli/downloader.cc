#include "cli/downloader.h"

#include "artifacts/download_folder.h"
#include "common/hashing.h"
#include "http/http_types.h"

namespace gantry::cli {

Result<int64_t> DownloadEntries(const artifacts::Tree& tree, const fs::path& dest, bool overwrite,
                                const FetchEntry& fetch) {
  ASSIGN_OR_RETURN(artifacts::DownloadFolder folder,
                   artifacts::DownloadFolder::Open(
                       dest, tree, artifacts::DownloadFolderOptions{.overwrite = overwrite}));
  for (const artifacts::TreeEntry& e : tree.entries()) {
    if (e.is_link()) {
      RETURN_IF_ERROR(folder.WriteLink(e));
      continue;
    }
    ASSIGN_OR_RETURN(std::string data, fetch(e));
    if (static_cast<int64_t>(data.size()) != e.size || Sha256Hex(data) != e.blob) {
      return Err(DataLossError("downloaded bytes of '" + e.path + "' do not match their hash"));
    }
    RETURN_IF_ERROR(folder.WriteFile(e, data));
  }
  return static_cast<int64_t>(tree.entries().size());
}

Result<int64_t> DownloadTree(http::HttpClient& client, const std::string& tree_id,
                             const fs::path& dest, bool overwrite) {
  if (!IsSha256Hex(tree_id)) {
    return Err(InvalidArgumentError("the server named a malformed tree id '" + tree_id + "'"));
  }
  ASSIGN_OR_RETURN(auto r, client.Send("GET", "/api/v1/trees/" + tree_id));
  if (r.status != 200) return Err(http::StatusFromErrorBody(r.status, r.body));
  Result<artifacts::Tree> tree = artifacts::Tree::FromJson(r.body);
  if (!tree) return Err(tree.error().WithPrefix("the server's tree " + tree_id));
  return DownloadEntries(
      *tree, dest, overwrite, [&](const artifacts::TreeEntry& e) -> Result<std::string> {
        ASSIGN_OR_RETURN(auto blob, client.Send("GET", "/api/v1/blobs/" + e.blob));
        if (blob.status != 200) {
          return Err(http::StatusFromErrorBody(blob.status, blob.body));
        }
        return std::move(blob.body);
      });
}

}  // namespace gantry::cli
