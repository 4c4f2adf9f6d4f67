#include "artifacts/ignore_rules.h"

#include <gtest/gtest.h>

#include <utility>

namespace gantry::artifacts {
namespace {

struct Case {
  const char* name;
  // (folder, ignore file content) in the order a walker finds them.
  std::vector<std::pair<std::string, std::string>> files;
  // (path, is_dir, ignored)
  std::vector<std::tuple<std::string, bool, bool>> checks;
};

constexpr bool kDir = true;
constexpr bool kFile = false;

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"name pattern matches at any depth",
       {{"", "*.log\n"}},
       {{"a.log", kFile, true},
        {"src/deep/x.log", kFile, true},
        {"a.txt", kFile, false},
        {"log", kFile, false}}},
      {"negation re-includes",
       {{"", "*.log\n!keep.log\n"}},
       {{"b.log", kFile, true}, {"keep.log", kFile, false}, {"sub/keep.log", kFile, false}}},
      {"later pattern wins", {{"", "!keep.log\n*.log\n"}}, {{"keep.log", kFile, true}}},
      {"leading slash anchors to the folder",
       {{"", "/build\n"}},
       {{"build", kDir, true}, {"build/x.o", kFile, true}, {"src/build", kDir, false}}},
      {"middle slash anchors too, and * stays in one segment",
       {{"", "doc/*.txt\n"}},
       {{"doc/a.txt", kFile, true},
        {"x/doc/a.txt", kFile, false},
        {"doc/sub/a.txt", kFile, false}}},
      {"trailing slash matches folders only",
       {{"", "out/\n"}},
       {{"out", kDir, true},
        {"out", kFile, false},
        {"src/out", kDir, true},
        {"out/model.pt", kFile, true}}},
      {"leading **/",
       {{"", "**/cache\n"}},
       {{"cache", kDir, true}, {"a/b/cache", kFile, true}, {"a/cache2", kFile, false}}},
      {"trailing /**",
       {{"", "data/**\n"}},
       {{"data", kDir, false},
        {"data/x", kFile, true},
        {"data/a/b", kFile, true},
        {"src/data/x", kFile, false}}},
      {"middle /**/",
       {{"", "a/**/b\n"}},
       {{"a/b", kFile, true},
        {"a/x/b", kFile, true},
        {"a/x/y/b", kFile, true},
        {"a/xb", kFile, false},
        {"c/a/b", kFile, false}}},
      {"? and brackets",
       {{"", "file?.txt\n[ab].c\nn[!0-9]\nx[0-9]\n"}},
       {{"file1.txt", kFile, true},
        {"file10.txt", kFile, false},
        {"a.c", kFile, true},
        {"c.c", kFile, false},
        {"na", kFile, true},
        {"n1", kFile, false},
        {"x5", kFile, true},
        {"xa", kFile, false}}},
      {"comments, blanks, escapes, CRLF, trailing spaces",
       {{"", "# comment\n\n\\#hash\n\\!bang\r\nspaced   \n"}},
       {{"# comment", kFile, false},
        {"#hash", kFile, true},
        {"!bang", kFile, true},
        {"spaced", kFile, true}}},
      {"files in an ignored folder cannot be re-included",
       {{"", "build/\n!build/keep.txt\n"}},
       {{"build/keep.txt", kFile, true}}},
      {"but a folder's contents can be ignored selectively",
       {{"", "build/*\n!build/keep.txt\n"}},
       {{"build/keep.txt", kFile, false}, {"build/x.o", kFile, true}}},
      {"deeper file overrides and is scoped to its folder",
       {{"", "*.txt\n"}, {"sub", "!notes.txt\n*.md\n/gen\n"}},
       {{"notes.txt", kFile, true},
        {"sub/notes.txt", kFile, false},
        {"sub/deep/notes.txt", kFile, false},
        {"x.md", kFile, false},
        {"sub/deep/x.md", kFile, true},
        {"sub/gen", kDir, true},
        {"sub/x/gen", kDir, false},
        {"gen", kDir, false}}},
      {".git and .gantry are always ignored; ignore files are kept",
       {{"", "!.git\n!.gantry/\n"}},
       {{".git", kDir, true},
        {"src/.git", kFile, true},
        {".gantry/cache", kFile, true},
        {".gitignore", kFile, false},
        {".amlignore", kFile, false},
        {".github", kDir, false}}},
      {"no ignore files", {}, {{"anything", kFile, false}, {".git/HEAD", kFile, true}}},
  };
  return *cases;
}

TEST(IgnoreRulesTest, Table) {
  for (const Case& c : Cases()) {
    IgnoreRules rules;
    for (const auto& [dir, content] : c.files) rules.AddPatternsFromFile(dir, content);
    for (const auto& [path, is_dir, ignored] : c.checks) {
      EXPECT_EQ(rules.IsIgnored(path, is_dir), ignored)
          << c.name << ": " << path << (is_dir ? "/" : "");
    }
  }
}

TEST(IgnoreRulesTest, ExcludesJudgesThePathAloneAsAWalkerWould) {
  IgnoreRules rules;
  rules.AddPatternsFromFile("", "build/\n");
  EXPECT_TRUE(rules.Excludes("build", kDir));
  // The walker never asks about this file, since it does not enter build/.
  EXPECT_FALSE(rules.Excludes("build/keep.txt", kFile));
  EXPECT_TRUE(rules.IsIgnored("build/keep.txt", kFile));
}

}  // namespace
}  // namespace gantry::artifacts
