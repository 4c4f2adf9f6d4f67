"""Which files a code snapshot leaves out: .gitignore semantics, as the C++ CLI applies them.

A port of ``src/artifacts/ignore_rules.cc`` so that ``Experiment.submit`` uploads exactly
what ``gantry job create`` would. Each folder may hold an ignore file; the first that exists
of :data:`IGNORE_FILE_NAMES` (``.gantryignore``, then ``.amlignore`` as Azure ML does, then
``.gitignore``) is used and the others in that folder are not read. Its patterns apply to
that folder and below.

Supported: blank lines, ``#`` comments, ``\\`` escapes, ``!`` negation, trailing ``/``
(folders only), a leading or middle ``/`` anchoring the pattern to the ignore file's folder
(otherwise it matches a name at any depth), ``*``, ``?``, ``[abc]``, ``[a-z]``, ``[!a]``,
and ``**`` as ``**/x``, ``x/**`` and ``x/**/y``. A later pattern overrides an earlier one; a
deeper file overrides a shallower one. As in git, a file inside an ignored folder cannot be
re-included. Folders or files named ``.git`` or ``.gantry`` are always left out; the ignore
files themselves are kept unless a pattern says otherwise. POSIX classes such as
``[[:alpha:]]`` are not supported.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

__all__ = ["IGNORE_FILE_NAMES", "ALWAYS_IGNORED", "IgnoreRules"]

#: Ignore-file names, highest priority first.
IGNORE_FILE_NAMES = (".gantryignore", ".amlignore", ".gitignore")
#: Names never part of a snapshot, whatever the ignore files say.
ALWAYS_IGNORED = frozenset([".git", ".gantry"])


class _Pattern(NamedTuple):
    glob: str        # without the '!', the trailing '/' and a leading '/'
    negated: bool    # "!pattern": re-includes
    dir_only: bool   # "pattern/": matches folders only
    anchored: bool   # has a '/': matched against the path below the ignore file's folder


def _match_bracket(p: str, pi: int, ch: str) -> Tuple[Optional[int], bool]:
    """Matches ``ch`` against the bracket expression at ``p[pi] == '['``. Returns the index
    just past its ']' and whether it matched; (None, False) when unterminated (then the '['
    is a literal)."""
    j = pi + 1
    negate = j < len(p) and p[j] in "!^"
    if negate:
        j += 1
    found = False
    first = True
    while j < len(p) and (first or p[j] != "]"):  # a ']' right after the opening is a member
        first = False
        if p[j] == "\\" and j + 1 < len(p):
            j += 1
        lo = p[j]
        j += 1
        hi = lo
        if j + 1 < len(p) and p[j] == "-" and p[j + 1] != "]":
            j += 1
            if p[j] == "\\" and j + 1 < len(p):
                j += 1
            hi = p[j]
            j += 1
        if lo <= ch <= hi:
            found = True
    if j >= len(p):
        return None, False
    return j + 1, found != negate


def _glob(p: str, t: str) -> bool:
    """gitignore's glob: '*' and '?' stay within one path segment; '**' as a whole segment
    spans any number of them. ``p`` starts at a segment boundary."""
    pi = ti = 0
    while pi < len(p):
        c = p[pi]
        if c == "*":
            whole_segment = (pi + 1 < len(p) and p[pi + 1] == "*" and (pi == 0 or p[pi - 1] == "/")
                             and (pi + 2 == len(p) or p[pi + 2] == "/"))
            if whole_segment:
                if pi + 2 == len(p):
                    return True  # "x/**" or "**": everything below
                rest = p[pi + 3:]  # "**/rest": zero or more folders
                k = ti
                while True:
                    if _glob(rest, t[k:]):
                        return True
                    k = t.find("/", k)
                    if k < 0:
                        return False
                    k += 1
            while pi < len(p) and p[pi] == "*":
                pi += 1
            rest = p[pi:]
            k = ti
            while True:
                if _glob(rest, t[k:]):
                    return True
                if k == len(t) or t[k] == "/":
                    return False
                k += 1
        if ti == len(t):
            return False
        if c == "?":
            if t[ti] == "/":
                return False
            pi += 1
            ti += 1
            continue
        if c == "[":
            end, matched = _match_bracket(p, pi, t[ti])
            if end is not None:
                if not matched or t[ti] == "/":
                    return False
                pi = end
                ti += 1
                continue
        if c == "\\" and pi + 1 < len(p):
            pi += 1
            c = p[pi]
        if t[ti] != c:
            return False
        pi += 1
        ti += 1
    return ti == len(t)


class IgnoreRules:
    """The patterns of the ignore files found so far, by folder."""

    def __init__(self) -> None:
        self._by_dir: Dict[str, List[_Pattern]] = {}

    def add_patterns_from_file(self, dir_rel: str, content: str) -> None:
        """Adds the patterns of the ignore file found in folder ``dir_rel`` ("" for the
        root, else e.g. ``"src/data"``). Calling it again for the same folder appends."""
        patterns = self._by_dir.setdefault(dir_rel, [])
        for line in content.split("\n"):
            if line.endswith("\r"):
                line = line[:-1]
            if not line or line.startswith("#"):
                continue
            # Trailing spaces are dropped unless escaped ("a\ ").
            while line.endswith(" ") and not line.endswith("\\ "):
                line = line[:-1]
            negated = line.startswith("!")
            if negated:
                line = line[1:]
            dir_only = line.endswith("/")
            if dir_only:
                line = line[:-1]
            anchored = "/" in line
            if line.startswith("/"):
                line = line[1:]
            if not line:
                continue
            patterns.append(_Pattern(line, negated, dir_only, anchored))

    def excludes(self, rel_path: str, is_dir: bool) -> bool:
        """The decision for ``rel_path`` alone, assuming its parent folders are not ignored:
        what a walker that never enters ignored folders needs."""
        slash = rel_path.rfind("/")
        name = rel_path[slash + 1:]
        if name in ALWAYS_IGNORED:
            return True
        if not self._by_dir:
            return False
        # Deepest ignore file first; within a file, the last matching pattern decides.
        cut = len(rel_path)
        while True:
            cut = -1 if cut <= 0 else rel_path.rfind("/", 0, cut)
            folder = "" if cut < 0 else rel_path[:cut]
            patterns = self._by_dir.get(folder)
            if patterns:
                below = rel_path if cut < 0 else rel_path[cut + 1:]
                for p in reversed(patterns):
                    if p.dir_only and not is_dir:
                        continue
                    if _glob(p.glob, below if p.anchored else name):
                        return not p.negated
            if cut < 0:
                return False

    def is_ignored(self, rel_path: str, is_dir: bool) -> bool:
        """True when ``rel_path`` ('/'-separated, relative to the root) is ignored, by a
        pattern or because one of its parent folders is."""
        slash = rel_path.find("/")
        while slash >= 0:
            if self.excludes(rel_path[:slash], True):
                return True
            slash = rel_path.find("/", slash + 1)
        return self.excludes(rel_path, is_dir)
