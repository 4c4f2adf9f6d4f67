"""Serving the MNIST DNN: `gantry serve` (torchscript backend) against the baseline built
like Azure ML's inference server (Flask under gunicorn, 2 workers, Debian's python3-torch)
and the floor (nginx answering `return 200`), with wrk posting one 784-float instance.
gantry serve in its default configuration answers through each protocol (TF Serving REST
:predict, Open Inference v2 /infer, /score), and with batching on through :predict. Runs
BENCH_ROUNDS rounds (default 3) of all rows, interleaved, and reports each row's median (and
the ratio of medians); then the bare forward pass (build/bench/forward_bench).
Needs a trained model: ./examples/mnist/run.sh writes examples/mnist/model."""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GANTRY, ROOT  # noqa: E402

MODEL = Path(os.environ.get("BENCH_MODEL", ROOT / "examples/mnist/model"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def wait_up(url, body=None):
    for _ in range(300):
        try:
            req = urllib.request.Request(url, data=body, method="POST" if body else "GET")
            urllib.request.urlopen(req, timeout=2).read()
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("no answer from " + url)


def wrk(url, lua, connections, threads):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{SECONDS}s", "--latency",
                          "-s", lua, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 1, "ms": 1000, "s": 1e6}[p50.group(2)]
    return rps, float(p50.group(1)) * scale


def post_lua(tmp, name, body, headers=None):
    """A wrk script posting `body` (kept in tmp/NAME.json) as JSON, with `headers` besides."""
    (tmp / f"{name}.json").write_text(body)
    lua = tmp / f"{name}.lua"
    extra = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in (headers or {}).items())
    lua.write_text(f'wrk.method = "POST"\nlocal f = io.open("{tmp}/{name}.json", "rb"); '
                   f'wrk.body = f:read("*a"); f:close()\n'
                   f'wrk.headers["Content-Type"] = "application/json"\n{extra}')
    return str(lua)


def measure(url, lua):
    rps32, _ = wrk(url, lua, 32, 2)
    _, p50_1 = wrk(url, lua, 1, 1)
    return rps32, p50_1


def main():
    if not (MODEL / "model.pt").exists():
        sys.exit(f"no model at {MODEL}: run ./examples/mnist/run.sh first")
    tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-serve-"))
    row = "[" + ",".join(["0.5"] * 784) + "]"
    bodies = {}
    for name, body in [("predict", '{"instances": [' + row + "]}"),
                       ("v2", '{"inputs": [{"shape": [1, 784], "datatype": "FP32", "data": ' + row + "}]}"),
                       ("score", '{"data": [' + row + "]}")]:
        bodies[name] = (body, post_lua(tmp, name, body))
    runs = {}  # label -> [(rps @32, p50 @1 in us)] one per round
    procs = []
    try:
        for _ in range(ROUNDS):
            for label, (rps, p50) in one_round(tmp, bodies, procs).items():
                runs.setdefault(label, []).append((rps, p50))
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    med = {label: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
           for label, v in runs.items()}
    base = med["Flask + gunicorn (2 workers)"]
    floor = med["nginx return 200 (floor)"][1]
    forwards = {}
    for tool in ("forward_bench", "forward_bench_gemm"):
        exe = Path(GANTRY).parent / "bench" / tool
        if exe.exists():
            forwards[tool] = subprocess.run([str(exe), str(MODEL)], capture_output=True, text=True).stdout
    bare = float(re.search(r"batch 1: ([\d.]+) us per forward", forwards["forward_bench"]).group(1))
    print(f"one 784-float instance per request, wrk {SECONDS}s per load, median of {ROUNDS} rounds")
    print(f"{'':40}{'req/s @32':>12}{'p50 @1 (us)':>14}{'x baseline':>12}{'p50 / (nginx+fwd)':>20}")
    for label, (rps, p50) in med.items():
        print(f"{label:40}{rps:>12,.0f}{p50:>14,.0f}{rps / base[0]:>11.1f}x{p50 / (floor + bare):>19.2f}")
    print("rounds (req/s @32 / p50 @1 us):")
    for label, v in runs.items():
        print(f"  {label:40}" + "  ".join(f"{r:>7,.0f} /{p:>6,.0f}" for r, p in v))
    for tool, out in forwards.items():
        print(f"bare forward ({tool}):")
        print("".join("  " + line + "\n" for line in out.splitlines()), end="")


def nginx_floor(tmp, port, lua, procs):
    """(req/s @32, p50 @1) of nginx answering `return 200` on 127.0.0.1:port: the floor."""
    conf = tmp / "nginx.conf"
    conf.write_text(f"""worker_processes 2; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 '{{}}'; }} }} }}
""")
    n = subprocess.Popen(["nginx", "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    procs.append(n)
    url = f"http://127.0.0.1:{port}/"
    wait_up(url)
    result = measure(url, lua)
    n.terminate()
    n.wait()
    return result


def one_round(tmp, bodies, procs):
    results = {}
    for label, extra, protocols in [
            ("gantry serve", [], [(": TF Serving :predict", "/v1/models/mnist:predict", "predict"),
                                  (": Open Inference v2", "/v2/models/mnist/infer", "v2"),
                                  (": /score", "/score", "score")]),
            ("gantry serve --max-batch-size 32", ["--max-batch-size", "32"],
             [(": :predict", "/v1/models/mnist:predict", "predict")])]:
        p = subprocess.Popen([GANTRY, "serve", "--model", str(MODEL), "--name", "mnist", "--port", "0", *extra],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(p)
        base = p.stdout.readline().strip().split()[-1]
        for suffix, path, body in protocols:
            wait_up(base + path, bodies[body][0].encode())
            results[label + suffix] = measure(base + path, bodies[body][1])
        p.terminate()
        p.wait()

    env = {**os.environ, "MODEL_DIR": str(MODEL), "PYTHONPATH": str(ROOT / "bench/baselines")}
    g = subprocess.Popen(["/usr/bin/python3", "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:18231",
                          "score_app:app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(g)
    url = "http://127.0.0.1:18231/v1/models/mnist:predict"
    wait_up(url, bodies["predict"][0].encode())
    results["Flask + gunicorn (2 workers)"] = measure(url, bodies["predict"][1])
    g.terminate()
    g.wait()

    results["nginx return 200 (floor)"] = nginx_floor(tmp, 18232, bodies["predict"][1], procs)
    return results


if __name__ == "__main__":
    main()
