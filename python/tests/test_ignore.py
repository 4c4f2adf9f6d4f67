"""gantry._ignore matches the C++ IgnoreRules (src/artifacts/ignore_rules_test.cc's table)."""

import pytest

from gantry._ignore import IgnoreRules

D, F = True, False

CASES = [
    ("name pattern matches at any depth", [("", "*.log\n")],
     [("a.log", F, True), ("src/deep/x.log", F, True), ("a.txt", F, False), ("log", F, False)]),
    ("negation re-includes", [("", "*.log\n!keep.log\n")],
     [("b.log", F, True), ("keep.log", F, False), ("sub/keep.log", F, False)]),
    ("later pattern wins", [("", "!keep.log\n*.log\n")], [("keep.log", F, True)]),
    ("leading slash anchors to the folder", [("", "/build\n")],
     [("build", D, True), ("build/x.o", F, True), ("src/build", D, False)]),
    ("middle slash anchors too, and * stays in one segment", [("", "doc/*.txt\n")],
     [("doc/a.txt", F, True), ("x/doc/a.txt", F, False), ("doc/sub/a.txt", F, False)]),
    ("trailing slash matches folders only", [("", "out/\n")],
     [("out", D, True), ("out", F, False), ("src/out", D, True), ("out/model.pt", F, True)]),
    ("leading **/", [("", "**/cache\n")],
     [("cache", D, True), ("a/b/cache", F, True), ("a/cache2", F, False)]),
    ("trailing /**", [("", "data/**\n")],
     [("data", D, False), ("data/x", F, True), ("data/a/b", F, True), ("src/data/x", F, False)]),
    ("middle /**/", [("", "a/**/b\n")],
     [("a/b", F, True), ("a/x/b", F, True), ("a/x/y/b", F, True), ("a/xb", F, False),
      ("c/a/b", F, False)]),
    ("? and brackets", [("", "file?.txt\n[ab].c\nn[!0-9]\nx[0-9]\n")],
     [("file1.txt", F, True), ("file10.txt", F, False), ("a.c", F, True), ("c.c", F, False),
      ("na", F, True), ("n1", F, False), ("x5", F, True), ("xa", F, False)]),
    ("comments, blanks, escapes, CRLF, trailing spaces",
     [("", "# comment\n\n\\#hash\n\\!bang\r\nspaced   \n")],
     [("# comment", F, False), ("#hash", F, True), ("!bang", F, True), ("spaced", F, True)]),
    ("files in an ignored folder cannot be re-included", [("", "build/\n!build/keep.txt\n")],
     [("build/keep.txt", F, True)]),
    ("but a folder's contents can be ignored selectively", [("", "build/*\n!build/keep.txt\n")],
     [("build/keep.txt", F, False), ("build/x.o", F, True)]),
    ("deeper file overrides and is scoped to its folder",
     [("", "*.txt\n"), ("sub", "!notes.txt\n*.md\n/gen\n")],
     [("notes.txt", F, True), ("sub/notes.txt", F, False), ("sub/deep/notes.txt", F, False),
      ("x.md", F, False), ("sub/deep/x.md", F, True), ("sub/gen", D, True), ("sub/x/gen", D, False),
      ("gen", D, False)]),
    (".git and .gantry are always ignored; ignore files are kept", [("", "!.git\n!.gantry/\n")],
     [(".git", D, True), ("src/.git", F, True), (".gantry/cache", F, True), (".gitignore", F, False),
      (".amlignore", F, False), (".github", D, False)]),
    ("no ignore files", [], [("anything", F, False), (".git/HEAD", F, True)]),
    ("escaped trailing space and bracket members", [("", "a\\ \n[]x]\n[a-c\\]]z\n[unterminated\n")],
     [("a ", F, True), ("a", F, False), ("]", F, True), ("x", F, True), ("bz", F, True),
      ("]z", F, True), ("dz", F, False), ("[unterminated", F, True)]),
]


@pytest.mark.parametrize("name, files, checks", CASES, ids=[c[0] for c in CASES])
def test_table(name, files, checks):
    rules = IgnoreRules()
    for folder, content in files:
        rules.add_patterns_from_file(folder, content)
    for path, is_dir, ignored in checks:
        assert rules.is_ignored(path, is_dir) == ignored, (path, is_dir)


def test_excludes_judges_the_path_alone_as_a_walker_would():
    rules = IgnoreRules()
    rules.add_patterns_from_file("", "build/\n")
    assert rules.excludes("build", True)
    assert not rules.excludes("build/keep.txt", False)  # never asked: the walker skips build/
    assert rules.is_ignored("build/keep.txt", False)
