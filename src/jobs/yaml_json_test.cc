#include "jobs/yaml_json.h"

#include <gtest/gtest.h>

namespace gantry::jobs {
namespace {

constexpr char kDoc[] = R"(
count: 2
rate: 0.10
on: true
off: False
loud: TRUE
quoted: "3"
nothing: null
empty:
name: tf-mnist
list: [1, "2", x]
)";

TEST(YamlJsonTest, TextScalarsKeepWhatTheAuthorWroteButBooleans) {
  auto json = YamlToJson(kDoc, "conda.yml");
  ASSERT_TRUE(json.has_value()) << json.error().ToString();
  EXPECT_EQ((*json)["count"], "2");
  EXPECT_EQ((*json)["rate"], "0.10");  // a version or a value, exactly as written
  EXPECT_EQ((*json)["on"], true);
  EXPECT_EQ((*json)["off"], false);
  EXPECT_EQ((*json)["loud"], true);
  EXPECT_EQ((*json)["quoted"], "3");
  EXPECT_TRUE((*json)["nothing"].is_null());  // the parser's null
  EXPECT_TRUE((*json)["empty"].is_null());
  EXPECT_EQ((*json)["list"], Json::parse(R"(["1", "2", "x"])"));
}

TEST(YamlJsonTest, TypedScalarsFollowTheCoreSchema) {
  auto json = YamlToJson(kDoc, "job.yml", YamlScalars::kTyped);
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ((*json)["count"], 2);
  EXPECT_DOUBLE_EQ((*json)["rate"].get<double>(), 0.1);
  EXPECT_EQ((*json)["loud"], true);
  EXPECT_EQ((*json)["quoted"], "3");  // quoted: always a string
  EXPECT_TRUE((*json)["nothing"].is_null());
  EXPECT_TRUE((*json)["empty"].is_null());
  EXPECT_EQ((*json)["name"], "tf-mnist");
  EXPECT_EQ((*json)["list"], Json::parse(R"([1, "2", "x"])"));
}

TEST(YamlJsonTest, TheScalarRules) {
  EXPECT_EQ(YamlBool("True"), true);
  EXPECT_FALSE(YamlBool("yes").has_value());  // YAML 1.1's, not the core schema's
  EXPECT_EQ(YamlInt64("-12"), -12);
  EXPECT_FALSE(YamlInt64("12abc").has_value());
  EXPECT_FALSE(YamlInt64("9223372036854775808").has_value());
  EXPECT_EQ(YamlDouble("1e3"), 1000.0);
  EXPECT_FALSE(YamlDouble("inf").has_value());
  EXPECT_FALSE(YamlDouble("nan").has_value());
}

TEST(YamlJsonTest, BadYamlNamesTheFileAndLine) {
  auto bad = YamlToJson("a: [1, 2\nb: 3\n", "deployment.yml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("deployment.yml:"), std::string::npos)
      << bad.error().message();
}

}  // namespace
}  // namespace gantry::jobs
