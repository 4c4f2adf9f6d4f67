"""Serving the TorchScript MNIST DNN (examples/mnist/model) in `gantry serve`, default
configuration, beside the servers a user would pick instead, all from PyPI
(scripts/install-bench-deps.sh puts them in ~/.cache/gantry/bench-peers-venv, which sees
Debian's python3-torch): TorchServe (Java front-end, Python workers; a handler for the
TorchScript model), MLServer (Open Inference v2; a custom runtime, as MLServer has none for
TorchScript) and LitServe (Python-native, FastAPI). Each peer gets two workers (the
machine's cores) and one torch thread per worker; no peer batches, nor does gantry serve
by default. wrk posts one 784-float instance in each server's own request shape;
BENCH_ROUNDS rounds (default 3), interleaved; each row's median and gantry serve's ratio
against it, on the protocol they share (TF Serving-shaped rows or Open Inference v2)."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GANTRY, ROOT  # noqa: E402
from serve_throughput import measure, post_lua  # noqa: E402

MODEL = Path(os.environ.get("BENCH_MODEL", ROOT / "examples/mnist/model"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
VENV = Path(os.environ.get("BENCH_PEERS_VENV", Path.home() / ".cache/gantry/bench-peers-venv"))
PEERS = ROOT / "bench/baselines/peers"
ROW = "[" + ",".join(["0.5"] * 784) + "]"
ROWS_BODY = '{"instances": [' + ROW + "]}"
V2_BODY = '{"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": ' + ROW + "}]}"


def wait_up(url, body, tries=600):
    """Posts `body` as JSON until the server answers 200 (TorchServe and MLServer take seconds
    to start their workers)."""
    for _ in range(tries):
        try:
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError("no answer from " + url)


def stop(p):
    """Ends `p` and, for a peer (started in its own process group), everything it started:
    TorchServe's Java front-end and Python workers, MLServer's and LitServe's workers."""
    group = getattr(p, "peer", False)

    def send(sig):
        try:
            os.killpg(p.pid, sig) if group else p.send_signal(sig)
        except ProcessLookupError:
            pass
    send(signal.SIGTERM)
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        p.wait()
    if group:
        send(signal.SIGKILL)  # members that outlived the leader


class Peer:
    """Starts a server, answers (url, lua) once it serves, and stops it."""

    def __init__(self, tmp, procs):
        self.tmp, self.procs = tmp, procs

    def spawn(self, args, cwd=None, env=None):
        p = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(self.tmp / "peer.log", "a"), start_new_session=True)
        p.peer = True
        self.procs.append(p)
        return p


def gantry(tmp, procs, path, lua):
    p = subprocess.Popen([GANTRY, "serve", "--model", str(MODEL), "--name", "mnist", "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    url = p.stdout.readline().strip().split()[-1] + path
    wait_up(url, (ROWS_BODY if "predict" in path else V2_BODY).encode())
    result = measure(url, lua)
    stop(p)
    return result


def litserve(tmp, procs, lua):
    p = Peer(tmp, procs).spawn([str(VENV / "bin/python"), str(PEERS / "litserve_app.py"), str(MODEL),
                                "18251", "2"])
    url = "http://127.0.0.1:18251/predict"
    wait_up(url, ROWS_BODY.encode())
    result = measure(url, lua)
    stop(p)
    return result


def mlserver(tmp, procs, lua):
    d = tmp / "mlserver"
    if not d.exists():
        d.mkdir()
        shutil.copy(PEERS / "mlserver_runtime.py", d)
        (d / "settings.json").write_text(json.dumps({
            "host": "127.0.0.1", "http_port": 18252, "grpc_port": 18253, "metrics_port": 18254,
            "parallel_workers": 2, "debug": False}))
        (d / "model-settings.json").write_text(json.dumps({
            "name": "mnist", "implementation": "mlserver_runtime.TorchScriptRuntime"}))
    env = {**os.environ, "MODEL_DIR": str(MODEL), "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    p = Peer(tmp, procs).spawn([str(VENV / "bin/mlserver"), "start", str(d)], cwd=d, env=env)
    url = "http://127.0.0.1:18252/v2/models/mnist/infer"
    wait_up(url, V2_BODY.encode())
    result = measure(url, lua)
    stop(p)
    return result


def torchserve(tmp, procs, lua):
    d = tmp / "torchserve"
    if not d.exists():
        (d / "store").mkdir(parents=True)
        subprocess.run([str(VENV / "bin/torch-model-archiver"), "--model-name", "mnist", "--version", "1",
                        "--serialized-file", str(MODEL / "model.pt"),
                        "--handler", str(PEERS / "torchserve_handler.py"),
                        "--export-path", str(d / "store")], check=True, cwd=d)
        (d / "config.properties").write_text(
            "inference_address=http://127.0.0.1:18255\nmanagement_address=http://127.0.0.1:18256\n"
            "metrics_address=http://127.0.0.1:18257\ndefault_workers_per_model=2\n"
            "disable_token_authorization=true\nenable_envvars_config=false\n"
            "install_py_dep_per_model=false\ndisable_system_metrics=true\n")
    env = {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ['PATH']}"}
    p = Peer(tmp, procs).spawn([str(VENV / "bin/torchserve"), "--start", "--foreground", "--ncs",
                                "--model-store", str(d / "store"), "--models", "mnist=mnist.mar",
                                "--ts-config", str(d / "config.properties"), "--disable-token-auth"],
                               cwd=d, env=env)
    url = "http://127.0.0.1:18255/predictions/mnist"
    wait_up(url, ROWS_BODY.encode())
    result = measure(url, lua)
    stop(p)
    return result


def main():
    if not (MODEL / "model.pt").exists():
        sys.exit(f"no model at {MODEL}: run ./examples/mnist/run.sh first")
    if not (VENV / "bin/python").exists():
        sys.exit(f"no peers venv at {VENV}: run ./scripts/install-bench-deps.sh")
    tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-peers-"))
    rows_lua, v2_lua = post_lua(tmp, "rows", ROWS_BODY), post_lua(tmp, "v2", V2_BODY)
    runs, procs = {}, []
    plan = [("gantry serve: TF Serving :predict", lambda: gantry(tmp, procs, "/v1/models/mnist:predict", rows_lua)),
            ("gantry serve: Open Inference v2", lambda: gantry(tmp, procs, "/v2/models/mnist/infer", v2_lua)),
            ("TorchServe 0.12 (2 workers)", lambda: torchserve(tmp, procs, rows_lua)),
            ("MLServer 1.7 (2 workers), v2", lambda: mlserver(tmp, procs, v2_lua)),
            ("LitServe 0.2 (2 workers)", lambda: litserve(tmp, procs, rows_lua))]
    try:
        for _ in range(ROUNDS):
            for label, run in plan:
                runs.setdefault(label, []).append(run())
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
        log = tmp / "peer.log"
        if log.exists() and os.environ.get("BENCH_KEEP_LOG"):
            shutil.copy(log, "/tmp/serve_peers.log")
        shutil.rmtree(tmp, ignore_errors=True)
    med = {label: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
           for label, v in runs.items()}
    rows_g = med["gantry serve: TF Serving :predict"]
    v2_g = med["gantry serve: Open Inference v2"]
    print(f"TorchScript MNIST DNN, one 784-float instance per request, median of {ROUNDS} rounds")
    print(f"{'':36}{'req/s @32':>12}{'p50 @1 (us)':>14}{'gantry req/s x':>16}{'gantry p50 x':>14}")
    for label, (rps, p50) in med.items():
        g = v2_g if "v2" in label and not label.startswith("gantry") else rows_g
        ratio = "" if label.startswith("gantry") else f"{g[0] / rps:>15.1f}x{p50 / g[1]:>13.1f}x"
        print(f"{label:36}{rps:>12,.0f}{p50:>14,.0f}{ratio}")
    print("(gantry req/s x: gantry serve's requests/s over the peer's; gantry p50 x: the peer's p50 "
          "over gantry serve's; each on the protocol they share)")
    print("rounds (req/s @32 / p50 @1 us):")
    for label, v in runs.items():
        print(f"  {label:36}" + "  ".join(f"{r:>7,.0f} /{p:>6,.0f}" for r, p in v))


if __name__ == "__main__":
    main()
