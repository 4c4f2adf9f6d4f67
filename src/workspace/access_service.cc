#include "workspace/access_service.h"

#include "common/hashing.h"
#include "common/ids.h"
#include "common/logging.h"

namespace gantry::workspace {

AccessService::AccessService(store::MetadataStore* store, const Clock* clock)
    : store_(store), clock_(clock) {}

Status AccessService::LoadLocked() {
  if (loaded_) return Status::Ok();
  ASSIGN_OR_RETURN(std::vector<store::AccessTokenRecord> all,
                   store_->access_tokens().ListAccessTokens());
  for (auto& t : all) by_hash_[t.hash] = std::move(t);
  loaded_ = true;
  return Status::Ok();
}

Result<CreatedToken> AccessService::CreateToken(Role role, const std::string& name,
                                                int64_t expires_in_ms,
                                                const std::string& created_by) {
  if (expires_in_ms < 0) return Err(InvalidArgumentError("'expires_in' must not be negative"));
  if (name.size() > 200) {
    return Err(InvalidArgumentError("token name is longer than 200 characters"));
  }
  CreatedToken out;
  out.secret = std::string(kTokenPrefix) + NewSecretToken();
  store::AccessTokenRecord& t = out.record;
  t.id = "tk_" + NewSecretToken().substr(0, 12);
  t.name = name;
  t.role = std::string(RoleName(role));
  t.hash = Sha256Hex(out.secret);
  t.created_by = created_by;
  t.created_at = clock_->NowMillis();
  t.expires_at = expires_in_ms > 0 ? t.created_at + expires_in_ms : 0;
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(LoadLocked());
  RETURN_IF_ERROR(store_->access_tokens().CreateAccessToken(t));
  by_hash_[t.hash] = t;
  return out;
}

Result<std::vector<store::AccessTokenRecord>> AccessService::ListTokens() {
  return store_->access_tokens().ListAccessTokens();
}

Status AccessService::RevokeToken(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(LoadLocked());
  int64_t now = clock_->NowMillis();
  RETURN_IF_ERROR(store_->access_tokens().RevokeAccessToken(id, now));
  for (auto& [hash, t] : by_hash_) {
    if (t.id == id && t.revoked_at == 0) t.revoked_at = now;
  }
  return Status::Ok();
}

Result<Principal> AccessService::Authenticate(const std::string& secret) {
  if (!secret.starts_with(kTokenPrefix)) {
    return Err(UnauthenticatedError("the credential is not a Gantry access token"));
  }
  std::string hash = Sha256Hex(secret);
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(LoadLocked());
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return Err(UnauthenticatedError("the access token is not valid"));
  const store::AccessTokenRecord& t = it->second;
  if (t.revoked_at != 0) {
    return Err(UnauthenticatedError("access token " + t.id + " was revoked at " +
                                    FormatIsoTime(t.revoked_at)));
  }
  if (t.expires_at != 0 && clock_->NowMillis() >= t.expires_at) {
    return Err(UnauthenticatedError("access token " + t.id + " expired at " +
                                    FormatIsoTime(t.expires_at)));
  }
  auto role = ParseRole(t.role);
  if (!role.has_value()) return Err(InternalError("token " + t.id + " has a bad role"));
  return Principal::User(*role, t.id);
}

Result<std::string> AccessService::EnsureOwnerToken(const std::string& existing) {
  if (!existing.empty()) {
    auto who = Authenticate(existing);
    if (who.has_value() && who->role == Role::kOwner) return existing;
  }
  ASSIGN_OR_RETURN(CreatedToken created, CreateToken(Role::kOwner, kLocalOwnerName, 0, ""));
  return created.secret;
}

void AccessService::Audit(const Principal& who, const std::string& method, const std::string& path,
                          int status, const std::string& remote) {
  store::AuditRecord r{.time = clock_->NowMillis(),
                       .principal = who.Describe(),
                       .method = method,
                       .path = path.substr(0, 1024),
                       .status = status,
                       .remote = remote};
  if (Status st = store_->audit().AppendAudit(r); !st.ok()) {
    GLOG(Warning) << "audit log: " << st.message();
  }
}

Result<std::vector<store::AuditRecord>> AccessService::ListAudit(int64_t after_id, int limit) {
  return store_->audit().ListAudit(after_id, limit);
}

}  // namespace gantry::workspace
