#include "jobs/bounded_yaml.h"

#include <gtest/gtest.h>

#include <string>

#include "jobs/job_spec.h"
#include "jobs/yaml_json.h"

namespace gantry::jobs {
namespace {

// Nine levels of nine aliases each: under 1 KB of text, 9^9 (387 million) nodes expanded.
std::string AliasBomb() {
  std::string y =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    y += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) y += (i ? ",*" : "*") + prev;
    y += "]\n";
  }
  return y;
}

TEST(BoundedYamlTest, LoadsAnOrdinaryDocument) {
  auto root = LoadBoundedYaml("command: python train.py\nlist: &l [1, 2]\nagain: *l\n", "job.yml");
  ASSERT_TRUE(root.has_value()) << root.error().message();
  EXPECT_EQ((*root)["command"].Scalar(), "python train.py");
  EXPECT_EQ((*root)["again"].size(), 2u);
}

TEST(BoundedYamlTest, RefusesAnAliasBombNamingTheLimit) {
  std::string bomb = AliasBomb();
  ASSERT_LT(bomb.size(), 1024u);
  auto root = LoadBoundedYaml(bomb, "job.yml");
  ASSERT_FALSE(root.has_value());
  EXPECT_EQ(root.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(root.error().message().find("job.yml:"), std::string::npos);
  EXPECT_NE(root.error().message().find("YAML expands to more than 100000 nodes"),
            std::string::npos)
      << root.error().message();
}

TEST(BoundedYamlTest, EveryYamlEntryPointRefusesTheBomb) {
  auto json = YamlToJson(AliasBomb(), "conda.yml");
  ASSERT_FALSE(json.has_value());
  EXPECT_NE(json.error().message().find("conda.yml:"), std::string::npos);
  EXPECT_NE(json.error().message().find("more than 100000 nodes"), std::string::npos);
  auto spec = ParseJobYaml("command: echo\n" + AliasBomb(), "job.yml");
  ASSERT_FALSE(spec.has_value());
  EXPECT_NE(spec.error().message().find("more than 100000 nodes"), std::string::npos);
}

TEST(BoundedYamlTest, CountsNodesUpToTheLimitExactly) {
  // A sequence of n scalars is n + 1 nodes; n = kMaxYamlNodes - 1 is exactly the limit.
  auto list = [](size_t n) {
    std::string y = "[";
    for (size_t i = 0; i < n; ++i) y += i ? ",1" : "1";
    return y + "]";
  };
  EXPECT_TRUE(LoadBoundedYaml(list(kMaxYamlNodes - 1), "f.yml").has_value());
  EXPECT_FALSE(LoadBoundedYaml(list(kMaxYamlNodes), "f.yml").has_value());
}

TEST(BoundedYamlTest, RefusesNestingDeeperThanTheLimit) {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(LoadBoundedYaml(nested(kMaxYamlDepth), "f.yml").has_value());
  auto deep = LoadBoundedYaml(nested(kMaxYamlDepth + 1), "f.yml");
  ASSERT_FALSE(deep.has_value());
  EXPECT_NE(deep.error().message().find("YAML nesting deeper than 64 levels"), std::string::npos)
      << deep.error().message();
  // Aliases count as deep as they expand: each level nests the previous one.
  std::string y = "l0: &l0 [x]\n";
  for (int i = 1; i <= 70; ++i) {
    y += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [*l" + std::to_string(i - 1) +
         "]\n";
  }
  auto aliased = LoadBoundedYaml(y, "f.yml");
  ASSERT_FALSE(aliased.has_value());
  EXPECT_NE(aliased.error().message().find("deeper than 64"), std::string::npos);
}

TEST(BoundedYamlTest, RefusesTextThatIsNotUtf8WithTheOffset) {
  auto utf16 = LoadBoundedYaml(std::string("\xFF\xFE"
                                           "c\0o\0",
                                           6),
                               "job.yml");
  ASSERT_FALSE(utf16.has_value());
  EXPECT_EQ(utf16.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(utf16.error().message(),
            "job.yml: not UTF-8: byte 0xff at offset 0 (save the file as UTF-8)");
  auto latin1 = ParseJobYaml("command: echo caf\xE9\n", "job.yml");
  ASSERT_FALSE(latin1.has_value());
  EXPECT_EQ(latin1.error().message(),
            "job.yml: not UTF-8: byte 0xe9 at offset 17 (save the file as UTF-8)");
}

TEST(BoundedYamlTest, RefusesAnEscapeThatDecodesToABareByteNamingWhere) {
  // yaml-cpp decodes "\N" to the lone byte 0x85: stored, it would break every JSON reply.
  auto nel = ParseJobYaml("command: \"echo a\\Nb\"\n", "job.yml");
  ASSERT_FALSE(nel.has_value());
  EXPECT_EQ(nel.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(nel.error().message(),
            "job.yml:1:10: a quoted string decodes to byte 0x85, which is not UTF-8 (YAML's \\N "
            "and \\_ escapes do that; write \\u0085 or \\u00a0 instead)");
  auto nbsp_key = LoadBoundedYaml("\"a\\_b\": 1\n", "conda.yml");
  ASSERT_FALSE(nbsp_key.has_value());
  EXPECT_NE(nbsp_key.error().message().find("byte 0xa0"), std::string::npos);
  auto spelled = ParseJobYaml("command: \"echo a\\u0085b\"\n", "job.yml");
  ASSERT_TRUE(spelled.has_value()) << spelled.error().message();
  EXPECT_EQ(spelled->command,
            "echo a\xC2\x85"
            "b");
}

TEST(BoundedYamlTest, ReportsSyntaxErrorsWithTheirPosition) {
  auto bad = LoadBoundedYaml("a: [1, 2\n", "job.yml");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("job.yml:"), std::string::npos);
  EXPECT_NE(bad.error().message().find("invalid YAML"), std::string::npos);
}

}  // namespace
}  // namespace gantry::jobs
