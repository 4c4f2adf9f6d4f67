#include "store/metadata_store.h"

#include "store/sqlite/sqlite_metadata_store.h"

namespace gantry::store {

Result<std::unique_ptr<MetadataStore>> OpenMetadataStore(const MetadataStoreOptions& options) {
  const std::string& uri = options.uri;
  if (uri.rfind("postgresql://", 0) == 0 || uri.rfind("postgres://", 0) == 0) {
    return Err(Status(StatusCode::kUnimplemented,
                      "the PostgreSQL metadata store is not built yet; use sqlite:PATH"));
  }
  std::string path = uri.rfind("sqlite:", 0) == 0 ? uri.substr(7) : uri;
  if (path.empty()) return Err(InvalidArgumentError("empty metadata store path"));
  ASSIGN_OR_RETURN(auto store, SqliteMetadataStore::Open(path));
  return std::unique_ptr<MetadataStore>(std::move(store));
}

}  // namespace gantry::store
