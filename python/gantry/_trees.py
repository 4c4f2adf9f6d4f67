"""Read trees back from the artifact store: list their files, download them safely.

A tree (``GET /api/v1/trees/{id}``) is ``{"entries": [{"path", "blob", "size", "mode"}]}``;
a link entry also has ``"link": TARGET`` (its blob is the target's text). Each file's bytes
are ``GET /api/v1/blobs/{sha256}``.

What the server sends is checked as the C++ client checks it (``artifacts/tree.h``,
``artifacts/download_folder.h``), all of it before the first file is written:

* paths are canonical and relative (no ``..``, no leading ``/``, no empty or ``.`` part, no
  backslash or control character), never inside ``.git`` or ``.gantry``;
* links stay inside the tree, even when resolved through the tree's other links;
* no folder on the way is a symlink or a file already, so nothing is written through a
  link; a link at the final name is replaced, not followed;
* an existing file is replaced only with ``overwrite``;
* modes are masked to 0o777: never setuid, setgid or sticky.

Files are streamed into a temporary file in their folder (opened without following
symlinks), checked against their SHA-256 and size, and renamed into place.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _paths
from ._files import link_atomically, write_atomically
from ._http import Client
from .errors import AlreadyExistsError, DataLossError, InternalError, InvalidArgumentError

__all__ = ["tree_entries", "download_tree", "safe_relative", "tree_path_problem",
           "check_entries", "plan_download", "SafeFolder"]

MAX_PATH_BYTES = 4096
MAX_PART_BYTES = 255
MAX_ENTRY_BYTES = 1 << 40
_MAX_HOPS = 40
_RESERVED = (".git", ".gantry")
# What a download's temporary files are called until they are renamed into place.
_TEMP_PREFIX = ".gantry-download-"


def tree_path_problem(path: Any) -> Optional[str]:
    """Why ``path`` is not a canonical relative tree path, or None when it is one."""
    if not isinstance(path, str):
        return "not a string"
    if not path:
        return "empty"
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if len(encoded) > MAX_PATH_BYTES:
        return "longer than %d bytes" % MAX_PATH_BYTES
    if path.startswith("/"):
        return "absolute"
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in path):
        return "NUL, control character or backslash"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return "empty, '.' or '..' part"
        if len(part.encode("utf-8")) > MAX_PART_BYTES:
            return "a part is longer than %d bytes" % MAX_PART_BYTES
    return None


def safe_relative(path: str) -> bool:
    """True for a canonical relative tree path (see :func:`tree_path_problem`)."""
    return tree_path_problem(path) is None


def _has_reserved_part(path: str) -> bool:
    return any(part.lower() in _RESERVED for part in path.split("/"))


def _link_problem(path: str, target: Any) -> Optional[str]:
    """Lexical check of a link's target: relative and never above the root."""
    if not isinstance(target, str) or not target:
        return "empty target"
    if len(target.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        return "target too long"
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in target):
        return "unsafe characters"
    if target.startswith("/"):
        return "absolute target; links must stay inside the tree"
    depth = path.count("/")
    for part in target.split("/"):
        if part in ("", "."):
            continue
        depth += -1 if part == ".." else 1
        if depth < 0:
            return "target leads outside the tree"
    return None


def _resolve_links(entries: List[Dict[str, Any]]) -> Optional[str]:
    """The path of a link that, followed through the tree's other links as the kernel would
    once written, leads outside the tree or into a loop; None when every link stays in."""
    links = {e["path"]: e["link"] for e in entries if e.get("link")}
    done: Dict[str, Optional[List[str]]] = {}
    active = set()

    def resolve(path: str, nesting: int) -> Optional[List[str]]:
        if path in done:
            return done[path]
        if nesting > _MAX_HOPS or path in active:
            return None
        active.add(path)
        at: Optional[List[str]] = path.split("/")[:-1]
        for part in links[path].split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not at:
                    at = None
                    break
                at.pop()
                continue
            at.append(part)
            joined = "/".join(at)
            if joined in links:
                at = resolve(joined, nesting + 1)
                if at is None:
                    break
                at = list(at)
        active.discard(path)
        done[path] = at
        return at

    for path in sorted(links):
        if resolve(path, 0) is None:
            return path
    return None


def check_entries(entries: Any, what: str) -> List[Dict[str, Any]]:
    """Validates a tree's entries as the server's ``Tree::FromJson`` does; returns them with
    modes masked to 0o777. InvalidArgumentError naming the path otherwise. ``what`` names
    the tree in messages ("tree 1a2b...")."""
    if not isinstance(entries, list):
        raise InternalError("%s has no list of entries" % what)
    out: List[Dict[str, Any]] = []
    seen = set()
    for e in entries:
        if not isinstance(e, dict):
            raise InvalidArgumentError("%s has an entry that is not an object: %r" % (what, e))
        path = e.get("path")
        problem = tree_path_problem(path)
        if problem:
            raise InvalidArgumentError("%s lists an unsafe path %r (%s)" % (what, path, problem))
        blob, size, mode = e.get("blob"), e.get("size"), e.get("mode", 0o644)
        if not isinstance(blob, str) or len(blob) != 64 or any(c not in "0123456789abcdef" for c in blob):
            raise InvalidArgumentError("%s: %r has no SHA-256 blob" % (what, path))
        for field, value in (("size", size), ("mode", mode)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidArgumentError("%s: %r has a bad %s" % (what, path, field))
        if size > MAX_ENTRY_BYTES:
            raise InvalidArgumentError("%s: %r is larger than 1 TiB" % (what, path))
        link = e.get("link")
        if link is not None:
            problem = _link_problem(path, link)
            if problem:
                raise InvalidArgumentError("%s: link %r -> %r: %s" % (what, path, link, problem))
        if path in seen:
            raise InvalidArgumentError("%s lists %r twice" % (what, path))
        seen.add(path)
        out.append(dict(e, mode=mode & 0o777))
    # A file or link may not sit where another entry needs a folder.
    for e in out:
        parts = e["path"].split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in seen:
                raise InvalidArgumentError("%s: %r is below %r, which is a file or link"
                                           % (what, e["path"], "/".join(parts[:i])))
    bad = _resolve_links(out)
    if bad is not None:
        raise InvalidArgumentError("%s: link %r leads outside the tree (or into a loop of links)"
                                   % (what, bad))
    return out


def tree_entries(client: Client, tree_id: str) -> List[Dict[str, Any]]:
    """The entries of tree ``tree_id``, as the server lists them (sorted by path), checked
    by :func:`check_entries`."""
    if not isinstance(tree_id, str) or not tree_id:
        raise InternalError("no tree id to read")
    body = client.get(_paths.tree(tree_id)) or {}
    if not isinstance(body.get("entries"), list):
        raise InternalError("GET /api/v1/trees/%s answered without entries" % tree_id)
    return check_entries(body["entries"], "tree %s" % tree_id)


def plan_download(dest: str, paths: List[str], overwrite: bool, hint: str) -> List[str]:
    """Checks that every one of ``paths`` (tree paths) may be written below folder ``dest``
    and returns their local paths. InvalidArgumentError for a ``.git``/``.gantry`` part or
    a folder on the way that is a symlink; AlreadyExistsError for a file on the way, a
    folder at a path, or (without ``overwrite``) anything at a path; ``hint`` says how to
    allow overwriting ("overwrite=True")."""
    kinds: Dict[str, str] = {}

    def kind(rel: str) -> str:
        if rel not in kinds:
            try:
                mode = os.lstat(os.path.join(dest, *rel.split("/"))).st_mode
                kinds[rel] = ("link" if stat.S_ISLNK(mode) else
                              "folder" if stat.S_ISDIR(mode) else "file")
            except FileNotFoundError:
                kinds[rel] = "missing"
            except NotADirectoryError:
                kinds[rel] = "missing"  # a file on the way: reported for that prefix
        return kinds[rel]

    targets = []
    for path in paths:
        if _has_reserved_part(path):
            raise InvalidArgumentError("refusing to download %r: downloads never write into "
                                       ".git or .gantry" % path)
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            k = kind(prefix)
            if k == "missing":
                break
            where = os.path.join(dest, *parts[:i])
            if k == "link":
                raise InvalidArgumentError("refusing to download %r: %s is a symlink, and "
                                           "downloads never write through one" % (path, where))
            if k == "file":
                raise AlreadyExistsError("cannot download %r: %s is a file, not a folder"
                                         % (path, where))
        target = os.path.join(dest, *parts)
        k = kind(path)
        if k == "folder":
            raise AlreadyExistsError("cannot download %r: %s is a folder" % (path, target))
        if k != "missing" and not overwrite:
            raise AlreadyExistsError("%s already exists; pass %s to replace it" % (target, hint))
        targets.append(target)
    return targets


class SafeFolder:
    """Writes files and links below ``root`` after :func:`plan_download` approved them:
    each folder below the root is opened without following symlinks, each file goes to a
    temporary file first and is renamed into place (replacing, never following, a link
    there), with its mode masked to 0o777."""

    def __init__(self, root: str, overwrite: bool, hint: str = "overwrite=True") -> None:
        self.root = root
        self.overwrite = overwrite
        self.hint = hint
        os.makedirs(root, exist_ok=True)

    def _open_parent(self, rel: str) -> int:
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        parts = rel.split("/")[:-1]
        try:
            for i, part in enumerate(parts):
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise InvalidArgumentError(
                            "refusing to download %r: %s is not a folder (a symlink or a file)"
                            % (rel, os.path.join(self.root, *parts[:i + 1]))) from None
                    raise
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _refuse_existing(self, dir_fd: int, name: str, rel: str) -> Callable[[], None]:
        """The check before a rename: without overwrite, nothing at ``name`` may be replaced."""
        def check() -> None:
            if self.overwrite:
                return
            # Something may have appeared since the plan looked: still never replace it.
            try:
                os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                return
            raise AlreadyExistsError("%s already exists; pass %s to replace it"
                                     % (os.path.join(self.root, *rel.split("/")), self.hint))
        return check

    def write(self, rel: str, mode: int, fill: Callable[[Any], None]) -> str:
        """Writes file ``rel``: ``fill(fileobj)`` writes the content (and may raise to abandon
        it). Returns the local path."""
        dir_fd = self._open_parent(rel)
        try:
            name = rel.rsplit("/", 1)[-1]
            write_atomically(name, fill, dir_fd=dir_fd, mode=mode,
                             check=self._refuse_existing(dir_fd, name, rel), prefix=_TEMP_PREFIX)
        finally:
            os.close(dir_fd)
        return os.path.join(self.root, *rel.split("/"))

    def link(self, rel: str, target: str) -> str:
        """Creates ``rel`` as a symlink to ``target``; returns the local path."""
        dir_fd = self._open_parent(rel)
        try:
            name = rel.rsplit("/", 1)[-1]
            link_atomically(name, target, dir_fd=dir_fd,
                            check=self._refuse_existing(dir_fd, name, rel), prefix=_TEMP_PREFIX)
        finally:
            os.close(dir_fd)
        return os.path.join(self.root, *rel.split("/"))


def fetch_checked(client: Client, path: str, f: Any, blob: Optional[str], size: Optional[int],
                  what: str) -> Tuple[int, str]:
    """Streams ``GET path`` into ``f``; DataLossError when ``blob``/``size`` (when given) do
    not match what arrived."""
    got_size, sha = client.download(path, f)
    if (blob is not None and sha != blob) or (size is not None and got_size != size):
        raise DataLossError("downloaded bytes of %s do not match their hash" % what)
    return got_size, sha


def download_tree(client: Client, tree_id: str, dest: str, overwrite: bool = False,
                  hint: str = "overwrite=True") -> List[str]:
    """Downloads every file and link of tree ``tree_id`` below folder ``dest``; returns the
    local paths in tree order. Everything is checked before anything is written (see the
    module's notes); without ``overwrite``, AlreadyExistsError when one of the paths
    exists already."""
    entries = tree_entries(client, tree_id)
    dest = os.path.abspath(dest)
    targets = plan_download(dest, [e["path"] for e in entries], overwrite, hint)
    folder = SafeFolder(dest, overwrite, hint)
    for e in entries:
        if e.get("link"):
            folder.link(e["path"], e["link"])
            continue
        blob_path = _paths.blob(e["blob"])
        folder.write(e["path"], e["mode"], lambda f, e=e, blob_path=blob_path: fetch_checked(
            client, blob_path, f, e["blob"], e["size"], repr(e["path"])))
    return targets
