// AccessTokenTable: personal access tokens, by public id. Only the SHA-256 of a secret is
// stored; the secret is shown once, when the token is created. Part of a MetadataStore
// (MetadataStore::access_tokens()). Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace gantry::store {

// A personal access token. Only the SHA-256 of the secret is stored; the secret is shown once.
struct AccessTokenRecord {
  std::string id;          // public id, e.g. "tk_3f9a1c2e": what `token list` and `revoke` name
  std::string name;        // the owner's label, e.g. "alice laptop"
  std::string role;        // "reader" | "contributor" | "owner"
  std::string hash;        // SHA-256 hex of the secret; unique
  std::string created_by;  // who created it (a principal description), "" for the server itself
  int64_t created_at = 0;
  int64_t expires_at = 0;  // epoch ms; 0 = never
  int64_t revoked_at = 0;  // epoch ms; 0 = not revoked
};

class AccessTokenTable {
 public:
  virtual ~AccessTokenTable() = default;

  // AlreadyExists when the id or hash is taken.
  virtual Status CreateAccessToken(const AccessTokenRecord& token) = 0;
  // Every token, revoked and expired ones included, oldest first.
  virtual Result<std::vector<AccessTokenRecord>> ListAccessTokens() = 0;
  // Sets revoked_at of a token not yet revoked (revoking twice keeps the first time).
  // NotFound when there is no token `id`.
  virtual Status RevokeAccessToken(const std::string& id, int64_t revoked_at) = 0;
};

}  // namespace gantry::store
