// The AccessTokenTable conformance suite: what every MetadataStore's access_tokens() must do.
#include <gtest/gtest.h>

#include "store/metadata_store_conformance.h"

namespace gantry::store {
namespace {

class AccessTokenTableConformanceTest : public StoreConformanceTest {
 protected:
  AccessTokenTable& access_tokens() { return store_->access_tokens(); }
  static AccessTokenRecord Token(const std::string& id, const std::string& hash,
                                 int64_t created_at) {
    return AccessTokenRecord{id, "laptop", "reader", hash, "", created_at, 0, 0};
  }
};

TEST_P(AccessTokenTableConformanceTest, TokensAreUniqueByIdAndHash) {
  ASSERT_TRUE(access_tokens().CreateAccessToken(Token("tk_1", "h1", 10)).ok());
  EXPECT_EQ(access_tokens().CreateAccessToken(Token("tk_1", "h2", 11)).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(access_tokens().CreateAccessToken(Token("tk_2", "h1", 11)).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(access_tokens().ListAccessTokens()->size(), 1u);
}

TEST_P(AccessTokenTableConformanceTest, ListedOldestFirstRevokedOnesIncluded) {
  ASSERT_TRUE(access_tokens().CreateAccessToken(Token("tk_b", "h2", 20)).ok());
  ASSERT_TRUE(access_tokens().CreateAccessToken(Token("tk_a", "h1", 10)).ok());
  ASSERT_TRUE(access_tokens().RevokeAccessToken("tk_a", 30).ok());
  auto tokens = access_tokens().ListAccessTokens();
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[0].id, "tk_a");
  EXPECT_EQ((*tokens)[0].hash, "h1");
  EXPECT_EQ((*tokens)[0].revoked_at, 30);
  EXPECT_EQ((*tokens)[1].id, "tk_b");
  EXPECT_EQ((*tokens)[1].revoked_at, 0);
}

TEST_P(AccessTokenTableConformanceTest, RevokingTwiceKeepsTheFirstTime) {
  ASSERT_TRUE(access_tokens().CreateAccessToken(Token("tk_1", "h1", 10)).ok());
  ASSERT_TRUE(access_tokens().RevokeAccessToken("tk_1", 30).ok());
  ASSERT_TRUE(access_tokens().RevokeAccessToken("tk_1", 40).ok());
  EXPECT_EQ((*access_tokens().ListAccessTokens())[0].revoked_at, 30);
  EXPECT_EQ(access_tokens().RevokeAccessToken("tk_nope", 40).code(), StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(AllStores, AccessTokenTableConformanceTest,
                         ::testing::ValuesIn(AllStoreFactories()), StoreLabel);

}  // namespace
}  // namespace gantry::store
