"""What clients write, what trees may hold, snapshots and names: hostile input refused.

Real processes: the server refuses unsafe trees and names (400 naming the path or value);
`gantry model/data/job download` and the SDK refuse a hostile manifest (exit 2 naming the
path) before writing anything, never overwrite without --overwrite, never write through a
symlink or into .git, never keep a setuid bit; a snapshot never uploads the target of a link
that leads outside the code folder.
"""
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GANTRY, serve_bytes, submitted_name, write_job

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from gantry import _snapshot, _trees  # noqa: E402
from gantry._http import Client  # noqa: E402
from gantry.errors import AlreadyExistsError, InvalidArgumentError  # noqa: E402


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_blob(server, data: bytes) -> str:
    status, body = server.request("PUT", "/api/v1/blobs/" + sha(data), raw=data,
                                  headers={"Content-Type": "application/octet-stream"})
    assert status in (200, 201), body
    return sha(data)


def entry(path, data=b"x", mode=0o644, **extra):
    return dict({"path": path, "blob": sha(data), "size": len(data), "mode": mode}, **extra)


def link(path, target):
    return {"path": path, "blob": sha(target.encode()), "size": len(target), "mode": 0o644,
            "link": target}


def post_tree(server, entries):
    return server.request("POST", "/api/v1/trees", {"entries": entries})


def listing(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def fake_cli(url, *args):
    """The CLI against a server of the test's own (a hostile one), not the workspace's."""
    return subprocess.run([GANTRY, *args, "--server", url], capture_output=True, text=True,
                          timeout=120)


# ------------------------------------------------------------------------------ server side

def test_server_refuses_unsafe_trees_naming_the_path(server):
    put_blob(server, b"x")
    put_blob(server, b"/etc/passwd")
    for entries, named in [
        ([entry("../x")], "../x"),
        ([entry("/abs/x")], "/abs/x"),
        ([entry("a/../../b")], "a/../../b"),
        ([entry("a//b")], "a//b"),
        ([entry("./a")], "./a"),
        ([entry("a\\b")], "a\\b"),
        ([entry("a\nb")], "a\\x0ab"),
        ([entry("n" * 256)], "n" * 256),
        ([entry("a"), entry("a/b")], "a/b"),
        ([dict(entry("big"), size=1 << 41)], "big"),
        ([dict(entry("neg"), size=-1)], "neg"),
        ([link("pw", "/etc/passwd")], "pw"),
        ([link("up", "../x")], "up"),
        ([link("here", "."), link("sneaky", "here/../x")], "sneaky"),
        ([link("l", "sub"), entry("l/x")], "l/x"),
    ]:
        status, body = post_tree(server, entries)
        assert status == 400, (entries, body)
        assert named in body["error"]["message"], (named, body)


def test_setuid_bits_are_dropped_on_upload(server):
    put_blob(server, b"x")
    status, body = post_tree(server, [entry("tool", mode=0o4755), entry("dir/s", mode=0o7777)])
    assert status == 201, body
    status, tree = server.request("GET", "/api/v1/trees/" + body["id"])
    assert [(e["path"], e["mode"]) for e in tree["entries"]] == [("dir/s", 0o777), ("tool", 0o755)]


def test_names_are_refused_by_the_server_and_the_cli(server, tmp_path):
    put_blob(server, b"x")
    _, tree = post_tree(server, [entry("w.bin")])
    long_name = "m" * 256
    for bad in ("../x", long_name, ".", "a/b"):
        for path, body in [("/api/v1/models", {"name": bad, "tree_id": tree["id"]}),
                           ("/api/v1/datasets", {"name": bad, "tree_id": tree["id"]})]:
            status, answer = server.request("POST", path, body)
            assert status == 400, (path, bad, answer)
            assert bad[:64] in answer["error"]["message"], answer
    (tmp_path / "w.bin").write_text("w")
    for bad in ("../x", long_name):
        for args in (["model", "create", "--name", bad, "--path", str(tmp_path / "w.bin")],
                     ["data", "create", "--name", bad, "--path", str(tmp_path / "w.bin")],
                     ["model", "download", "--name", bad, "--download-path", str(tmp_path / "d")],
                     ["environment", "create", "--name", bad, "--pip", "six"]):
            p = server.cli(*args)
            assert p.returncode == 2, (args, p.stderr)
            assert bad[:64] in p.stderr and "name" in p.stderr, p.stderr
    assert not (tmp_path / "d").exists()
    # Names the examples use still work.
    server.cli("model", "create", "--name", "tf-mnist", "--path", str(tmp_path / "w.bin"), check=True)


def test_run_and_experiment_names_are_checked_before_they_become_folders(server, tmp_path):
    for extra, named in [("name: ../../escape\n", "../../escape"),
                         ("experiment_name: ../x\n", "../x"),
                         ("name: %s\n" % ("r" * 256), "r" * 64)]:
        yml = write_job(tmp_path / "p", "echo hi", extra=extra)
        p = server.cli("job", "create", "--file", str(yml))
        assert p.returncode == 2, p.stdout + p.stderr
        assert named in p.stderr, p.stderr
    assert not (server.workspace / "escape").exists()
    assert not (server.workspace.parent / "escape").exists()


# ------------------------------------------------------------------------ downloads (real server)

def register_tree_model(server, name, entries, blobs):
    for data in blobs:
        put_blob(server, data)
    status, tree = post_tree(server, entries)
    assert status == 201, tree
    status, model = server.request("POST", "/api/v1/models", {"name": name, "tree_id": tree["id"]})
    assert status == 201, model
    return tree["id"]


def test_download_refuses_git_and_keeps_no_setuid_bit(server, tmp_path):
    register_tree_model(server, "hooked", [entry("model/w.bin"), entry(".git/config", b"evil")],
                        [b"x", b"evil"])
    dest = tmp_path / "dest"
    (dest / ".git").mkdir(parents=True)
    (dest / ".git" / "config").write_text("mine")
    p = server.cli("model", "download", "--name", "hooked", "--download-path", str(dest), "--overwrite")
    assert p.returncode == 2, p.stderr
    assert ".git/config" in p.stderr
    assert (dest / ".git" / "config").read_text() == "mine"
    assert listing(dest) == [".git", ".git/config"]  # model/w.bin was not written either

    register_tree_model(server, "setuid", [entry("tool", mode=0o4755)], [b"x"])
    p = server.cli("model", "download", "--name", "setuid", "--download-path", str(dest))
    assert p.returncode == 0, p.stderr
    mode = os.stat(dest / "tool").st_mode
    assert stat.S_IMODE(mode) == 0o755 and not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX)


def test_download_never_overwrites_unless_asked(server, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_text("weights")
    server.cli("model", "create", "--name", "ow", "--path", str(folder), check=True)
    dest = tmp_path / "dest"
    server.cli("model", "download", "--name", "ow", "--download-path", str(dest), check=True)
    target = dest / "model" / "sub" / "w.bin"
    assert target.read_text() == "weights"
    target.write_text("my edits")
    p = server.cli("model", "download", "--name", "ow", "--download-path", str(dest))
    assert p.returncode == 5 and str(target) in p.stderr and "--overwrite" in p.stderr, p.stderr
    assert target.read_text() == "my edits"
    # Not through a symlink that is already there either, even when overwriting.
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "model" / "sub" / "w.bin").unlink()
    (dest / "model" / "sub").rmdir()
    os.symlink(str(outside), str(dest / "model" / "sub"))
    p = server.cli("model", "download", "--name", "ow", "--download-path", str(dest), "--overwrite")
    assert p.returncode == 2 and "symlink" in p.stderr, p.stderr
    assert list(outside.iterdir()) == []
    os.unlink(str(dest / "model" / "sub"))
    server.cli("model", "download", "--name", "ow", "--download-path", str(dest), "--overwrite",
               check=True)
    assert target.read_text() == "weights"

    # The same rule for datasets.
    server.cli("data", "create", "--name", "ds", "--path", str(folder), check=True)
    data_dest = tmp_path / "data"
    server.cli("data", "download", "--name", "ds", "--download-path", str(data_dest), check=True)
    (data_dest / "sub" / "w.bin").write_text("mine")
    p = server.cli("data", "download", "--name", "ds", "--download-path", str(data_dest))
    assert p.returncode == 5 and (data_dest / "sub" / "w.bin").read_text() == "mine"
    server.cli("data", "download", "--name", "ds", "--download-path", str(data_dest), "--overwrite",
               check=True)
    assert (data_dest / "sub" / "w.bin").read_text() == "weights"


# ----------------------------------------------------------------- downloads (hostile server)

def hostile_server(entries, blobs=(b"x",), run_artifacts=None):
    """A fake workspace answering a model, a dataset, a tree and a run with `entries`."""
    tree = json.dumps({"entries": entries}).encode()
    tree_id = sha(tree)
    content = {
        "/api/v1/models/evil": json.dumps({"name": "evil", "version": 1, "tree_id": tree_id}).encode(),
        "/api/v1/datasets/evil": json.dumps({"name": "evil", "version": 1, "tree_id": tree_id}).encode(),
        "/api/v1/trees/" + tree_id: tree,
        "/api/v1/runs/evil": json.dumps({"name": "evil", "logs": []}).encode(),
        "/api/v1/runs/evil/artifacts?prefix=": json.dumps({"artifacts": run_artifacts or []}).encode(),
    }
    for data in blobs:
        content["/api/v1/blobs/" + sha(data)] = data
        for a in run_artifacts or []:
            content["/api/v1/runs/evil/artifacts/content/" + a["path"].replace("/", "%2F")] = data
    return serve_bytes(content), tree_id


@pytest.mark.parametrize("entries,named", [
    ([entry("ok.txt"), entry("../escaped.txt")], "../escaped.txt"),
    ([entry("ok.txt"), entry("/tmp/gantry-absolute-escape.txt")], "/tmp/gantry-absolute-escape.txt"),
    ([entry("ok.txt"), link("l", "sub"), entry("l/x")], "l/x"),
    ([entry("ok.txt"), link("pw", "/etc/passwd")], "pw"),
    ([entry("ok.txt"), link("up", "../../outside")], "up"),
    ([entry("ok.txt"), entry(".gantry/config.json")], ".gantry/config.json"),
])
def test_hostile_manifests_are_refused_before_anything_is_written(tmp_path, entries, named):
    served, tree_id = hostile_server(entries)
    dest = tmp_path / "nest" / "dest"
    with served as url:
        for noun in ("model", "data"):
            p = fake_cli(url, noun, "download", "--name", "evil", "--download-path", str(dest))
            assert p.returncode == 2, (noun, p.stdout, p.stderr)
            assert named in p.stderr, p.stderr
        with pytest.raises(InvalidArgumentError, match=r".*" + named.replace(".", r"\.")):
            _trees.download_tree(Client(url), tree_id, str(dest))
    assert not dest.exists()
    assert listing(tmp_path) == []  # not even the destination folder
    assert not Path("/tmp/gantry-absolute-escape.txt").exists()


def test_hostile_run_listing_is_refused(tmp_path):
    served, _ = hostile_server([], run_artifacts=[entry("outputs/ok.txt"), entry("../../escaped")])
    with served as url:
        p = fake_cli(url, "job", "download", "--name", "evil", "--download-path", str(tmp_path / "d"))
        assert p.returncode == 2, p.stderr
        assert "../../escaped" in p.stderr
        p = fake_cli(url, "job", "download", "--name", "evil", "--output-name", "../x",
                     "--download-path", str(tmp_path / "d"))
        assert p.returncode == 2 and "output name" in p.stderr, p.stderr
    assert listing(tmp_path) == []


def test_sdk_download_overwrite_and_links(tmp_path):
    entries = [entry("data/a.csv"), link("latest.csv", "data/a.csv")]
    served, tree_id = hostile_server(entries)
    dest = tmp_path / "dest"
    with served as url:
        client = Client(url)
        _trees.download_tree(client, tree_id, str(dest))
        assert os.readlink(str(dest / "latest.csv")) == "data/a.csv"
        assert (dest / "latest.csv").read_bytes() == b"x"
        (dest / "data" / "a.csv").write_text("mine")
        with pytest.raises(AlreadyExistsError, match="overwrite=True"):
            _trees.download_tree(client, tree_id, str(dest))
        assert (dest / "data" / "a.csv").read_text() == "mine"
        _trees.download_tree(client, tree_id, str(dest), overwrite=True)
        assert (dest / "data" / "a.csv").read_bytes() == b"x"
        p = fake_cli(url, "model", "download", "--name", "evil", "--download-path", str(tmp_path / "cli"))
        assert p.returncode == 0, p.stderr
        assert os.readlink(str(tmp_path / "cli" / "latest.csv")) == "data/a.csv"


# ------------------------------------------------------------------------------ snapshots

def test_snapshot_never_uploads_a_secret_behind_a_link(server, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY----- not for the server")
    yml = write_job(tmp_path / "p", "python train.py", files={"train.py": "print('trained')\n"})
    os.symlink(str(secret), str(tmp_path / "p" / "src" / "creds"))
    p = server.cli("job", "create", "--file", str(yml))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "creds" in p.stderr and str(secret) in p.stderr
    with pytest.raises(InvalidArgumentError, match="creds"):
        _snapshot.upload_folder(Client(server.url), str(tmp_path / "p" / "src"), use_cache=False)
    status, _ = server.request("GET", "/api/v1/blobs/" + sha(secret.read_bytes()))
    assert status == 404

    # A link inside the folder is kept as a link, and the runner recreates it.
    os.unlink(str(tmp_path / "p" / "src" / "creds"))
    os.symlink("train.py", str(tmp_path / "p" / "src" / "latest.py"))
    yml = write_job(tmp_path / "p", "test -L latest.py && python latest.py")
    p = server.cli("job", "create", "--file", str(yml), check=True)
    name = submitted_name(p)
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run
    status, tree = server.request("GET", "/api/v1/trees/" + run["snapshot_id"])
    assert [e for e in tree["entries"] if e["path"] == "latest.py"] == [link("latest.py", "train.py")]
