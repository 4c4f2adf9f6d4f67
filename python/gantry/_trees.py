"""Read trees back from the artifact store: list their files, download them.

A tree (``GET /api/v1/trees/{id}``) is ``{"entries": [{"path", "blob", "size", "mode"}]}``;
each file's bytes are ``GET /api/v1/blobs/{sha256}``. Downloads are checked against the
SHA-256 and size and renamed into place when complete, as ``gantry data download`` and
``gantry model download`` do.
"""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from typing import Any, Dict, List

from ._http import Client
from .errors import AlreadyExistsError, DataLossError, InternalError

__all__ = ["tree_entries", "download_tree", "safe_relative"]


def safe_relative(path: str) -> bool:
    """True for a '/'-separated relative path with no empty, '.' or '..' part."""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def tree_entries(client: Client, tree_id: str) -> List[Dict[str, Any]]:
    """The entries of tree ``tree_id``, as the server lists them (sorted by path)."""
    if not isinstance(tree_id, str) or not tree_id:
        raise InternalError("no tree id to read")
    body = client.get("/api/v1/trees/" + urllib.parse.quote(tree_id, safe="")) or {}
    entries = body.get("entries")
    if not isinstance(entries, list):
        raise InternalError("GET /api/v1/trees/%s answered without entries" % tree_id)
    for e in entries:
        if not isinstance(e, dict) or not safe_relative(str(e.get("path", ""))):
            raise DataLossError("tree %s lists an unsafe path %r" % (tree_id, e))
    return entries


def download_tree(client: Client, tree_id: str, dest: str, overwrite: bool = False) -> List[str]:
    """Downloads every file of tree ``tree_id`` below folder ``dest``; returns the local paths
    in tree order. Without ``overwrite``, AlreadyExistsError before anything is written when
    one of the files already exists."""
    entries = tree_entries(client, tree_id)
    dest = os.path.abspath(dest)
    targets = [os.path.join(dest, *e["path"].split("/")) for e in entries]
    if not overwrite:
        for t in targets:
            if os.path.lexists(t):
                raise AlreadyExistsError(
                    "%s already exists; pass overwrite=True (exist_ok=True for a model) to "
                    "replace it" % t)
    for e, target in zip(entries, targets):
        _download_blob(client, e, target)
    return targets


def _download_blob(client: Client, entry: Dict[str, Any], target: str) -> None:
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    if os.path.isdir(target):
        raise AlreadyExistsError("%s is a folder; cannot write the file %s there"
                                 % (target, entry["path"]))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".gantry-download-")
    try:
        with os.fdopen(fd, "wb") as f:
            size, sha = client.download("/api/v1/blobs/" + urllib.parse.quote(entry["blob"], safe=""), f)
        if sha != entry.get("blob") or size != entry.get("size"):
            raise DataLossError("downloaded bytes of '%s' do not match their hash" % entry["path"])
        os.chmod(tmp, int(entry.get("mode", 0o644)) & 0o777)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
