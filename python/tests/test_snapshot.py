"""gantry._snapshot: the walk, modes, symlinks and the hash cache."""

import hashlib
import json
import os
import re

import pytest

from gantry import _snapshot
from gantry.errors import InvalidArgumentError, NotFoundError

OLD = 1_600_000_000  # an mtime far outside the two-second racy window


def write(root, rel, data, mtime=OLD):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_walk_ignores_modes_and_symlinks(tmp_path):
    root = tmp_path / "src"
    write(root, "b.py", "b")
    write(root, "a/z.txt", "z")
    write(root, "a/.gitignore", "*.log\n")
    write(root, "a/x.log", "log")
    write(root, ".git/HEAD", "ref")
    write(root, ".gantry/config.json", "{}")
    os.chmod(write(root, "run.sh", "echo"), 0o755)
    os.symlink("b.py", str(root / "link.py"))
    os.symlink("a", str(root / "linkdir"))
    os.symlink("missing", str(root / "broken"))
    os.mkfifo(str(root / "fifo"))
    snap = _snapshot.take_snapshot(str(root))
    # Links are never followed: kept as links (the blob is the target's text).
    assert [(e.path, e.size, e.mode, e.link) for e in snap.entries] == [
        ("a/.gitignore", 6, 0o644, None), ("a/z.txt", 1, 0o644, None),
        ("b.py", 1, 0o644, None), ("broken", 7, 0o644, "missing"),
        ("link.py", 4, 0o644, "b.py"), ("linkdir", 1, 0o644, "a"), ("run.sh", 4, 0o755, None)]
    assert snap.entries[4].blob == sha(b"b.py")
    assert set(snap.blob_sources) == {sha(b"*.log\n"), sha(b"z"), sha(b"b"), sha(b"echo")}
    assert snap.link_blobs == {sha(b"missing"): b"missing", sha(b"b.py"): b"b.py", sha(b"a"): b"a"}
    assert snap.hashed_files == 4
    # A run's outputs take a link to a file by its content, as the runner does.
    followed = _snapshot.take_snapshot(str(root), follow_links=True)
    assert [(e.path, e.blob) for e in followed.entries if e.path == "link.py"] == [("link.py", sha(b"b"))]
    assert "linkdir" not in [e.path for e in followed.entries]


def test_links_that_lead_outside_are_refused_and_never_read(tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_bytes(b"PRIVATE KEY")
    root = tmp_path / "src"
    write(root, "train.py", "print(1)")
    os.symlink(str(secret), str(root / "creds"))
    with pytest.raises(InvalidArgumentError, match=re.escape("'creds' is a symlink to '%s'" % secret)):
        _snapshot.take_snapshot(str(root))
    os.unlink(str(root / "creds"))
    os.symlink("../id_rsa", str(root / "up"))
    with pytest.raises(InvalidArgumentError, match="'up'"):
        _snapshot.take_snapshot(str(root))
    os.symlink(".", str(root / "here"))
    os.unlink(str(root / "up"))
    os.symlink("here/../id_rsa", str(root / "sneaky"))  # lexically inside, really outside
    with pytest.raises(InvalidArgumentError, match="sneaky"):
        _snapshot.take_snapshot(str(root))
    write(root, ".gantryignore", "sneaky\n")
    snap = _snapshot.take_snapshot(str(root))
    assert [e.path for e in snap.entries] == [".gantryignore", "here", "train.py"]
    # An absolute link into the folder itself is recorded relative.
    os.symlink(str(root / "train.py"), str(root / "abs.py"))
    assert [e.link for e in _snapshot.take_snapshot(str(root)).entries if e.path == "abs.py"] == ["train.py"]


def test_entries_sort_by_utf8_bytes(tmp_path):
    root = tmp_path / "src"
    for name in ("é.txt", "z.txt", "a/b.txt", "a-b.txt"):
        write(root, name, name)
    paths = [e.path for e in _snapshot.take_snapshot(str(root)).entries]
    assert paths == sorted(paths, key=lambda p: p.encode("utf-8"))
    assert paths == ["a-b.txt", "a/b.txt", "z.txt", "é.txt"]


def test_hash_cache_skips_unchanged_files_and_distrusts_recent_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "src"
    write(root, "old.txt", "old")
    write(root, "new.txt", "new", mtime=None)  # just written: inside the racy window
    cache = _snapshot.cache_file_for(str(root))
    assert cache.startswith(str(tmp_path / "cache" / "gantry" / "snapshots-py") + os.sep)
    assert os.path.basename(cache) == sha(os.path.abspath(str(root)).encode()) + ".json"

    first = _snapshot.take_snapshot(str(root), cache)
    assert first.hashed_files == 2
    assert set(json.load(open(cache))["files"]) == {"old.txt"}
    second = _snapshot.take_snapshot(str(root), cache)
    assert second.hashed_files == 1 and second.entries == first.entries

    # A change that keeps the size shows through the new mtime.
    write(root, "old.txt", "OLD", mtime=OLD + 1)
    third = _snapshot.take_snapshot(str(root), cache)
    assert third.hashed_files == 2
    assert [e.blob for e in third.entries if e.path == "old.txt"] == [sha(b"OLD")]

    # A damaged cache is ignored, then rewritten.
    with open(cache, "w") as f:
        f.write("{not json")
    assert _snapshot.take_snapshot(str(root), cache).hashed_files == 2
    assert _snapshot.take_snapshot(str(root), cache).hashed_files == 1


def test_bad_roots(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        _snapshot.take_snapshot(str(tmp_path / "nope"))
    write(tmp_path, "file", "x")
    with pytest.raises(InvalidArgumentError, match="not a folder"):
        _snapshot.take_snapshot(str(tmp_path / "file"))


def test_non_utf8_name_is_rejected(tmp_path):
    root = tmp_path / "src"
    root.mkdir()
    try:
        open(os.path.join(os.fsencode(str(root)), b"bad\xff.txt"), "w").close()
    except OSError:
        pytest.skip("the filesystem refuses non-UTF-8 names")
    with pytest.raises(InvalidArgumentError, match="UTF-8"):
        _snapshot.take_snapshot(str(root))


class FakeClient:
    """Records calls; the server holds the blobs in ``have``."""

    def __init__(self, have=()):
        self.have = set(have)
        self.calls = []

    def post(self, path, body):
        self.calls.append(("POST", path, body))
        if path == "/api/v1/blobs/missing":
            return {"missing": [b for b in body["blobs"] if b not in self.have]}
        return {"id": "tree-1"}

    def put_bytes(self, path, data):
        self.calls.append(("PUT", path, len(data)))
        self.have.add(path.rsplit("/", 1)[1])
        return {"blob": path.rsplit("/", 1)[1]}


def test_upload_sends_only_missing_blobs(tmp_path):
    root = tmp_path / "src"
    write(root, "a.txt", "same")
    write(root, "b.txt", "same")
    write(root, "c.txt", "other")
    client = FakeClient(have=[sha(b"other")])
    stats = _snapshot.UploadStats()
    assert _snapshot.upload_folder(client, str(root), stats, use_cache=False) == "tree-1"
    assert [c for c in client.calls if c[0] == "PUT"] == [("PUT", "/api/v1/blobs/" + sha(b"same"), 4)]
    tree = client.calls[-1]
    assert tree[:2] == ("POST", "/api/v1/trees")
    assert tree[2] == {"entries": [
        {"path": "a.txt", "blob": sha(b"same"), "size": 4, "mode": 420},
        {"path": "b.txt", "blob": sha(b"same"), "size": 4, "mode": 420},
        {"path": "c.txt", "blob": sha(b"other"), "size": 5, "mode": 420}]}
    assert (stats.files, stats.bytes, stats.sent_files, stats.sent_bytes) == (3, 13, 1, 4)
    client.calls.clear()
    _snapshot.upload_folder(client, str(root), use_cache=False)
    assert not [c for c in client.calls if c[0] == "PUT"]
