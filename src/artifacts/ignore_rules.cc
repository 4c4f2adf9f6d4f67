#include "artifacts/ignore_rules.h"

namespace gantry::artifacts {
namespace {

constexpr size_t npos = std::string_view::npos;

// Matches `ch` against the bracket expression starting at p[pi] == '['. Returns the index
// just past its ']', or npos when it is unterminated (the '[' is then a literal).
size_t MatchBracket(std::string_view p, size_t pi, unsigned char ch, bool* matched) {
  size_t j = pi + 1;
  bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
  if (negate) ++j;
  bool found = false;
  // A ']' right after the opening is a member, not the end.
  for (bool first = true; j < p.size() && (first || p[j] != ']'); first = false) {
    auto take = [&]() -> unsigned char {
      if (p[j] == '\\' && j + 1 < p.size()) ++j;
      return static_cast<unsigned char>(p[j++]);
    };
    unsigned char lo = take();
    unsigned char hi = lo;
    if (j + 1 < p.size() && p[j] == '-' && p[j + 1] != ']') {
      ++j;
      hi = take();
    }
    if (lo <= ch && ch <= hi) found = true;
  }
  if (j >= p.size()) return npos;
  *matched = found != negate;
  return j + 1;
}

// gitignore's glob: '*' and '?' stay within one path segment; "**" as a whole segment spans
// any number of them. `p` starts at a segment boundary.
bool Glob(std::string_view p, std::string_view t) {
  size_t pi = 0;
  size_t ti = 0;
  while (pi < p.size()) {
    char c = p[pi];
    if (c == '*') {
      bool whole_segment = pi + 1 < p.size() && p[pi + 1] == '*' && (pi == 0 || p[pi - 1] == '/') &&
                           (pi + 2 == p.size() || p[pi + 2] == '/');
      if (whole_segment) {
        if (pi + 2 == p.size()) return true;       // "x/**" or "**": everything below.
        std::string_view rest = p.substr(pi + 3);  // "**/rest": zero or more folders.
        for (size_t k = ti;; ++k) {
          if (Glob(rest, t.substr(k))) return true;
          k = t.find('/', k);
          if (k == npos) return false;
        }
      }
      while (pi < p.size() && p[pi] == '*') ++pi;
      std::string_view rest = p.substr(pi);
      for (size_t k = ti;; ++k) {
        if (Glob(rest, t.substr(k))) return true;
        if (k == t.size() || t[k] == '/') return false;
      }
    }
    if (ti == t.size()) return false;
    if (c == '?') {
      if (t[ti] == '/') return false;
      ++pi, ++ti;
      continue;
    }
    if (c == '[') {
      bool matched = false;
      size_t end = MatchBracket(p, pi, static_cast<unsigned char>(t[ti]), &matched);
      if (end != npos) {
        if (!matched || t[ti] == '/') return false;
        pi = end, ++ti;
        continue;
      }
    }
    if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
    if (t[ti] != c) return false;
    ++pi, ++ti;
  }
  return ti == t.size();
}

bool IsAlwaysIgnored(std::string_view name) { return name == ".git" || name == ".gantry"; }

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == npos ? path : path.substr(slash + 1);
}

}  // namespace

void IgnoreRules::AddPatternsFromFile(const std::string& dir_rel, std::string_view content) {
  std::vector<Pattern>& patterns = by_dir_[dir_rel];
  while (!content.empty()) {
    size_t eol = content.find('\n');
    std::string_view line = content.substr(0, eol);
    content.remove_prefix(eol == npos ? content.size() : eol + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    // Trailing spaces are dropped unless escaped ("a\ ").
    while (line.ends_with(' ') && !line.ends_with("\\ ")) line.remove_suffix(1);
    Pattern pattern{.negated = line.starts_with('!')};
    if (pattern.negated) line.remove_prefix(1);
    pattern.dir_only = line.ends_with('/');
    if (pattern.dir_only) line.remove_suffix(1);
    pattern.anchored = line.find('/') != npos;
    if (line.starts_with('/')) line.remove_prefix(1);
    if (line.empty()) continue;
    pattern.glob = std::string(line);
    patterns.push_back(std::move(pattern));
  }
}

bool IgnoreRules::Excludes(std::string_view rel_path, bool is_dir) const {
  std::string_view name = BaseName(rel_path);
  if (IsAlwaysIgnored(name)) return true;
  if (by_dir_.empty()) return false;
  // Deepest ignore file first; within a file, the last matching pattern decides.
  size_t cut = rel_path.size();
  while (true) {
    cut = cut == 0 ? npos : rel_path.rfind('/', cut - 1);
    std::string_view dir = cut == npos ? std::string_view() : rel_path.substr(0, cut);
    if (auto it = by_dir_.find(dir); it != by_dir_.end()) {
      std::string_view below = cut == npos ? rel_path : rel_path.substr(cut + 1);
      for (auto p = it->second.rbegin(); p != it->second.rend(); ++p) {
        if (p->dir_only && !is_dir) continue;
        if (Glob(p->glob, p->anchored ? below : name)) return !p->negated;
      }
    }
    if (cut == npos) return false;
  }
}

bool IgnoreRules::IsIgnored(std::string_view rel_path, bool is_dir) const {
  for (size_t slash = rel_path.find('/'); slash != npos; slash = rel_path.find('/', slash + 1)) {
    if (Excludes(rel_path.substr(0, slash), /*is_dir=*/true)) return true;
  }
  return Excludes(rel_path, is_dir);
}

}  // namespace gantry::artifacts
