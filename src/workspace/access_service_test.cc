#include "workspace/access_service.h"

#include <gtest/gtest.h>

#include "common/hashing.h"

namespace gantry::workspace {
namespace {

class AccessServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::move(*store::OpenMetadataStore({"sqlite::memory:"})); }
  std::unique_ptr<store::MetadataStore> store_;
  FakeClock clock_;
};

TEST_F(AccessServiceTest, ATokenIsShownOnceAndStoredOnlyAsAHash) {
  AccessService access(store_.get(), &clock_);
  auto created = access.CreateToken(Role::kContributor, "ci", 0, "token:tk_x (owner)");
  ASSERT_TRUE(created.has_value()) << created.error().message();
  EXPECT_TRUE(created->secret.starts_with("gtp_"));
  EXPECT_GE(created->secret.size(), 4u + 32u);  // at least 128 random bits as hex
  auto listed = *store_->access_tokens().ListAccessTokens();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].hash, Sha256Hex(created->secret));
  EXPECT_EQ(listed[0].hash.find(created->secret.substr(4)), std::string::npos);
  EXPECT_EQ(listed[0].role, "contributor");
  auto who = access.Authenticate(created->secret);
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->role, Role::kContributor);
  EXPECT_EQ(who->token_id, created->record.id);
}

TEST_F(AccessServiceTest, UnknownRevokedAndExpiredTokensAreRefused) {
  AccessService access(store_.get(), &clock_);
  EXPECT_EQ(access.Authenticate("gtp_nope").error().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(access.Authenticate("not-a-token").error().code(), StatusCode::kUnauthenticated);

  auto revoked = *access.CreateToken(Role::kOwner, "old", 0, "");
  ASSERT_TRUE(access.RevokeToken(revoked.record.id).ok());
  auto r = access.Authenticate(revoked.secret);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("revoked"), std::string::npos);
  EXPECT_EQ(access.RevokeToken("tk_missing").code(), StatusCode::kNotFound);

  auto brief = *access.CreateToken(Role::kReader, "brief", 60'000, "");
  EXPECT_TRUE(access.Authenticate(brief.secret).has_value());
  clock_.Advance(60'000);
  auto e = access.Authenticate(brief.secret);
  ASSERT_FALSE(e.has_value());
  EXPECT_NE(e.error().message().find("expired"), std::string::npos);
  EXPECT_EQ(access.CreateToken(Role::kReader, "x", -1, "").error().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(AccessServiceTest, TokensSurviveARestartOfTheService) {
  std::string secret;
  {
    AccessService access(store_.get(), &clock_);
    secret = access.CreateToken(Role::kReader, "keep", 0, "")->secret;
  }
  AccessService again(store_.get(), &clock_);
  EXPECT_TRUE(again.Authenticate(secret).has_value());
}

TEST_F(AccessServiceTest, EnsureOwnerTokenKeepsAValidOneAndReplacesOthers) {
  AccessService access(store_.get(), &clock_);
  std::string first = *access.EnsureOwnerToken("");
  EXPECT_EQ(access.Authenticate(first)->role, Role::kOwner);
  EXPECT_EQ(*access.EnsureOwnerToken(first), first);
  auto reader = *access.CreateToken(Role::kReader, "r", 0, "");
  std::string replaced = *access.EnsureOwnerToken(reader.secret);
  EXPECT_NE(replaced, reader.secret);
  EXPECT_EQ(access.Authenticate(replaced)->role, Role::kOwner);
}

TEST_F(AccessServiceTest, AuditRecordsWhoWhatWhen) {
  AccessService access(store_.get(), &clock_);
  access.Audit(Principal::User(Role::kOwner, "tk_a"), "DELETE", "/api/v1/computes/gpu", 200,
               "127.0.0.1");
  access.Audit(Principal::Anonymous(), "POST", "/api/v1/runs", 401, "10.0.0.9");
  auto all = *access.ListAudit(0, 100);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].principal, "token:tk_a (owner)");
  EXPECT_EQ(all[0].method, "DELETE");
  EXPECT_EQ(all[0].time, clock_.NowMillis());
  EXPECT_EQ(all[1].principal, "anonymous");
  EXPECT_EQ(all[1].status, 401);
  EXPECT_EQ(access.ListAudit(all[0].id, 100)->size(), 1u);
}

}  // namespace
}  // namespace gantry::workspace
