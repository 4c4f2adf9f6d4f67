// AccessService: personal access tokens and the audit log (docs/security.md).
//
// A token is "gtp_" followed by 64 hex digits (256 random bits). Only its SHA-256 is stored;
// the secret is returned once, by CreateToken. Authenticate() hashes the presented secret
// once (SHA-256, microseconds: no password hash per request) and looks it up in an in-memory
// copy of the token table, which this service alone writes.
// Thread-safe: one mutex guards the cache.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "store/metadata_store.h"
#include "workspace/access_policy.h"

namespace gantry::workspace {

struct CreatedToken {
  store::AccessTokenRecord record;
  std::string secret;  // shown once
};

class AccessService {
 public:
  static constexpr char kTokenPrefix[] = "gtp_";
  // The label of the token a local workspace's first start creates for its owner.
  static constexpr char kLocalOwnerName[] = "local owner";

  AccessService(store::MetadataStore* store, const Clock* clock);

  // A new token with `role`, labelled `name`, expiring `expires_in_ms` from now (0: never).
  // InvalidArgument for a negative expiry or a label over 200 characters.
  Result<CreatedToken> CreateToken(Role role, const std::string& name, int64_t expires_in_ms,
                                   const std::string& created_by);
  Result<std::vector<store::AccessTokenRecord>> ListTokens();
  // NotFound naming the id.
  Status RevokeToken(const std::string& id);

  // The person behind a "gtp_" secret. Unauthenticated when it is unknown, revoked or expired
  // (the message says which, never echoing the secret).
  Result<Principal> Authenticate(const std::string& secret);

  // For a local workspace's start: `existing` when it is a valid owner token, else a new
  // owner token's secret.
  Result<std::string> EnsureOwnerToken(const std::string& existing);

  // Records one mutating call. Failures are logged, never returned: the call itself is done.
  void Audit(const Principal& who, const std::string& method, const std::string& path, int status,
             const std::string& remote);
  Result<std::vector<store::AuditRecord>> ListAudit(int64_t after_id, int limit);

 private:
  Status LoadLocked();  // requires mu_

  store::MetadataStore* store_;
  const Clock* clock_;
  std::mutex mu_;
  bool loaded_ = false;                                      // guarded by mu_
  std::map<std::string, store::AccessTokenRecord> by_hash_;  // guarded by mu_
};

}  // namespace gantry::workspace
