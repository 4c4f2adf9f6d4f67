"""REST API contract: error shapes and codes, limits, tokens, unsafe paths."""
import hashlib
import json


def test_health(server):
    status, body = server.request("GET", "/api/v1/health")
    assert status == 200 and body["status"] == "ok" and body["workspace"] == "default"


def test_errors_have_one_shape(server):
    status, body = server.request("POST", "/api/v1/runs", raw=b"{not json",
                                  headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"]["code"] == "InvalidArgument"
    status, body = server.request("GET", "/api/v1/runs/no_such_run")
    assert status == 404 and "no_such_run" in body["error"]["message"]
    status, body = server.request("POST", "/api/v1/runs", {"spec": {"command": "echo", "bogus": 1}})
    assert status == 400 and "bogus" in body["error"]["message"]
    status, body = server.request("POST", "/api/v1/runs", {"spec": {"command": "echo ${{inputs.x}}"}})
    assert status == 400 and "inputs.x" in body["error"]["message"]


def test_body_over_the_limit_is_413(server):
    status, body = server.request("POST", "/api/v1/runs", raw=b"x" * (17 << 20),
                                  headers={"Content-Type": "application/json"})
    assert status == 413 and body["error"]["code"] == "ResourceExhausted"
    # The server is still fine afterwards.
    assert server.request("GET", "/api/v1/health")[0] == 200


def test_artifact_paths_cannot_leave_the_run(server):
    status, run = server.request("POST", "/api/v1/runs", {"spec": {"command": "echo hi"}})
    assert status == 201
    for path in ["../../etc/passwd", "outputs/../../x", "%2Fetc%2Fpasswd"]:
        status, body = server.request("GET", f"/api/v1/runs/{run['name']}/artifacts/content/{path}")
        assert status in (400, 404), (path, status)
        if ".." in path:
            assert status == 400
    blob = b"data"
    sha = hashlib.sha256(blob).hexdigest()
    assert server.request("PUT", f"/api/v1/blobs/{sha}", raw=blob)[0] == 201
    status, body = server.request("POST", "/api/v1/trees",
                                  {"entries": [{"path": "../evil", "blob": sha, "size": 4, "mode": 420}]})
    assert status == 400 and "../evil" in body["error"]["message"]
    status, body = server.request("POST", "/api/v1/trees",
                                  {"entries": [{"path": "/abs", "blob": sha, "size": 4, "mode": 420}]})
    assert status == 400


def test_runner_endpoints_need_the_run_token(server):
    status, run = server.request("POST", "/api/v1/runs", {"spec": {"command": "echo hi"}})
    name = run["name"]
    status, body = server.request("POST", f"/api/v1/runs/{name}/metrics", {"metrics": []}, token="")
    assert status == 401
    # Not even the workspace's owner may post a runner's reports.
    status, body = server.request("POST", f"/api/v1/runs/{name}/metrics", {"metrics": []})
    assert status == 403 and "run's own token" in body["error"]["message"]
    status, body = server.request("POST", f"/api/v1/runs/{name}/status", {"status": "Running"},
                                  headers={"Authorization": "Bearer forged"})
    assert status == 401


def test_blob_with_wrong_hash_is_rejected_and_not_stored(server):
    sha = hashlib.sha256(b"expected").hexdigest()
    status, body = server.request("PUT", f"/api/v1/blobs/{sha}", raw=b"something else")
    assert status == 400
    status, body = server.request("POST", "/api/v1/blobs/missing", {"blobs": [sha]})
    assert body["missing"] == [sha]
    tmp = server.workspace / "blobs" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_killed_upload_leaves_nothing_behind(server):
    import socket
    data = b"y" * 1_000_000
    sha = hashlib.sha256(data).hexdigest()
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"PUT /api/v1/blobs/{sha} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode())
        s.sendall(data[:100_000])  # the client dies mid-upload
    # The server notices the closed connection; the next request is answered normally.
    status, body = server.request("POST", "/api/v1/blobs/missing", {"blobs": [sha]})
    assert status == 200 and body["missing"] == [sha]
    blobs = server.workspace / "blobs"
    stored = [p for p in blobs.rglob("*") if p.is_file() and "tmp" not in p.parts]
    assert stored == []
