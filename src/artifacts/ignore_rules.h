// IgnoreRules: decides which files a code snapshot leaves out, with .gitignore semantics.
//
// Each folder may hold an ignore file; the first that exists of kFileNames (.gantryignore,
// then .amlignore as Azure ML does, then .gitignore) is used and the others in that folder
// are not read. Its patterns apply to that folder and below. Supported: blank lines, '#'
// comments, '\' escapes, '!' negation, trailing '/' (folders only), a leading or middle '/'
// anchoring the pattern to the file's folder (otherwise it matches a name at any depth),
// '*', '?', '[abc]', '[a-z]', '[!a]', and '**' as "**/x", "x/**" and "x/**/y". A later
// pattern overrides an earlier one, a deeper file overrides a shallower one. As in git, a
// file inside an ignored folder cannot be re-included. Folders or files named .git or
// .gantry are always ignored; the ignore files themselves are kept unless a pattern says
// otherwise. POSIX classes like [[:alpha:]] are not supported.
//
// Thread-safety: const methods may be called concurrently; AddPatternsFromFile() needs
// exclusive access.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::artifacts {

class IgnoreRules {
 public:
  // Ignore-file names, highest priority first.
  static constexpr std::array<std::string_view, 3> kFileNames = {".gantryignore", ".amlignore",
                                                                 ".gitignore"};

  // Adds the patterns of the ignore file found in folder `dir_rel` ("" for the root, else
  // e.g. "src/data"). Calling it again for the same folder appends.
  void AddPatternsFromFile(const std::string& dir_rel, std::string_view content);

  // True when `rel_path` ('/'-separated, relative to the root) is ignored, by a pattern or
  // because one of its parent folders is.
  bool IsIgnored(std::string_view rel_path, bool is_dir) const;
  // The decision for `rel_path` alone, assuming its parent folders are not ignored: what a
  // walker that never descends into ignored folders needs, at a fraction of the cost.
  bool Excludes(std::string_view rel_path, bool is_dir) const;

 private:
  struct Pattern {
    std::string glob;  // Without the '!', trailing '/' and leading '/'.
    bool negated;      // "!pattern": re-includes.
    bool dir_only;     // "pattern/": matches folders only.
    bool anchored;     // Has a '/': matched against the path below the file's folder.
  };

  // Folder of the ignore file -> its patterns in file order.
  std::map<std::string, std::vector<Pattern>, std::less<>> by_dir_;
};

}  // namespace gantry::artifacts
