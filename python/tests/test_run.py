"""Tests of gantry.Run (offline and online), the HTTP client and the error mapping."""

import http.server
import json
import math
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import gantry
from gantry import Run
from gantry import run as run_mod
from gantry._http import Client
from gantry.errors import (AlreadyExistsError, FailedPreconditionError, GantryError,
                           InternalError, InvalidArgumentError, NotFoundError,
                           UnauthenticatedError, UnavailableError, error_from_response)

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_VARS = ["GANTRY_RUN_ID", "GANTRY_URL", "GANTRY_RUN_TOKEN", "GANTRY_EXPERIMENT_NAME",
            "GANTRY_METRICS_FILE"]


@pytest.fixture(autouse=True)
def clean_context(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    run_mod._reset_context()
    yield
    run_mod._reset_context()


@pytest.fixture
def metrics_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    monkeypatch.setenv("GANTRY_RUN_ID", "run-1")
    monkeypatch.setenv("GANTRY_METRICS_FILE", str(path))
    monkeypatch.setenv("GANTRY_EXPERIMENT_NAME", "exp-a")
    monkeypatch.setenv("GANTRY_RUN_TOKEN", "tok-123")
    return path


def read_lines(path):
    """The file's lines; asserts that every one is complete."""
    data = path.read_bytes() if path.exists() else b""
    assert data == b"" or data.endswith(b"\n")
    return data.decode("utf-8").splitlines()


def without_ts(lines, since_ms):
    """Replaces each line's ts with 0 after checking it is a current epoch-millis time."""
    out = []
    now = int(time.time() * 1000)
    for line in lines:
        m = re.search(r',"ts":(\d+)\}$', line)
        if m:
            assert since_ms <= int(m.group(1)) <= now
            line = line[:m.start()] + ',"ts":0}'
        out.append(line)
    return out


# ----------------------------------------------------------------------------- offline

def test_offline_run_prints_and_keeps_metrics(capsys):
    run = Run.get_context()
    assert isinstance(run, Run) and run is Run.get_context()
    assert run.id.startswith("OfflineRun_")
    assert run.experiment.name == "offline"
    run.log("accuracy", 0.91)
    run.log("loss", 0.5, step=0)
    run.log("loss", 0.4, step=1)
    run.log_list("lr", [0.1, 0.01])
    run.log_row("pr", precision=0.8, recall=0.7)
    run.tag("model", "resnet")
    out = capsys.readouterr().out
    assert out.startswith("Attempted to log scalar metric accuracy:\n0.91\n")
    assert "Attempted to log list metric lr:\n[0.1, 0.01]\n" in out
    assert "Attempted to log row metric pr:\n" in out
    assert "Attempted to set tag model:\nresnet\n" in out
    assert run.get_metrics() == {"accuracy": 0.91, "loss": [0.5, 0.4], "lr": [0.1, 0.01],
                                 "pr": {"precision": 0.8, "recall": 0.7}}
    assert run.get_metrics("loss") == {"loss": [0.5, 0.4]}
    assert run.get_metrics("nope") == {}
    assert run.get_tags() == {"model": "resnet"}
    assert run.get_status() == "Running"
    run.flush()
    run.complete()


def test_offline_not_allowed():
    with pytest.raises(FailedPreconditionError):
        Run.get_context(allow_offline=False)


@pytest.mark.parametrize("call, exc, text", [
    (lambda r: r.log("", 1), ValueError, "metric name"),
    (lambda r: r.log(3, 1), TypeError, "metric name"),
    (lambda r: r.log("m", None), TypeError, "'m'"),
    (lambda r: r.log("m", [1]), TypeError, "'m'"),
    (lambda r: r.log("m", 1, step=-1), ValueError, "step"),
    (lambda r: r.log("m", 1, step=True), TypeError, "step"),
    (lambda r: r.log_list("m", "abc"), TypeError, "'m'"),
    (lambda r: r.log_list("m", [1, object()]), TypeError, "'m'"),
    (lambda r: r.log_row("m"), ValueError, "'m'"),
    (lambda r: r.log_table("m", [1, 2]), TypeError, "'m'"),
    (lambda r: r.log_table("m", {1: [1]}), TypeError, "'m'"),
    (lambda r: r.tag("", "v"), ValueError, "tag key"),
])
def test_invalid_arguments_are_rejected(capsys, call, exc, text):
    run = Run.get_context()
    with pytest.raises(exc, match=re.escape(text)):
        call(run)
    assert run.get_metrics() == {}


# ----------------------------------------------------------------------------- online

def test_online_records_are_exact_json_lines(metrics_file):
    since = int(time.time() * 1000)
    run = Run.get_context()
    assert run is Run.get_context() and isinstance(run, Run)
    assert run.id == "run-1" and run.experiment.name == "exp-a"
    run.log("acc", 0.5)
    run.log("loss", 2, description="training loss", step=3)
    run.log("flag", True)
    run.log("name", "h\u00e9llo \"q\"\n")
    run.log("nan", float("nan"))
    run.log("inf", math.inf)
    run.log("ninf", -math.inf)
    run.log_list("l", [1, 2.5, "x"])
    run.log_row("pr", precision=0.8, recall=None)
    run.log_table("tbl", {"a": [1, 2], "b": ["x", "y"]})
    run.tag("model", "resnet")
    run.tag("bare")
    run.set_tags({"epochs": 10})
    run.flush()
    assert without_ts(read_lines(metrics_file), since) == [
        '{"t":"metric","key":"acc","value":0.5,"step":null,"ts":0}',
        '{"t":"metric","key":"loss","value":2,"step":3,"ts":0}',
        '{"t":"metric","key":"flag","value":true,"step":null,"ts":0}',
        '{"t":"metric","key":"name","value":"h\u00e9llo \\"q\\"\\n","step":null,"ts":0}',
        '{"t":"metric","key":"nan","value":"NaN","step":null,"ts":0}',
        '{"t":"metric","key":"inf","value":"Infinity","step":null,"ts":0}',
        '{"t":"metric","key":"ninf","value":"-Infinity","step":null,"ts":0}',
        '{"t":"metric","key":"l","value":1,"step":null,"ts":0}',
        '{"t":"metric","key":"l","value":2.5,"step":null,"ts":0}',
        '{"t":"metric","key":"l","value":"x","step":null,"ts":0}',
        '{"t":"metric","key":"pr","value":{"precision":0.8,"recall":null},"step":null,"ts":0}',
        '{"t":"metric","key":"tbl","value":{"a":[1,2],"b":["x","y"]},"step":null,"ts":0}',
        '{"t":"tag","key":"model","value":"resnet"}',
        '{"t":"tag","key":"bare","value":""}',
        '{"t":"tag","key":"epochs","value":"10"}',
    ]


def _watch_writes(writer):
    """Sets the returned event after each append to the file."""
    event, append = threading.Event(), writer._append

    def wrapped(data, count):
        append(data, count)
        event.set()
    writer._append = wrapped
    return event


def test_background_thread_writes_within_interval(metrics_file):
    run = Run.get_context()
    written = _watch_writes(run._writer)
    run.log("x", 1)
    assert written.wait(10), "no write without flush()"
    assert len(read_lines(metrics_file)) == 1


def test_a_record_after_a_quiet_spell_is_written_at_once(metrics_file):
    run = Run.get_context()
    run._writer.flush_interval = 3600  # batching alone would hold it for an hour ...
    run._writer._last_write = run._writer._clock() - 7200  # ... but the last write was long ago
    written = _watch_writes(run._writer)
    run.log("accuracy", 0.1)
    assert written.wait(10), "a record after a quiet spell was held back"
    assert [json.loads(line)["key"] for line in read_lines(metrics_file)] == ["accuracy"]


def test_thousand_pending_records_are_written_at_once(metrics_file):
    run = Run.get_context()
    run._writer.flush_interval = 3600  # only the size trigger can write ...
    run._writer._last_write = run._writer._clock()  # ... once a write has just happened
    written = _watch_writes(run._writer)
    run.log_list("x", range(999))
    assert not written.is_set()
    run.log("x", 999)
    assert written.wait(10), "1000 pending records were not written"
    lines = read_lines(metrics_file)
    assert [json.loads(line)["value"] for line in lines] == list(range(1000))


def test_burst_from_threads_lands_complete_and_in_order(metrics_file):
    run = Run.get_context()

    def worker(k):
        for i in range(1500):
            run.log("w%d" % k, i, step=i)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.flush()
    records = [json.loads(line) for line in read_lines(metrics_file)]
    assert len(records) == 4500
    for k in range(3):
        assert [r["step"] for r in records if r["key"] == "w%d" % k] == list(range(1500))


@pytest.mark.parametrize("where", ["main", "worker", "atexit"])
def test_records_are_written_at_exit_without_flush(metrics_file, where):
    script = textwrap.dedent("""
        import sys, threading
        sys.path.insert(0, %r)
        from gantry import Run
        run = Run.get_context()
        run._writer.flush_interval = 3600  # leave the writing to exit
        run._writer._last_write = run._writer._clock()
        def work():
            for i in range(5):
                run.log("x", i, step=i)
            run.tag("done", "yes")
        where = %r
        if where == "main":
            work()
        elif where == "worker":
            threading.Thread(target=work).start()  # not joined: main just ends
        else:
            import atexit
            atexit.register(work)  # runs at exit, before the SDK's own handler
    """) % (PYTHON_DIR, where)
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in read_lines(metrics_file)]
    assert [r.get("step") for r in records] == [0, 1, 2, 3, 4, None]
    assert records[-1] == {"t": "tag", "key": "done", "value": "yes"}


def test_unwritable_metrics_file_warns_and_drops(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANTRY_RUN_ID", "run-1")
    monkeypatch.setenv("GANTRY_METRICS_FILE", str(tmp_path / "no" / "such" / "dir" / "m.jsonl"))
    run = Run.get_context()
    run.log("x", 1)
    run.flush()
    assert "lost 1 run records" in capsys.readouterr().err


# ----------------------------------------------------------------------------- server

class _Handler(http.server.BaseHTTPRequestHandler):
    seen = []
    routes = {
        "/api/v1/runs/run-1/metrics": (200, {"metrics": {
            "loss": [{"step": 0, "value": 0.5, "timestamp": 1700000000000},
                     {"step": 1, "value": 0.4, "timestamp": 1700000000001}],
            "acc": [{"step": None, "value": 0.9, "timestamp": 1700000000002}]}}),
        "/api/v1/runs/run-1": (200, {"name": "run-1", "status": "Running"}),
        "/api/v1/runs/missing": (404, {"error": {"code": "NotFound",
                                                 "message": "run 'missing' not found"}}),
        "/api/v1/garbled": (409, b"<html>conflict</html>"),
    }

    def _answer(self, status, body):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self._answer(*self.routes.get(self.path.split("?")[0], (404, b"")))

    def do_POST(self):
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._answer(200, {"echo": body, "type": self.headers["Content-Type"]})

    def do_PUT(self):
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        data = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(200, {"size": len(data), "type": self.headers["Content-Type"]})

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever)
    thread.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_get_metrics_and_status_from_server(metrics_file, server, monkeypatch):
    monkeypatch.setenv("GANTRY_URL", server + "/")
    run = Run.get_context()
    run.log("pending", 1)
    assert run.get_metrics() == {"loss": [0.5, 0.4], "acc": 0.9}
    assert len(read_lines(metrics_file)) == 1  # get_metrics flushed first
    assert run.get_metrics("acc") == {"acc": 0.9}
    assert run.get_metrics("nope") == {}
    assert run.get_status() == "Running"
    assert _Handler.seen[0] == ("GET", "/api/v1/runs/run-1/metrics", "Bearer tok-123")
    assert all(auth == "Bearer tok-123" for _, _, auth in _Handler.seen)


def test_get_metrics_needs_url(metrics_file):
    with pytest.raises(FailedPreconditionError, match="GANTRY_URL"):
        Run.get_context().get_metrics()


def test_client_round_trips_and_maps_errors(server):
    client = Client(server, token="t")
    assert client.get("/api/v1/runs/run-1") == {"name": "run-1", "status": "Running"}
    assert client.post("/api/v1/x", {"a": [1]}) == {"echo": {"a": [1]}, "type": "application/json"}
    assert client.put_bytes("/api/v1/blob", b"\x00" * 10) == {
        "size": 10, "type": "application/octet-stream"}
    with pytest.raises(NotFoundError) as info:
        client.get("/api/v1/runs/missing")
    assert info.value.code == "NotFound" and info.value.message == "run 'missing' not found"
    assert isinstance(info.value, GantryError)
    with pytest.raises(AlreadyExistsError, match="conflict"):
        client.get("/api/v1/garbled")
    no_token = Client(server)
    no_token.get("/api/v1/runs/run-1", params={"a": "b c"})
    assert _Handler.seen[-1] == ("GET", "/api/v1/runs/run-1?a=b+c", None)


def test_connection_refused_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = "http://127.0.0.1:%d" % port
    with pytest.raises(UnavailableError, match=re.escape(url)) as info:
        Client(url).get("/api/v1/runs")
    assert info.value.code == "Unavailable"


@pytest.mark.parametrize("status, body, cls, message", [
    (404, b'{"error":{"code":"NotFound","message":"no run"}}', NotFoundError, "no run"),
    (400, b'{"error":{"code":"FailedPrecondition","message":"m"}}', FailedPreconditionError, "m"),
    (401, b'{"error":{"code":"Bogus","message":"who"}}', UnauthenticatedError, "who"),
    (400, b"", InvalidArgumentError, "HTTP 400"),
    (503, b"busy", UnavailableError, "HTTP 503: busy"),
    (500, b"{not json", InternalError, "HTTP 500: {not json"),
    (418, b'{"error": "teapot"}', InternalError, 'HTTP 418: {"error": "teapot"}'),
])
def test_error_from_response(status, body, cls, message):
    err = error_from_response(status, body)
    assert type(err) is cls and err.message == message and err.code == cls.code


def test_version():
    assert gantry.__version__ == "0.1.0"
