"""Which credential the SDK sends: the token argument, GANTRY_TOKEN, the config file's token
(only for the server that file names), a stored `gantry login`, then the run's own token."""
import http.server
import json
import threading

import pytest

from gantry import Workspace
from gantry.errors import UnauthenticatedError


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_GET(self):
        if self.path == "/api/v1/health":
            body, code = {"status": "ok", "workspace": "default"}, 200
        else:
            auth = self.headers.get("Authorization", "")
            _Recorder.seen.append(auth)
            if auth == "Bearer gtp_good":
                body, code = {"runs": []}, 200
            else:
                body, code = {"error": {"code": "Unauthenticated", "message": "needs a token"}}, 401
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def url(monkeypatch, tmp_path):
    for var in ("GANTRY_URL", "GANTRY_TOKEN", "GANTRY_RUN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    _Recorder.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=srv.serve_forever)
    thread.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join()


def _config(tmp_path, **fields):
    (tmp_path / "p" / ".gantry").mkdir(parents=True, exist_ok=True)
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps(fields))
    return str(tmp_path / "p")


def test_config_token_is_sent(url, tmp_path):
    ws = Workspace.from_config(_config(tmp_path, server=url, token="gtp_good"))
    ws._client().get("/api/v1/runs")
    assert _Recorder.seen == ["Bearer gtp_good"]


def test_env_token_wins_and_a_bad_one_is_unauthenticated(url, tmp_path, monkeypatch):
    monkeypatch.setenv("GANTRY_TOKEN", "gtp_other")
    ws = Workspace.from_config(_config(tmp_path, server=url, token="gtp_good"))
    with pytest.raises(UnauthenticatedError, match="needs a token"):
        ws._client().get("/api/v1/runs")
    assert _Recorder.seen == ["Bearer gtp_other"]


def test_a_config_token_never_goes_to_another_server(url, tmp_path, monkeypatch):
    monkeypatch.setenv("GANTRY_URL", url)
    ws = Workspace.from_config(_config(tmp_path, server="http://127.0.0.1:1", token="gtp_good"))
    with pytest.raises(UnauthenticatedError):
        ws._client().get("/api/v1/runs")
    assert _Recorder.seen == [""]


def test_stored_login_then_run_token(url, tmp_path, monkeypatch):
    creds = tmp_path / "xdg" / "gantry" / "credentials.json"
    creds.parent.mkdir(parents=True)
    creds.write_text(json.dumps({"servers": {url: {"token": "gtp_good"}}}))
    Workspace(url)._client().get("/api/v1/runs")
    creds.unlink()
    monkeypatch.setenv("GANTRY_RUN_TOKEN", "gtr_in_a_run")
    with pytest.raises(UnauthenticatedError):
        Workspace(url)._client().get("/api/v1/runs")
    assert Workspace(url, token="gtp_good")._client().get("/api/v1/runs") == {"runs": []}
    assert _Recorder.seen == ["Bearer gtp_good", "Bearer gtr_in_a_run", "Bearer gtp_good"]
