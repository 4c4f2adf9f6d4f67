#include "workspace/access_policy.h"

#include <gtest/gtest.h>

namespace gantry::workspace {
namespace {

TEST(AccessPolicyTest, RolesParseAndOrder) {
  EXPECT_EQ(*ParseRole("reader"), Role::kReader);
  EXPECT_EQ(*ParseRole("owner"), Role::kOwner);
  auto bad = ParseRole("admin");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("'admin'"), std::string::npos);
  EXPECT_EQ(RoleName(Role::kContributor), "contributor");
}

TEST(AccessPolicyTest, OpenRoutesNeedNothing) {
  EXPECT_TRUE(Authorize(Principal::Anonymous(), RouteAccess::Open(), "").ok());
}

TEST(AccessPolicyTest, NobodyIsUnauthenticatedEverywhereElse) {
  for (const RouteAccess& a : {RouteAccess::Read(RunAccess::kAny), RouteAccess::RunReport(),
                               RouteAccess::Write(Role::kContributor)}) {
    EXPECT_EQ(Authorize(Principal::Anonymous(), a, "run1").code(), StatusCode::kUnauthenticated);
  }
}

TEST(AccessPolicyTest, PeopleNeedTheRouteRole) {
  auto reader = Principal::User(Role::kReader, "tk_r");
  auto contributor = Principal::User(Role::kContributor, "tk_c");
  auto owner = Principal::User(Role::kOwner, "tk_o");
  EXPECT_TRUE(Authorize(reader, RouteAccess::Read(), "").ok());
  Status denied = Authorize(reader, RouteAccess::Write(Role::kContributor), "");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("contributor role"), std::string::npos);
  EXPECT_TRUE(Authorize(contributor, RouteAccess::Write(Role::kContributor), "").ok());
  EXPECT_EQ(Authorize(contributor, RouteAccess::Write(Role::kOwner), "").code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(owner, RouteAccess::Write(Role::kOwner), "").ok());
}

TEST(AccessPolicyTest, OnlyARunsTokenReportsForIt) {
  auto owner = Principal::User(Role::kOwner, "tk_o");
  EXPECT_EQ(Authorize(owner, RouteAccess::RunReport(), "run1").code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(Principal::Run("run1"), RouteAccess::RunReport(), "run1").ok());
  Status other = Authorize(Principal::Run("run1"), RouteAccess::RunReport(), "run2");
  EXPECT_EQ(other.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(other.message().find("'run2'"), std::string::npos);
}

TEST(AccessPolicyTest, ARunsTokenReachesOnlyWhatItsRouteAllows) {
  auto run = Principal::Run("run1");
  EXPECT_TRUE(Authorize(run, RouteAccess::Read(RunAccess::kAny), "").ok());
  EXPECT_TRUE(Authorize(run, RouteAccess::Read(RunAccess::kOwnRun), "run1").ok());
  EXPECT_EQ(Authorize(run, RouteAccess::Read(RunAccess::kOwnRun), "run2").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(run, RouteAccess::Read(), "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(run, RouteAccess::Write(Role::kContributor), "").code(),
            StatusCode::kPermissionDenied);
}

TEST(AccessPolicyTest, AnEndedRunsTokenChangesNothingButStillReadsItsRun) {
  auto ended = Principal::Run("run1");
  ended.run_ended = true;
  Status report = Authorize(ended, RouteAccess::RunReport(), "run1");
  EXPECT_EQ(report.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(report.message().find("has ended"), std::string::npos);
  EXPECT_EQ(Authorize(ended, RouteAccess::Write(Role::kContributor, RunAccess::kAny), "").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(Authorize(ended, RouteAccess::Upload(), "").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(ended, RouteAccess::Read(RunAccess::kOwnRun), "run1").ok());
}

TEST(AccessPolicyTest, SameOrigin) {
  EXPECT_TRUE(SameOrigin("", "127.0.0.1:8765"));
  EXPECT_TRUE(SameOrigin("http://127.0.0.1:8765", "127.0.0.1:8765"));
  EXPECT_TRUE(SameOrigin("http://example.org", "example.org:80"));
  EXPECT_TRUE(SameOrigin("https://example.org", "example.org:443"));
  EXPECT_FALSE(SameOrigin("http://example.org", "example.org:443"));
  EXPECT_FALSE(SameOrigin("http://evil.example", "127.0.0.1:8765"));
  EXPECT_FALSE(SameOrigin("http://127.0.0.1:9999", "127.0.0.1:8765"));
  EXPECT_FALSE(SameOrigin("null", "127.0.0.1:8765"));
  EXPECT_FALSE(SameOrigin("http://127.0.0.1:8765", ""));
}

}  // namespace
}  // namespace gantry::workspace
