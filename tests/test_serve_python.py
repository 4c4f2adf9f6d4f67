"""`gantry serve --backend python` (Azure ML entry scripts in worker processes) and
`--backend tensorflow-serving` (TensorFlow Serving's tensorflow_model_server as a child; a stand-in
program plays it here, since TF Serving is not installed on the test machines).

Waiting is on conditions: a line on stdout, a process exit, a FIFO opened by the entry
script (which tells that run() is in flight), bounded polls of /metrics or /proc."""
import json
import os
import signal
import subprocess
import textwrap
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import GANTRY, alive, wait_until

ENTRY_SCRIPT = r'''
import ctypes, json, os, signal, subprocess, sys, time

def init():
    global labels
    model_dir = os.environ["AZUREML_MODEL_DIR"]
    assert os.environ["GANTRY_MODEL_DIR"] == model_dir
    with open(os.path.join(model_dir, "labels.json")) as f:
        labels = json.load(f)
    pids = os.environ.get("TEST_PIDS_DIR")
    if pids:  # the test checks that these are gone after shutdown
        child = subprocess.Popen(["sleep", "1000"])
        for pid in (os.getpid(), child.pid):
            open(os.path.join(pids, str(pid)), "w").close()
    print("init loaded", len(labels), "labels")

def run(raw_data):
    req = json.loads(raw_data)
    op = req.get("op")
    if op == "label":
        return {"labels": [labels[i] for i in req["data"]], "cwd": os.getcwd(),
                "path0": sys.path[0], "raw_type": type(raw_data).__name__}
    if op == "pid":
        return os.getpid()
    if op == "str":
        return "plain text"
    if op == "none":
        return None
    if op == "bytes":
        return b"raw"
    if op == "raise":
        raise ValueError("bad input: " + str(req.get("why")))
    if op == "exit":
        os._exit(req["code"])
    if op == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if op == "segv":
        ctypes.string_at(0)
    if op == "sleep":
        time.sleep(req["seconds"])
        return "slept"
    if op == "print":
        print("USER-STDOUT-MARKER")
        print("USER-STDERR-MARKER", file=sys.stderr)
        return "printed"
    if op == "block":  # holds run() until the test writes to the FIFO
        with open(req["fifo"]) as f:
            return {"got": f.read(), "pid": os.getpid()}
    raise KeyError(op)
'''


def call(url, method="GET", body=None, raw=None, timeout=60):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
            return r.status, (json.loads(text) if r.headers.get_content_type() == "application/json" else text.decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def metric(url, name):
    _, text = call(url + "/metrics")
    for line in text.splitlines():
        if line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


class Served:
    """A running `gantry serve --backend python`; stderr goes to a file (the deployment log)."""

    def __init__(self, tmp_path, *args, script=ENTRY_SCRIPT, env=None, model=True):
        self.tmp = tmp_path
        self.src = tmp_path / "src"
        self.src.mkdir(exist_ok=True)
        self.script = self.src / "score.py"
        self.script.write_text(textwrap.dedent(script))
        self.model = tmp_path / "mymodel"
        self.model.mkdir(exist_ok=True)
        (self.model / "labels.json").write_text(json.dumps(["cat", "dog", "bird"]))
        self.port_file = tmp_path / "port"
        self.err_path = tmp_path / "serve.err"
        cmd = [GANTRY, "serve", "--backend", "python", "--entry-script", str(self.script),
               "--port", "0", "--port-file", str(self.port_file), *args]
        if model:
            cmd += ["--model", str(self.model)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.err_path, "wb"),
                                     text=True, env={**os.environ, **(env or {})})
        self.url = None

    def started(self):
        self.line = self.proc.stdout.readline()
        assert "Serving model" in self.line, f"no start line: {self.line!r}\n{self.log()}"
        self.url = self.line.strip().split()[-1]
        assert self.url.endswith(":" + self.port_file.read_text().strip())
        return self

    def log(self):
        return self.err_path.read_text(errors="replace")

    def score(self, body, **kw):
        return call(self.url + "/score", "POST", body, **kw)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture
def serve(tmp_path):
    made = []

    def make(*args, **kw):
        s = Served(tmp_path, *args, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(timeout=60)


class Blocker:
    """A request whose run() waits on a FIFO: entered() returns once run() is in flight."""

    def __init__(self, served, name):
        self.fifo = served.tmp / name
        os.mkfifo(self.fifo)
        self.result = None
        self.thread = threading.Thread(target=self._send, args=(served,), daemon=True)
        self.thread.start()
        self.fd = None

    def _send(self, served):
        self.result = served.score({"op": "block", "fifo": str(self.fifo)})

    def entered(self):
        def open_writer():  # ENXIO until run() has the FIFO open for reading
            try:
                return os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                return None
        self.fd = wait_until(open_writer, f"run() opened {self.fifo}")
        return self

    def release(self, text="go"):
        os.write(self.fd, text.encode())
        os.close(self.fd)
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()
        return self.result


def test_scores_through_the_entry_script_with_the_model_dir(serve):
    s = serve().started()
    status, out = s.score({"op": "label", "data": [2, 0]})
    assert status == 200, out
    assert out["labels"] == ["bird", "cat"]
    assert out["cwd"] == str(s.src) and out["path0"] == str(s.src) and out["raw_type"] == "str"
    # run()'s return value is JSON-encoded as Azure ML's server does: a str becomes a JSON string.
    assert s.score({"op": "str"}) == (200, "plain text")
    assert s.score({"op": "none"}) == (200, None)
    status, err = s.score({"op": "bytes"})
    assert status == 500 and "bytes" in err["error"]
    # A body that is not JSON reaches run() too (and here makes it raise).
    status, err = s.score(None, raw=b"not json")
    assert status == 500 and "JSONDecodeError" in err["error"]
    assert call(s.url + "/")[0] == 200
    assert call(s.url + "/v2/health/live")[0] == 200
    assert call(s.url + "/v2/health/ready")[0] == 200
    assert call(s.url + "/v2/models/mymodel/ready")[0] == 200
    status, err = call(s.url + "/v2/models/mymodel/infer", "POST", {"inputs": []})
    assert status == 404 and "POST /score" in err["error"]
    status, err = call(s.url + "/v1/models/mymodel:predict", "POST", {"instances": [[1]]})
    assert status == 404 and "POST /score" in err["error"]
    assert metric(s.url, "gantry_serve_workers_alive") == 1
    assert metric(s.url, "gantry_serve_requests_total") >= 5
    assert s.stop() == 0


def test_source_dir_is_the_working_folder_and_first_on_sys_path(serve, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "helper.py").write_text("GREETING = 'from the source dir'\n")
    script = """
        import os, sys
        import helper
        def init():
            pass
        def run(raw_data):
            return {"greeting": helper.GREETING, "cwd": os.getcwd(), "path0": sys.path[0],
                    "model_dir": os.environ.get("AZUREML_MODEL_DIR")}
        """
    s = serve("--source-dir", str(code), "--name", "greeter", script=script, model=False).started()
    assert "Serving model 'greeter'" in s.line
    status, out = s.score({})
    assert status == 200
    assert out == {"greeting": "from the source dir", "cwd": str(code), "path0": str(code),
                   "model_dir": None}
    assert call(s.url + "/v2/models/greeter")[1]["platform"] == "python"
    assert s.stop() == 0


def test_several_workers_run_requests_at_the_same_time(serve):
    s = serve("--workers", "3").started()
    blockers = [Blocker(s, f"fifo{i}") for i in range(3)]
    # All three run() calls are in flight at once, each in its own worker.
    for b in blockers:
        b.entered()
    assert metric(s.url, "gantry_serve_workers_busy") == 3
    results = [b.release(f"r{i}") for i, b in enumerate(blockers)]
    assert [r[0] for r in results] == [200, 200, 200]
    assert sorted(r[1]["got"] for r in results) == ["r0", "r1", "r2"]
    assert len({r[1]["pid"] for r in results}) == 3
    assert s.stop() == 0


def test_a_full_queue_is_refused_with_503(serve):
    s = serve("--workers", "1", "--max-queued-requests", "0").started()
    b = Blocker(s, "fifo").entered()
    status, err = s.score({"op": "pid"})
    assert status == 503 and "busy" in err["error"], err
    assert b.release()[0] == 200
    assert s.score({"op": "pid"})[0] == 200
    assert s.stop() == 0


def test_an_exception_in_run_is_a_500_naming_it(serve):
    s = serve().started()
    _, pid = s.score({"op": "pid"})
    status, err = s.score({"op": "raise", "why": "negative size"})
    assert status == 500
    assert "ValueError" in err["error"] and "negative size" in err["error"], err
    assert "Traceback" not in err["error"]
    # The traceback is in the log, the worker keeps serving.
    wait_until(lambda: "[worker 1] ValueError: bad input: negative size" in s.log(), "traceback logged")
    assert "[worker 1] Traceback" in s.log()
    assert s.score({"op": "pid"}) == (200, pid)
    assert s.stop() == 0


@pytest.mark.parametrize("op, needle", [
    ({"op": "exit", "code": 3}, "exited with code 3"),
    ({"op": "kill"}, "signal 9 (SIGKILL)"),
    ({"op": "segv"}, "(SIGSEGV)"),
], ids=["exit", "sigkill", "segfault"])
def test_a_worker_dying_mid_request_is_a_500_and_it_is_restarted(serve, op, needle):
    s = serve().started()
    _, pid = s.score({"op": "pid"})
    status, err = s.score(op)
    assert status == 500 and needle in err["error"] and "worker 1" in err["error"], err
    # The next request is served by a fresh worker (init() ran again).
    status, new_pid = s.score({"op": "pid"})
    assert status == 200 and new_pid != pid
    assert not alive(pid)
    assert metric(s.url, "gantry_serve_worker_restarts_total") == 1
    wait_until(lambda: s.log().count("[worker 1] init loaded 3 labels") == 2, "init() ran again, logged")
    assert "while running a request; restarting" in s.log()
    assert s.stop() == 0


def test_a_worker_dying_while_idle_is_restarted(serve):
    s = serve().started()
    _, pid = s.score({"op": "pid"})
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: metric(s.url, "gantry_serve_worker_restarts_total") == 1 and
         metric(s.url, "gantry_serve_workers_alive") == 1, "the worker was restarted")
    status, new_pid = s.score({"op": "pid"})
    assert status == 200 and new_pid != pid
    assert "while idle; restarting" in s.log()
    assert s.stop() == 0


def test_a_request_past_the_timeout_is_a_504_and_the_worker_is_replaced(serve):
    s = serve("--request-timeout-ms", "1000").started()
    _, pid = s.score({"op": "pid"})
    status, err = s.score({"op": "sleep", "seconds": 600})
    assert status == 504 and "1000 ms" in err["error"], err
    assert not alive(pid)
    status, new_pid = s.score({"op": "pid"})
    assert status == 200 and new_pid != pid
    assert s.stop() == 0


@pytest.mark.parametrize("script, needles", [
    ("def init():\n    raise RuntimeError('model file missing')\ndef run(raw):\n    return 1\n",
     ["init() failed", "Traceback", "RuntimeError: model file missing"]),
    ("import os\ndef init():\n    os._exit(7)\ndef run(raw):\n    return 1\n",
     ["exited with code 7 before init() returned"]),
    ("def init():\n    pass\n", ["defines no run() function"]),
    ("import no_such_module_here\n", ["ModuleNotFoundError", "no_such_module_here"]),
], ids=["raises", "exits", "no-run", "import-error"])
def test_init_failure_stops_serve_before_the_port_file(serve, script, needles):
    s = serve("--workers", "2", script=script)
    code = s.proc.wait(timeout=60)
    assert code != 0
    log = s.log()
    for needle in needles:
        assert needle in log, log
    assert not s.port_file.exists()
    assert s.proc.stdout.read() == ""


def test_missing_entry_script_or_interpreter(serve, tmp_path):
    p = subprocess.run([GANTRY, "serve", "--backend", "python", "--entry-script", str(tmp_path / "nope.py")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 3 and "nope.py" in p.stderr
    s = serve("--python", str(tmp_path / "no-python"))
    assert s.proc.wait(timeout=60) != 0
    assert "no-python" in s.log()


def test_user_prints_go_to_the_log_not_the_response(serve):
    s = serve().started()
    assert s.score({"op": "print"}) == (200, "printed")
    wait_until(lambda: "[worker 1] USER-STDERR-MARKER" in s.log(), "stderr forwarded")
    wait_until(lambda: "[worker 1] USER-STDOUT-MARKER" in s.log(), "stdout forwarded")
    assert "[worker 1] init loaded 3 labels" in s.log()
    assert s.stop() == 0


def test_sigterm_finishes_the_request_in_flight_and_leaves_no_process(serve, tmp_path):
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    s = serve("--workers", "2", env={"TEST_PIDS_DIR": str(pids_dir)}).started()
    pids = [int(p.name) for p in pids_dir.iterdir()]
    assert len(pids) == 4 and all(alive(p) for p in pids)  # two workers, each with a `sleep`
    b = Blocker(s, "fifo").entered()
    s.proc.send_signal(signal.SIGTERM)
    # While it drains, new requests are refused.
    wait_until(lambda: s.score({"op": "pid"})[0] == 503, "new requests refused while draining")
    status, out = b.release("finished")
    assert status == 200 and out["got"] == "finished"
    assert s.proc.wait(timeout=60) == 0
    wait_until(lambda: not any(alive(p) for p in pids), "every worker and its children are gone")


# ---- --backend tensorflow-serving ----------------------------------------------------------------

STAND_IN = r'''#!/usr/bin/python3
# Plays tensorflow_model_server for the tests: records its arguments, serves model status.
import http.server, json, os, signal, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
base = args["model_base_path"]
record = {"argv": sys.argv[1:], "versions": sorted(os.listdir(base)),
          "version_1": os.path.realpath(os.path.join(base, "1")) if os.path.exists(os.path.join(base, "1")) else None}
out = os.environ["STAND_IN_RECORD"]
json.dump(record, open(out, "w"))
if os.environ.get("STAND_IN_FAIL"):
    print("stand-in: failing on purpose", file=sys.stderr)
    sys.exit(3)

def stop(signum, frame):
    record["signal"] = signum
    json.dump(record, open(out, "w"))
    os._exit(0)
signal.signal(signal.SIGTERM, stop)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/v1/models/" + args["model_name"]
        body = json.dumps({"model_version_status": [{"version": "1", "state": "AVAILABLE"}]} if ok else {"error": "no"}).encode()
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("0.0.0.0", int(args["rest_api_port"])), Handler).serve_forever()
'''


def test_tensorflow_without_tf_serving_fails_at_once(tmp_path):
    model = tmp_path / "tfmodel"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"\0")
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    p = subprocess.run([GANTRY, "serve", "--backend", "tensorflow-serving", "--model", str(model), "--port", "0",
                        "--port-file", str(tmp_path / "port")],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "PATH": str(empty_bin)})
    assert p.returncode == 5, p.stderr
    assert "tensorflow_model_server" in p.stderr and "not on PATH" in p.stderr
    assert not (tmp_path / "port").exists()


@pytest.fixture
def stand_in(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    prog = bin_dir / "tensorflow_model_server"
    prog.write_text(STAND_IN)
    prog.chmod(0o755)
    record = tmp_path / "record.json"
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STAND_IN_RECORD": str(record)}, record


@pytest.mark.parametrize("layout", ["bare", "versioned"])
def test_tensorflow_runs_tf_serving_with_its_flags(tmp_path, stand_in, layout):
    env, record = stand_in
    model = tmp_path / "tfmodel"
    saved = model if layout == "bare" else model / "3"
    saved.mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"\0")
    port_file = tmp_path / "port"
    err = tmp_path / "serve.err"
    proc = subprocess.Popen([GANTRY, "serve", "--backend", "tensorflow-serving", "--model", str(model), "--port", "0",
                             "--port-file", str(port_file)],
                            stdout=subprocess.PIPE, stderr=open(err, "wb"), text=True, env=env)
    line = proc.stdout.readline()
    assert "Serving model 'tfmodel'" in line, line + err.read_text()
    port = int(port_file.read_text())
    assert line.strip().endswith(f":{port}")
    rec = json.loads(record.read_text())
    flags = dict(a[2:].split("=", 1) for a in rec["argv"])
    assert flags["rest_api_port"] == str(port) and flags["model_name"] == "tfmodel"
    assert flags["port"] != str(port)  # gRPC gets a port of its own
    if layout == "bare":  # presented as version 1 of a base path
        assert rec["versions"] == ["1"] and rec["version_1"] == os.path.realpath(model)
    else:
        assert flags["model_base_path"] == str(model) and rec["versions"] == ["3"]
    # Clients talk to TF Serving itself.
    status, state = call(f"http://127.0.0.1:{port}/v1/models/tfmodel")
    assert status == 200 and state["model_version_status"][0]["state"] == "AVAILABLE"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert json.loads(record.read_text())["signal"] == signal.SIGTERM
    if layout == "bare":  # the temporary base path is cleaned up
        assert not Path(flags["model_base_path"]).exists()


def test_tensorflow_serving_failing_to_start_fails_serve(tmp_path, stand_in):
    env, record = stand_in
    model = tmp_path / "tfmodel"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"\0")
    p = subprocess.run([GANTRY, "serve", "--backend", "tensorflow-serving", "--model", str(model),
                        "--port-file", str(tmp_path / "port")],
                       capture_output=True, text=True, timeout=60, env={**env, "STAND_IN_FAIL": "1"})
    assert p.returncode != 0
    assert "exited with code 3" in p.stderr and "failing on purpose" in p.stderr
    assert not (tmp_path / "port").exists()
