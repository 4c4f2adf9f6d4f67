"""Credentials, as an attacker with network access to the server's port would try them:
no credential, the wrong role, another run's token, a run's token after its run ended, a
browser page on another origin, file:// URLs outside the allowed roots, and a server that
listens beyond loopback. Every refusal is asserted against the real server."""
import base64
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import GANTRY, Server, submitted_name, write_job


def test_no_credential_gets_nothing_but_health(server, tmp_path):
    marker = tmp_path / "pwned"
    spec = {"spec": {"command": f"touch {marker}", "environment": f"python:{sys.executable}"}}
    status, body = server.request("POST", "/api/v1/runs", spec, token="")
    assert status == 401, body
    assert body["error"]["code"] == "Unauthenticated"
    # One route of each class: reads, secrets, writes, deletes, runner reports, tokens.
    for method, path in [("GET", "/api/v1/runs"), ("GET", "/api/v1/models"),
                         ("GET", "/api/v1/blobs/" + "0" * 64), ("PUT", "/api/v1/blobs/" + "0" * 64),
                         ("POST", "/api/v1/datasets"), ("DELETE", "/api/v1/computes/cpu"),
                         ("GET", "/api/v1/endpoints/e/keys"), ("POST", "/api/v1/runs/r/status"),
                         ("POST", "/api/v1/runs/r/cancel"), ("GET", "/api/v1/tokens"),
                         ("POST", "/api/v1/tokens"), ("GET", "/api/v1/audit")]:
        status, body = server.request(method, path, {}, token="")
        assert status == 401, (method, path, body)
    status, body = server.request("GET", "/api/v1/runs", token="gtp_" + "a" * 64)
    assert status == 401 and "not valid" in body["error"]["message"]
    status, body = server.request("GET", "/api/v1/health", token="")
    assert status == 200 and body["status"] == "ok"
    # Nothing ran and nothing was stored.
    status, body = server.request("GET", "/api/v1/runs")
    assert status == 200 and body["runs"] == []
    assert not marker.exists()


def test_roles_and_token_lifecycle_through_the_cli(server, tmp_path):
    made = server.cli("token", "create", "--role", "reader", "--name", "dashboard", check=True)
    reader = made.stdout.strip()
    assert reader.startswith("gtp_") and len(reader) >= 4 + 32
    listed = server.cli("token", "list", "-o", "json", check=True)
    tokens = json.loads(listed.stdout)
    assert reader not in listed.stdout  # shown once, never listed
    dashboard = next(t for t in tokens if t["name"] == "dashboard")
    assert dashboard["role"] == "reader"

    assert server.request("GET", "/api/v1/runs", token=reader)[0] == 200
    yml = write_job(tmp_path / "p", "echo hi")
    denied = server.cli("job", "create", "--file", str(yml), token=reader)
    assert denied.returncode == 6 and "contributor role" in denied.stderr, denied.stderr

    contributor = server.cli("token", "create", "--role", "contributor", check=True).stdout.strip()
    assert server.cli("job", "create", "--file", str(yml), token=contributor).returncode == 0
    status, body = server.request("POST", "/api/v1/tokens", {"role": "owner"}, token=contributor)
    assert status == 403, body
    status, body = server.request("POST", "/api/v1/computes", {"name": "gpu"}, token=contributor)
    assert status == 403, body
    server.request("POST", "/api/v1/endpoints", {"name": "svc"})
    assert server.request("GET", "/api/v1/endpoints/svc/keys", token=contributor)[0] == 403
    assert server.request("GET", "/api/v1/endpoints/svc", token=reader)[0] == 200
    keys = server.request("GET", "/api/v1/endpoints/svc/keys")
    assert keys[0] == 200 and keys[1]["primaryKey"]

    server.cli("token", "revoke", dashboard["id"], check=True)
    status, body = server.request("GET", "/api/v1/runs", token=reader)
    assert status == 401 and "revoked" in body["error"]["message"]
    bad = server.cli("token", "create", "--role", "reader", "--expires-in", "soon")
    assert bad.returncode == 2 and "--expires-in 'soon'" in bad.stderr


def test_basic_auth_password_is_the_token(server):
    basic = base64.b64encode(b"mlflow-user:" + server.token.encode()).decode()
    status, _ = server.request("GET", "/api/v1/runs", headers={"Authorization": "Basic " + basic})
    assert status == 200
    wrong = base64.b64encode(b"mlflow-user:guess").decode()
    status, _ = server.request("GET", "/api/v1/runs", headers={"Authorization": "Basic " + wrong})
    assert status == 401


def test_a_runs_token_reports_for_its_run_only_and_dies_with_it(server, tmp_path):
    victim = submitted_name(server.cli("job", "create", "--file",
                                       str(write_job(tmp_path / "v", "sleep 30")), check=True))
    probe = f"""
        import json, os, urllib.request, urllib.error
        url, token = os.environ["GANTRY_URL"], os.environ["GANTRY_RUN_TOKEN"]
        def call(method, path, body=None):
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(url + path, data=data, method=method,
                                         headers={{"Authorization": "Bearer " + token}})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code
        me = os.environ["GANTRY_RUN_ID"]
        results = {{
            "own_metrics": call("POST", f"/api/v1/runs/{{me}}/metrics",
                                {{"metrics": [{{"key": "m", "value": 1}}]}}),
            "other_metrics": call("POST", "/api/v1/runs/{victim}/metrics",
                                  {{"metrics": [{{"key": "m", "value": 1}}]}}),
            "other_status": call("POST", "/api/v1/runs/{victim}/status", {{"status": "Failed"}}),
            "other_read": call("GET", "/api/v1/runs/{victim}"),
            "list_runs": call("GET", "/api/v1/runs"),
            "submit": call("POST", "/api/v1/runs", {{"spec": {{"command": "id"}}}}),
            "cancel_other": call("POST", "/api/v1/runs/{victim}/cancel", {{}}),
            "tokens": call("GET", "/api/v1/tokens"),
        }}
        os.makedirs("outputs", exist_ok=True)
        json.dump({{"results": results, "token": token}}, open("outputs/probe.json", "w"))
    """
    yml = write_job(tmp_path / "a", "python probe.py", files={"probe.py": probe})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run
    status, raw = server.request("GET", f"/api/v1/runs/{name}/artifacts/content/outputs/probe.json")
    assert status == 200, raw
    probe_out = json.loads(raw)
    assert probe_out["results"] == {"own_metrics": 200, "other_metrics": 403, "other_status": 403,
                                    "other_read": 403, "list_runs": 403, "submit": 403,
                                    "cancel_other": 403, "tokens": 403}
    assert server.run(victim)["status"] in ("Queued", "Preparing", "Starting", "Running")
    # The run has ended: its token can no longer change it.
    token = probe_out["token"]
    status, body = server.request("POST", f"/api/v1/runs/{name}/metrics",
                                  {"metrics": [{"key": "late", "value": 1}]}, token=token)
    assert status == 403 and "has ended" in body["error"]["message"], body
    status, _ = server.request("POST", f"/api/v1/runs/{name}/status",
                               {"status": "Failed", "error": "forged"}, token=token)
    assert status == 403
    assert server.run(name)["status"] == "Completed"
    assert "late" not in server.run(name)["metrics"]
    server.cli("job", "cancel", "-n", victim, check=True)
    server.wait_terminal(victim)


def test_cross_origin_browser_requests_are_refused(server, tmp_path):
    spec = {"spec": {"command": "id", "environment": f"python:{sys.executable}"}}
    status, body = server.request("POST", "/api/v1/runs", spec,
                                  headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in body["error"]["message"], body
    status, _ = server.request("GET", "/api/v1/runs", headers={"Origin": "null"})
    assert status == 403
    own = f"http://127.0.0.1:{server.port}"
    assert server.request("GET", "/api/v1/runs", headers={"Origin": own})[0] == 200
    assert server.request("GET", "/api/v1/runs")[1]["runs"] == []


def test_file_urls_only_under_allowed_roots(make_server, tmp_path):
    s = make_server()
    for url in ["file:///etc/shadow", "file:///proc/self/environ",
                f"file://{s.workspace}" + "/.." * 12 + "/etc/passwd"]:
        status, body = s.request("POST", "/api/v1/datasets", {"name": "leak", "urls": [url]})
        assert status == 403, (url, body)
        assert "--allow-file-root" in body["error"]["message"]
    # A symlink inside an allowed folder that leads out of it is refused too.
    project = s.workspace.parent
    (project / "innocent.gz").symlink_to("/etc/passwd")
    status, body = s.request("POST", "/api/v1/datasets",
                             {"name": "leak", "urls": [f"file://{project}/innocent.gz"]})
    assert status == 403, body
    assert s.request("GET", "/api/v1/datasets")[1]["datasets"] == []
    # The project folder itself is allowed for a local workspace.
    (project / "data.txt").write_text("rows\n")
    status, body = s.request("POST", "/api/v1/datasets",
                             {"name": "ok", "urls": [f"file://{project}/data.txt"]})
    assert status == 201, body


def test_fetch_size_cap_keeps_nothing(tmp_path):
    s = Server(tmp_path / "ws", extra_args=["--allow-file-root", "/dev",
                                            "--max-fetch-bytes", "1048576"]).start()
    try:
        status, body = s.request("POST", "/api/v1/datasets",
                                 {"name": "zero", "urls": ["file:///dev/zero"]})
        assert status == 413, body
        assert "1048576" in body["error"]["message"]
        assert s.request("GET", "/api/v1/datasets")[1]["datasets"] == []
        tmp = s.workspace / "blobs" / "tmp"
        assert not tmp.exists() or list(tmp.iterdir()) == []
    finally:
        s.stop()


def test_local_config_holds_the_owner_token_0600_and_the_cli_uses_it(server, tmp_path):
    config = server.workspace / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"] == server.token
    env = {k: v for k, v in os.environ.items() if k not in ("GANTRY_TOKEN", "GANTRY_URL")}
    listed = subprocess.run([GANTRY, "job", "list", "--workspace", str(server.workspace)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    # Restarting keeps the same token.
    server.stop()
    server.start()
    assert json.loads(config.read_text())["token"] == server.token


def test_login_stores_a_token_for_a_remote_server(server, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("GANTRY_TOKEN", "GANTRY_URL")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    token = server.cli("token", "create", "--role", "reader", check=True).stdout.strip()
    bad = subprocess.run([GANTRY, "login", "--server", server.url], input="gtp_wrong\n",
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 6 and "not valid" in bad.stderr
    ok = subprocess.run([GANTRY, "login", "--server", server.url], input=token + "\n",
                        capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    creds = tmp_path / "xdg" / "gantry" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    listed = subprocess.run([GANTRY, "job", "list", "--server", server.url], capture_output=True,
                            text=True, env=env, timeout=60, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr


def test_beyond_loopback_needs_auth_and_says_how_to_hand_out_tokens(tmp_path):
    refused = subprocess.run([GANTRY, "server", "--workspace", str(tmp_path / "ws"),
                              "--host", "0.0.0.0", "--port", "0", "--no-auth"],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--no-auth is refused" in refused.stderr
    s = Server(tmp_path / "ws2", extra_args=["--host", "0.0.0.0"]).start()
    try:
        err = s.log()
        assert f"Listening on 0.0.0.0:{s.port} (every interface)" in err, err
        assert "gantry token create" in err and "gantry login" in err
        assert s.request("GET", "/api/v1/runs", token="")[0] == 401
        assert s.request("GET", "/api/v1/runs")[0] == 200
    finally:
        s.stop()


def test_no_auth_is_for_loopback_only(tmp_path):
    s = Server(tmp_path / "ws", extra_args=["--no-auth"]).start()
    try:
        assert s.request("GET", "/api/v1/runs", token="")[0] == 200
    finally:
        s.stop()


def test_audit_log_shows_who_changed_what(server, tmp_path):
    yml = write_job(tmp_path / "p", "echo audited")
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    server.wait_terminal(name)
    server.request("POST", "/api/v1/runs", {"spec": {"command": "id"}}, token="")
    reader = server.cli("token", "create", "--role", "reader", check=True).stdout.strip()
    assert server.cli("audit", "list", token=reader).returncode == 6
    records = json.loads(server.cli("audit", "list", "-o", "json", check=True).stdout)
    submits = [r for r in records if r["method"] == "POST" and r["path"] == "/api/v1/runs"]
    assert [r["status"] for r in submits] == [201, 401], records
    assert "(owner)" in submits[0]["principal"] and submits[1]["principal"] == "anonymous"
    # Runners' own reports are not audited.
    assert not any(r["path"].endswith("/heartbeat") or r["path"].endswith("/logs/std_log.txt")
                   for r in records)


def test_a_large_upload_without_a_credential_is_refused_before_its_body(server):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("PUT", "/api/v1/blobs/" + "a" * 64)
    conn.putheader("Content-Length", str(900 << 20))
    conn.endheaders()  # the 900 MiB body is never sent: the answer comes first
    resp = conn.getresponse()
    assert resp.status == 401
    assert json.loads(resp.read())["error"]["code"] == "Unauthenticated"
    conn.close()
    tmp = server.workspace / "blobs" / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_a_fetch_stops_when_its_client_goes_away(tmp_path):
    import http.client
    import socket
    s = Server(tmp_path / "ws", extra_args=["--allow-file-root", "/dev"]).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=1)
        body = json.dumps({"name": "endless", "urls": ["file:///dev/zero"]})
        conn.request("POST", "/api/v1/datasets", body=body,
                     headers={"Authorization": "Bearer " + s.token,
                              "Content-Type": "application/json"})
        with pytest.raises((socket.timeout, TimeoutError)):
            conn.getresponse()  # /dev/zero never ends: the server is still fetching
        conn.close()  # ... and this client gives up
        tmp = s.workspace / "blobs" / "tmp"
        # The fetch notices and stops: its temp file goes (64 GiB of zeros otherwise).
        from conftest import wait_until
        wait_until(lambda: not tmp.exists() or list(tmp.iterdir()) == [],
                   "the abandoned fetch to stop", polls=300)
        assert s.request("GET", "/api/v1/datasets")[1]["datasets"] == []
    finally:
        s.stop()
