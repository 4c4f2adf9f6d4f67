#include "common/status.h"

#include <gtest/gtest.h>

namespace gantry {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Err(InvalidArgumentError("odd: " + std::to_string(x)));
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}

Status CheckQuarter(int x) {
  RETURN_IF_ERROR(Quarter(x));
  return Status::Ok();
}

TEST(StatusTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "odd: 3");
  EXPECT_TRUE(CheckQuarter(4).ok());
  EXPECT_EQ(CheckQuarter(2).ToString(), "InvalidArgument: odd: 1");
}

TEST(StatusTest, CodeNamesRoundTrip) {
  for (auto code :
       {StatusCode::kNotFound, StatusCode::kUnavailable, StatusCode::kUnauthenticated}) {
    EXPECT_EQ(StatusCodeFromName(StatusCodeName(code)), code);
  }
  EXPECT_EQ(StatusCodeFromName("NoSuchCode"), StatusCode::kUnknown);
}

}  // namespace
}  // namespace gantry
