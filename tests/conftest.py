"""Fixtures for integration tests that drive the real `gantry` binary.

Every test gets its own workspace folder and server on a free port. Waiting is always on
a condition (a long poll on the run's events, a process exit), bounded in count.
"""
import contextlib
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

GANTRY = os.environ.get("GANTRY_BIN") or str(Path(__file__).resolve().parents[1] / "build" / "gantry")
TERMINAL = {"Completed", "Failed", "Canceled"}
# The venv with TensorFlow and the real protocol clients (scripts/install-test-venv.sh).
TEST_VENV = Path(os.environ.get("GANTRY_TEST_VENV") or
                 Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gantry" / "test-venv")


def python_of_test_venv() -> Path:
    """The test venv's interpreter. A test that needs it fails, never skips, without it."""
    python = TEST_VENV / "bin" / "python"
    if not python.exists():
        pytest.fail(f"the test venv {TEST_VENV} (TensorFlow, tritonclient) is missing: run "
                    "scripts/install-test-venv.sh (scripts/install-deps.sh runs it)")
    return python


class Server:
    def __init__(self, workspace: Path, slots: int = 2, extra_args=()):
        self.workspace = workspace
        self.slots = slots
        self.extra_args = list(extra_args)
        self.proc = None
        self.token = ""
        self.url = None
        self.port = 0
        # For a server started with --tls-cert: the CA file its clients verify it with.
        self.ca_file = None

    def start(self):
        args = [GANTRY, "server", "--workspace", str(self.workspace), "--slots", str(self.slots),
                "--port", str(self.port)] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(self.workspace.parent / "server.err", "ab"),
                                     text=True)
        line = self.proc.stdout.readline()
        assert "listening on" in line, f"server did not start: {line!r} {self.log()}"
        self.url = line.strip().split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        # The first start of a workspace writes its owner token into config.json.
        self.token = json.loads((self.workspace / "config.json").read_text()).get("token", "")
        return self

    def log(self):
        p = self.workspace.parent / "server.err"
        return p.read_text() if p.exists() else ""

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        # Runners outlive their server on purpose (they wait for it to come back); a test's
        # workspace is gone for good, so stop its runners: on SIGTERM a runner stops its job
        # and exits.
        subprocess.run(["pkill", "-TERM", "-f", "--", f"--work-dir {self.workspace}/runs/"], check=False)

    # REST helpers -------------------------------------------------------------------------
    def request(self, method, path, body=None, raw=None, headers=None, token=None):
        """As the workspace's owner unless `token` is given ("" sends no credential)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = dict(headers or {})
        token = self.token if token is None else token
        if token and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        context = ssl.create_default_context(cafile=self.ca_file) if self.url.startswith("https://") else None
        try:
            with urllib.request.urlopen(req, timeout=60, context=context) as r:
                payload = r.read()
                return r.status, (json.loads(payload) if payload and r.headers.get_content_type() == "application/json" else payload)
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                return e.code, json.loads(payload)
            except ValueError:
                return e.code, payload

    def run(self, name):
        status, body = self.request("GET", f"/api/v1/runs/{name}")
        assert status == 200, body
        return body

    def wait_for(self, name, predicate, max_polls=120):
        """Long-polls the run's events until predicate(run_json, log_text) holds."""
        since, offset, log = 0, 0, ""
        for _ in range(max_polls):
            run = self.run(name)
            if predicate(run, log):
                return run, log
            status, ev = self.request(
                "GET", f"/api/v1/runs/{name}/events?since={since}&offset={offset}&wait_ms=5000")
            assert status == 200, ev
            since, offset = ev["next"], ev["offset"]
            log += ev["log"]
            if ev["terminal"] and not ev["log"] and not ev["events"]:
                run = self.run(name)
                assert predicate(run, log), f"run ended as {run['status']} ({run['error']}); log:\n{log}"
                return run, log
        raise AssertionError(f"condition never held for run {name}")

    def wait_terminal(self, name):
        run, _ = self.wait_for(name, lambda r, _: r["status"] in TERMINAL)
        return run

    # CLI -------------------------------------------------------------------------------------
    def cli(self, *args, cwd=None, check=False, timeout=300, token=None):
        """Runs the CLI against this server as its owner (or with `token`; "" for none)."""
        env = dict(os.environ, GANTRY_TOKEN=self.token if token is None else token)
        if self.ca_file:
            env["GANTRY_CA_FILE"] = self.ca_file
        p = subprocess.run([GANTRY, *args, "--server", self.url], cwd=cwd, capture_output=True,
                           text=True, timeout=timeout, env=env)
        if check:
            assert p.returncode == 0, f"gantry {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
        return p


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "ws").start()
    yield s
    s.stop()


@pytest.fixture
def make_server(tmp_path):
    made = []

    def make(slots=2):
        s = Server(tmp_path / f"ws{len(made)}", slots=slots).start()
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def write_job(folder: Path, command: str, extra: str = "", files=None, name="job.yml"):
    """Writes a project folder with files and a command-job YAML; returns the YAML path."""
    code = folder / "src"
    code.mkdir(parents=True, exist_ok=True)
    for rel, content in (files or {}).items():
        p = code / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(content))
    yml = folder / name
    yml.write_text(f"$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n"
                   f"command: {json.dumps(command)}\ncode: ./src\nenvironment: python:{sys.executable}\n"
                   f"compute: local\n" + textwrap.dedent(extra))
    return yml


def submitted_name(proc):
    for line in proc.stdout.splitlines():
        if line.startswith("Submitted run "):
            return line.split()[2]
    raise AssertionError(f"no run name in output:\n{proc.stdout}\n{proc.stderr}")


@contextlib.contextmanager
def serve_bytes(content, special=None):
    """A local HTTP server on 127.0.0.1 answering GET PATH with content[PATH] (404 for other
    paths); `special(handler)` may answer a request itself and return True. Yields its base
    URL, "http://127.0.0.1:PORT"."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if special is not None and special(self):
                return
            body = content.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        thread.join()


@pytest.fixture
def live_run(server, tmp_path):
    """A running run and its own token, for calling the runner endpoints as its runner would:
    the job publishes $GANTRY_RUN_TOKEN to a file, then waits for the test to end."""
    gate = tmp_path / "live_run.gate"
    token_file = tmp_path / "live_run.token"
    yml = write_job(tmp_path / "live_run", f"bash -c 'echo \"$GANTRY_RUN_TOKEN\" > {token_file}; "
                                           f"while [ ! -e {gate} ]; do sleep 0.1; done'")
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    wait_until(lambda: token_file.exists() and token_file.read_text().strip(), "the run's token")
    yield name, token_file.read_text().strip()
    gate.touch()
    server.wait_terminal(name)


@pytest.fixture
def sdk_isolated(tmp_path, monkeypatch):
    """For SDK tests: hash caches in the test's folder; no server URL from the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GANTRY_URL", raising=False)


@pytest.fixture
def project_ws(server, tmp_path, monkeypatch):
    """For SDK tests: a project folder with .gantry/config.json pointing at the server, the
    current folder inside it, and Workspace.from_config() of it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
    from gantry import Workspace
    project = tmp_path / "project"
    (project / ".gantry").mkdir(parents=True)
    (project / ".gantry" / "config.json").write_text(
        json.dumps({"server": server.url, "workspace_name": "default", "token": server.token}))
    monkeypatch.chdir(project)
    return Workspace.from_config()


def wait_until(predicate, what, polls=600, interval=0.1):
    """Calls `predicate` until it returns something truthy, at most `polls` times, `interval`
    seconds apart; returns that value, or fails naming `what`."""
    for _ in range(polls):
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def alive(pid):
    """Whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def run_log(server, name, stream="std_log.txt"):
    """A log stream of run `name`, as text."""
    status, body = server.request("GET", f"/api/v1/runs/{name}/logs/{stream}")
    assert status == 200, (stream, body)
    return body.decode() if isinstance(body, bytes) else json.dumps(body)
