#include "artifacts/blob_store.h"

#include "common/hashing.h"

namespace gantry::artifacts {

Result<std::string> BlobStore::Put(std::string_view data) {
  // Hashing in memory first makes re-storing a known blob cost no disk write.
  std::string sha = Sha256Hex(data);
  if (Has(sha)) return sha;
  ASSIGN_OR_RETURN(auto writer, NewWriter());
  RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit(sha);
}

Status BlobStore::PutExpecting(std::string_view sha, std::string_view data) {
  if (!IsSha256Hex(sha)) {
    return InvalidArgumentError("not a SHA-256 hex digest: \"" + std::string(sha) + "\"");
  }
  std::string actual = Sha256Hex(data);
  if (actual != sha) {
    return InvalidArgumentError("content hashes to " + actual + ", expected " + std::string(sha));
  }
  if (Has(sha)) return Status::Ok();
  ASSIGN_OR_RETURN(auto writer, NewWriter());
  RETURN_IF_ERROR(writer->Append(data));
  Result<std::string> committed = writer->Commit(sha);
  return committed.has_value() ? Status::Ok() : committed.error();
}

}  // namespace gantry::artifacts
