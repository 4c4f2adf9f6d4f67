#include "api/request_fields.h"

#include <gtest/gtest.h>

namespace gantry::api {
namespace {

BodyFields Body(const char* text) { return BodyFields(Json::parse(text)); }

TEST(RequestFieldsTest, FieldsOfTheRightTypeAreReadAndAbsentOnesFallBack) {
  BodyFields b = Body(R"({"name": "m", "count": 3, "on": true, "tags": {"a": "1", "n": 2},
                          "urls": ["u1", "u2"], "gone": null})");
  EXPECT_EQ(b.String("name").value(), "m");
  EXPECT_EQ(b.String("missing", "x").value(), "x");
  EXPECT_EQ(b.String("gone", "y").value(), "y");
  EXPECT_EQ(b.Int("count").value(), 3);
  EXPECT_TRUE(b.Bool("on").value());
  EXPECT_FALSE(b.Bool("off").value());
  auto tags = b.StringMap("tags").value();
  EXPECT_EQ(tags["a"], "1");
  EXPECT_EQ(tags["n"], "2");  // other types keep their JSON text
  EXPECT_EQ(b.Strings("urls").value(), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_TRUE(b.Strings("none").value().empty());
  EXPECT_TRUE(b.Has("name"));
  EXPECT_FALSE(b.Has("gone"));
}

TEST(RequestFieldsTest, AFieldOfTheWrongTypeIsNamed) {
  BodyFields b = Body(R"({"name": 3, "on": "yes", "tags": [], "urls": "u", "list": [1]})");
  EXPECT_EQ(b.String("name").error().message(), "field 'name' must be a string");
  EXPECT_EQ(b.Bool("on").error().message(), "field 'on' must be true or false");
  EXPECT_EQ(b.StringMap("tags").error().message(), "field 'tags' must be an object");
  EXPECT_EQ(b.Strings("urls").error().message(), "field 'urls' must be a list");
  EXPECT_EQ(b.Strings("list").error().message(), "field 'list' must hold strings");
  EXPECT_EQ(b.Require("spec").message(), "field 'spec' is required");
  EXPECT_EQ(Body("[1]").String("name").error().message(), "expected a JSON object");
  EXPECT_EQ(Body("[1]").Bool("on").error().code(), StatusCode::kInvalidArgument);
}

TEST(RequestFieldsTest, QueryAndPathParametersAreCheckedIntegers) {
  http::Request r;
  r.query = {{"limit", "20"}, {"bad", "-1"}, {"junk", "2x"}};
  r.params = {{"version", "0"}, {"rank", "12"}};
  EXPECT_EQ(QueryInt(r, "limit", 100).value(), 20);
  EXPECT_EQ(QueryInt(r, "absent", 100).value(), 100);
  EXPECT_EQ(QueryInt(r, "bad", 0).error().message(),
            "query parameter 'bad' must be a non-negative integer, got '-1'");
  EXPECT_FALSE(QueryInt(r, "junk", 0).has_value());
  EXPECT_EQ(VersionParam(r).error().message(), "version must be a positive integer, got '0'");
  EXPECT_EQ(NodeRankParam(r).value(), 12);
  r.params["rank"] = "1234567";
  EXPECT_EQ(NodeRankParam(r).error().message(),
            "node rank '1234567' is not a non-negative integer");
}

TEST(RequestFieldsTest, TheBaseUrlIsWhatTheClientReached) {
  http::Request r;
  EXPECT_EQ(BaseUrl(r), "http://127.0.0.1");
  r.headers["host"] = "gantry.lab:8765";
  r.tls = true;
  EXPECT_EQ(BaseUrl(r), "https://gantry.lab:8765");
}

}  // namespace
}  // namespace gantry::api
