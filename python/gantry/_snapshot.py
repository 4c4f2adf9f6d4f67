"""Snapshot a local folder and upload it to the workspace's artifact store as a tree.

Mirrors the C++ CLI (``src/cli/uploader.cc``, ``src/artifacts/snapshot.cc``) so a project
submitted from Python gets the same tree, and the same tree id, as ``gantry job create``:

1. walk the folder, honouring ``.gantryignore`` / ``.amlignore`` / ``.gitignore`` (see
   :mod:`gantry._ignore`), never entering ``.git`` or ``.gantry``;
2. SHA-256 each file, reusing hashes cached by (relative path, size, mtime in ns);
3. ``POST /api/v1/blobs/missing`` with every hash, ``PUT /api/v1/blobs/{sha}`` for each
   one the server lacks, then ``POST /api/v1/trees``, whose answer is the tree id.

Walk rules: special files are skipped; modes are 0755 (493) when the owner may execute the
file, else 0644 (420). A symlink is never followed: one whose target stays inside the folder
is recorded as a link entry (``"link": TARGET``, its blob the target's text) and comes back
as a link where the tree is written out; one that leads outside (an absolute path elsewhere,
or ``../`` above the folder) is refused with InvalidArgumentError naming it, so that
``code/creds -> ~/.ssh/id_rsa`` never uploads the key. An absolute target inside the folder
is recorded relative. ``follow_links=True`` (a run's own outputs) includes a link to a file
with that file's content instead and skips links to folders, as the runner does.

The hash cache lives in ``$XDG_CACHE_HOME/gantry/snapshots-py/<sha256 of the folder's
absolute path>.json`` (``~/.cache`` without XDG_CACHE_HOME). Files modified less than two
seconds before the snapshot started are hashed but not cached, so that an edit landing in
the same timestamp tick as the hash cannot go unnoticed. A missing or damaged cache only
costs time; failing to write it is not an error.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import stat
import tempfile
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

from . import _paths
from ._files import write_atomically
from ._http import Client
from ._ignore import IGNORE_FILE_NAMES, IgnoreRules
from ._trees import check_entries, tree_path_problem
from .errors import (FailedPreconditionError, InternalError, InvalidArgumentError,
                     NotFoundError, PermissionDeniedError)

__all__ = ["Entry", "Snapshot", "UploadStats", "cache_file_for", "take_snapshot",
           "upload_blobs", "upload_snapshot", "upload_folder", "expand_local_paths", "snapshot_local_paths",
           "snapshot_named"]

_log = logging.getLogger("gantry.snapshot")

_RACY_WINDOW_NS = 2_000_000_000
_CACHE_VERSION = 1
# Hashes per POST /blobs/missing: keeps each body far below the server's 16 MiB JSON limit.
_MISSING_BATCH = 10_000
_CHUNK = 1 << 20


class Entry(NamedTuple):
    path: str   # '/'-separated, relative to the root
    blob: str   # SHA-256 hex of the content (of a link: of its target text)
    size: int
    mode: int   # 0o755 or 0o644
    link: Optional[str] = None  # a symlink's relative target; None for a file


class Snapshot(NamedTuple):
    entries: List[Entry]            # sorted by path (byte order)
    blob_sources: Dict[str, str]    # SHA-256 -> one local file with that content
    hashed_files: int               # files hashed because the cache could not vouch for them
    link_blobs: Optional[Dict[str, bytes]] = None  # SHA-256 -> a link entry's target text


def link_entry(path: str, target: str) -> Tuple[Entry, bytes]:
    """The entry of a link at ``path`` to ``target``, and its blob (the target's text)."""
    data = target.encode("utf-8", "surrogateescape")
    return Entry(path, hashlib.sha256(data).hexdigest(), len(data), 0o644, target), data


def tree_json(entries: List[Entry]) -> Dict[str, List[Dict[str, object]]]:
    """The manifest ``POST /api/v1/trees`` takes for ``entries``."""
    out: List[Dict[str, object]] = []
    for e in entries:
        item: Dict[str, object] = {"path": e.path, "blob": e.blob, "size": e.size, "mode": e.mode}
        if e.link is not None:
            item["link"] = e.link
        out.append(item)
    return {"entries": out}


class UploadStats:
    """What one upload did: files and bytes in the tree, and how many were sent."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.sent_files = 0
        self.sent_bytes = 0
        self.hashed_files = 0

    def __repr__(self) -> str:
        return ("UploadStats(files=%d, bytes=%d, sent_files=%d, sent_bytes=%d, hashed_files=%d)"
                % (self.files, self.bytes, self.sent_files, self.sent_bytes, self.hashed_files))


def _os_error(e: OSError, what: str) -> Exception:
    if isinstance(e, FileNotFoundError):
        return NotFoundError("%s: %s" % (what, e.strerror))
    if isinstance(e, PermissionError):
        return PermissionDeniedError("%s: %s" % (what, e.strerror))
    return InternalError("%s: %s" % (what, e.strerror or e))


def cache_file_for(root: str) -> str:
    """The hash-cache file used for folder ``root``."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not base:
        home = os.environ.get("HOME") or ""
        base = os.path.join(home, ".cache") if home else tempfile.gettempdir()
    key = hashlib.sha256(os.path.normpath(os.path.abspath(root)).encode("utf-8", "surrogateescape"))
    return os.path.join(base, "gantry", "snapshots-py", key.hexdigest() + ".json")


def _read_cache(path: str, root: str) -> Dict[str, Tuple[int, int, str]]:
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
        if data.get("version") != _CACHE_VERSION or data.get("root") != root:
            return {}
        out = {}
        for rel, (size, mtime_ns, sha) in data["files"].items():
            if isinstance(size, int) and isinstance(mtime_ns, int) and isinstance(sha, str) \
                    and len(sha) == 64:
                out[rel] = (size, mtime_ns, sha)
        return out
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # damaged or absent: a cache only saves time


def _write_cache(path: str, root: str, files: Dict[str, Tuple[int, int, str]]) -> None:
    data = json.dumps({"version": _CACHE_VERSION, "root": root,
                       "files": {k: list(v) for k, v in files.items()}}, separators=(",", ":"))
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, lambda f: f.write(data.encode("utf-8")), prefix=".tmp-")
    except OSError as e:  # best effort
        _log.debug("cannot write the snapshot hash cache %s: %s", path, e)


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


class _Found(NamedTuple):
    rel: str
    abs: str
    size: int
    mtime_ns: int
    mode: int
    is_link: bool = False


def _walk(root: str, follow_links: bool = False) -> List[_Found]:
    """The files below ``root`` that the ignore files let through. Reads each folder's
    ignore file before judging its entries and never enters an ignored folder."""
    rules = IgnoreRules()
    found: List[_Found] = []
    stack = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            names = sorted(os.listdir(folder))
        except OSError as e:
            raise _os_error(e, "cannot read folder " + folder) from None
        for ignore_file in IGNORE_FILE_NAMES:
            if ignore_file in names:
                path = os.path.join(folder, ignore_file)
                try:
                    with open(path, "rb") as f:
                        content = f.read().decode("utf-8", "surrogateescape")
                except OSError as e:
                    raise _os_error(e, "cannot read " + path) from None
                rules.add_patterns_from_file(rel, content)
                break
        subdirs = []
        for name in names:
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidArgumentError(
                    "file name is not valid UTF-8: %r in %s" % (name, folder)) from None
            child = name if not rel else rel + "/" + name
            full = os.path.join(folder, name)
            try:
                st = os.lstat(full)
                is_link = stat.S_ISLNK(st.st_mode)
                if is_link and not follow_links:
                    # Never followed, so whether it names a folder is unknown: a pattern for
                    # either kind ("data/" as well as "data") leaves it out.
                    if not rules.excludes(child, False) and not rules.excludes(child, True):
                        found.append(_Found(child, full, 0, 0, 0o644, True))
                    continue
                if is_link:
                    st = os.stat(full)
            except OSError:
                continue  # vanished mid-walk, or a broken symlink
            if stat.S_ISDIR(st.st_mode):
                if not is_link and not rules.excludes(child, True):
                    subdirs.append((full, child))
            elif stat.S_ISREG(st.st_mode) and not rules.excludes(child, False):
                found.append(_Found(child, full, st.st_size, st.st_mtime_ns,
                                    0o755 if st.st_mode & stat.S_IXUSR else 0o644))
        stack.extend(reversed(subdirs))
    return found


def _link_target(root: str, full: str) -> str:
    """The target of link ``full``; an absolute one inside ``root`` made relative to the
    link's folder."""
    try:
        target = os.readlink(full)
    except OSError as e:
        raise _os_error(e, "cannot read the link " + full) from None
    if os.path.isabs(target):
        normal = os.path.normpath(target)
        if normal == root or normal.startswith(root.rstrip(os.sep) + os.sep):
            return os.path.relpath(normal, os.path.dirname(full)).replace(os.sep, "/")
    return target


def _outside(rel: str, target: str, root: str, why: str) -> Exception:
    return InvalidArgumentError(
        "'%s' is a symlink to '%s', which leads outside %s (%s); snapshots never follow links "
        "out of the folder: copy the file in, or list it in .gantryignore" % (rel, target, root, why))


def take_snapshot(root: str, cache_file: Optional[str] = None,
                  follow_links: bool = False) -> Snapshot:
    """Snapshots folder ``root``: its tree entries and, per hash, one file to upload.

    ``cache_file`` is the hash cache (see the module's notes); None means no cache.
    ``follow_links`` takes links as the runner takes a run's outputs (see the module's
    notes). NotFoundError when ``root`` does not exist, InvalidArgumentError when it is not
    a folder, a file's name is not valid UTF-8, or a link leads outside ``root``.
    """

    start_ns = time.time_ns()
    root = os.path.abspath(root)
    try:
        st = os.stat(root)
    except FileNotFoundError:
        raise NotFoundError("snapshot folder does not exist: " + root) from None
    except OSError as e:
        raise _os_error(e, "cannot read " + root) from None
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidArgumentError("snapshot root is not a folder: " + root)

    files = _walk(root, follow_links)
    files.sort(key=lambda f: f.rel.encode("utf-8"))
    old_cache = _read_cache(cache_file, root) if cache_file else {}
    new_cache: Dict[str, Tuple[int, int, str]] = {}
    entries: List[Entry] = []
    sources: Dict[str, str] = {}
    links: Dict[str, bytes] = {}
    hashed = 0
    for f in files:
        problem = tree_path_problem(f.rel)
        if problem:
            raise InvalidArgumentError("cannot snapshot %s: %s" % (f.abs, problem))
        if f.is_link:
            target = _link_target(root, f.abs)
            entry, data = link_entry(f.rel, target)
            try:
                check_entries([entry._asdict()], "folder " + root)
            except InvalidArgumentError as e:
                raise _outside(f.rel, target, root, str(e)) from None
            links.setdefault(entry.blob, data)
            entries.append(entry)
            continue
        hit = old_cache.get(f.rel)
        if hit is not None and hit[0] == f.size and hit[1] == f.mtime_ns:
            sha = hit[2]
        else:
            try:
                sha = _sha256_file(f.abs)
            except FileNotFoundError:
                continue  # deleted mid-walk
            except OSError as e:
                raise _os_error(e, "cannot read " + f.abs) from None
            hashed += 1
        if f.mtime_ns < start_ns - _RACY_WINDOW_NS:
            new_cache[f.rel] = (f.size, f.mtime_ns, sha)
        sources.setdefault(sha, f.abs)
        entries.append(Entry(f.rel, sha, f.size, f.mode))
    if links:  # through each other, links may still lead out
        try:
            check_entries([e._asdict() for e in entries], "folder " + root)
        except InvalidArgumentError as e:
            raise InvalidArgumentError("%s; snapshots never follow links out of the folder"
                                       % e) from None
    if cache_file and new_cache != old_cache:
        _write_cache(cache_file, root, new_cache)
    return Snapshot(entries, sources, hashed, links)


def upload_blobs(client: Client, snapshot: Snapshot) -> Tuple[int, int]:
    """Sends the snapshot's blobs that the server lacks; returns (files, bytes) sent."""
    shas = sorted(set(snapshot.blob_sources) | set(snapshot.link_blobs or {}))
    missing: List[str] = []
    for i in range(0, len(shas), _MISSING_BATCH):
        answer = client.post(_paths.blobs_missing(), {"blobs": shas[i:i + _MISSING_BATCH]}) or {}
        missing.extend(answer.get("missing") or [])
    sent_files = sent_bytes = 0
    link_blobs = snapshot.link_blobs or {}
    for sha in missing:
        if sha in link_blobs:
            client.put_bytes(_paths.blob(sha), link_blobs[sha])
            sent_files += 1
            sent_bytes += len(link_blobs[sha])
            continue
        path = snapshot.blob_sources[sha]
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise _os_error(e, "cannot read " + path) from None
        if hashlib.sha256(data).hexdigest() != sha:
            raise FailedPreconditionError(
                "%s changed while it was being uploaded; submit again" % path)
        client.put_bytes(_paths.blob(sha), data)
        sent_files += 1
        sent_bytes += len(data)
    return sent_files, sent_bytes


def upload_snapshot(client: Client, snapshot: Snapshot, stats: Optional[UploadStats] = None) -> str:
    """Sends the blobs the server lacks, then the tree; returns the tree id."""
    sent_files, sent_bytes = upload_blobs(client, snapshot)
    answer = client.post(_paths.trees(), tree_json(snapshot.entries)) or {}
    tree_id = answer.get("id")
    if not isinstance(tree_id, str) or not tree_id:
        raise InternalError("POST /api/v1/trees answered without a tree id: %r" % (answer,))
    if stats is not None:
        stats.files += len(snapshot.entries)
        stats.bytes += sum(e.size for e in snapshot.entries)
        stats.sent_files += sent_files
        stats.sent_bytes += sent_bytes
        stats.hashed_files += snapshot.hashed_files
    return tree_id


def upload_folder(client: Client, root: str, stats: Optional[UploadStats] = None,
                  use_cache: bool = True) -> str:
    """Snapshots ``root`` (with the per-folder hash cache) and uploads it; returns the tree id."""
    snapshot = take_snapshot(root, cache_file_for(root) if use_cache else None)
    return upload_snapshot(client, snapshot, stats)


# ----------------------------------------------------------------------------- several paths

def _has_magic(path: str) -> bool:
    return any(c in path for c in "*?[")


def expand_local_paths(paths: List[str]) -> List[str]:
    """Expands globs (``*``, ``?``, ``[``) in ``paths``, sorted per pattern, as the CLI does.

    NotFoundError naming a path that does not exist or a glob that matches nothing.
    """
    expanded: List[str] = []
    for p in paths:
        if _has_magic(p):
            matches = sorted(glob.glob(p))
            if not matches:
                raise NotFoundError("'%s' matches no file" % p)
            expanded.extend(matches)
        else:
            if not os.path.exists(p):
                raise NotFoundError("path '%s' does not exist" % p)
            expanded.append(p)
    return expanded


def _file_entry(path: str, name: str) -> Tuple[Entry, str]:
    try:
        st = os.stat(path)
        sha = _sha256_file(path)
    except OSError as e:
        raise _os_error(e, "cannot read " + path) from None
    return Entry(name, sha, st.st_size, 0o755 if st.st_mode & stat.S_IXUSR else 0o644), sha


def _merge(parts: List[Tuple[str, Snapshot]]) -> Snapshot:
    """One snapshot from several, each part's entries put under its prefix ("" or "name/")."""
    entries: Dict[str, Entry] = {}
    sources: Dict[str, str] = {}
    links: Dict[str, bytes] = {}
    hashed = 0
    for prefix, snap in parts:
        for e in snap.entries:
            path = prefix + e.path
            if path in entries:
                raise InvalidArgumentError("two paths would both upload '%s'" % path)
            entries[path] = e._replace(path=path)
        for sha, source in snap.blob_sources.items():
            sources.setdefault(sha, source)
        for sha, data in (snap.link_blobs or {}).items():
            links.setdefault(sha, data)
        hashed += snap.hashed_files
    ordered = sorted(entries.values(), key=lambda e: e.path.encode("utf-8"))
    return Snapshot(ordered, sources, hashed, links)


def _snapshot_one(path: str, follow_links: bool = False) -> Tuple[str, Snapshot]:
    """``(base name, snapshot)`` of one file (a single entry named after it) or folder. A
    path given by name is read as named, even through a link."""
    p = os.path.abspath(path)
    base = os.path.basename(p)
    if os.path.isdir(p):
        return base, take_snapshot(p, cache_file_for(p), follow_links)
    entry, sha = _file_entry(p, base)
    return base, Snapshot([entry], {sha: p}, 1, {})


def snapshot_local_paths(paths: List[str], single_folder_at_root: bool = True) -> Snapshot:
    """Several local files, folders and globs as one tree, the rule of ``gantry data create``:
    files keep their names, a folder's files go under the folder's name, except a single
    folder given alone (with ``single_folder_at_root``), whose files land at the root.
    InvalidArgumentError when two paths would give the same entry."""
    expanded = expand_local_paths(list(paths))
    parts = []
    for p in expanded:
        base, snap = _snapshot_one(p)
        is_dir = os.path.isdir(p)
        at_root = not is_dir or (single_folder_at_root and len(expanded) == 1)
        parts.append(("" if at_root else base + "/", snap))
    return _merge(parts)


def snapshot_named(path: str, name: Optional[str] = None, follow_links: bool = False) -> Snapshot:
    """One file or folder under a name of its own (its base name unless ``name`` is given):
    a file is the entry ``name``, a folder's files are ``name/...``. How a model keeps its
    folder's name, like ``gantry model create``. NotFoundError when ``path`` does not exist."""
    if not os.path.exists(path):
        raise NotFoundError("path '%s' does not exist" % path)
    base, snap = _snapshot_one(path, follow_links)
    name = name or base
    if os.path.isdir(path):
        return _merge([(name + "/", snap)])
    return Snapshot([snap.entries[0]._replace(path=name)], snap.blob_sources, snap.hashed_files,
                    snap.link_blobs)
