"""Metric ingestion: points/s with 8 concurrent clients sending batches, and single-point
log latency, Gantry vs. a Python WSGI + SQLite tracking server (MLflow's architecture).

Load comes from wrk (C, 2 threads) so that the client is not the bottleneck.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GantryServer, ROOT, running_run_with_token  # noqa: E402

BATCH = int(os.environ.get("BENCH_BATCH", "1000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))


def wrk(url, body_file, token, connections, threads, seconds):
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text(f"""
wrk.method = "POST"
local f = io.open("{body_file}", "rb"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d p50_us=%d p99_us=%d secs=%f\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    summary.duration / 1e6))
end
""")
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(lua), url],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"RESULT requests=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+) secs=([\d.]+)", out)
    requests, errors, p50, p99, secs = int(m[1]), int(m[2]), int(m[3]), int(m[4]), float(m[5])
    return {"rps": requests / secs, "errors": errors, "p50_us": p50, "p99_us": p99}


def body(n, tmp):
    path = Path(tmp) / f"batch{n}.json"
    now = int(time.time() * 1000)
    path.write_text(json.dumps({"metrics": [{"key": f"m{i % 10}", "value": i * 0.5, "timestamp": now}
                                            for i in range(n)]}))
    return path


def measure(url, token, tmp):
    batch = wrk(url, body(BATCH, tmp), token, connections=8, threads=2, seconds=SECONDS)
    single = wrk(url, body(1, tmp), token, connections=1, threads=1, seconds=max(3, SECONDS // 2))
    return {"points_per_s": batch["rps"] * BATCH, "batch_errors": batch["errors"],
            "single_p50_us": single["p50_us"], "single_p99_us": single["p99_us"],
            "batch10_p50_us": wrk(url, body(10, tmp), token, 1, 1, max(3, SECONDS // 2))["p50_us"]}


def main():
    tmp = tempfile.mkdtemp(prefix="gantry-bench-metrics-")
    server = GantryServer()
    name, token, gate = running_run_with_token(server)
    gantry = measure(f"{server.url}/api/v1/runs/{name}/metrics", token, tmp)
    gate.write_text("go")
    server.stop()

    port_file = Path(tmp) / "port"
    base = subprocess.Popen(["/usr/bin/python3", str(ROOT / "bench/baselines/tracking_server.py"),
                             str(Path(tmp) / "baseline.db"), str(port_file)])
    for _ in range(500):
        if port_file.exists() and port_file.read_text():
            break
        time.sleep(0.01)
    baseline = measure(f"http://127.0.0.1:{port_file.read_text()}/api/v1/runs/r1/metrics", "x", tmp)
    base.terminate()
    base.wait()
    shutil.rmtree(tmp, ignore_errors=True)

    print(f"batch size {BATCH}, 8 connections, {SECONDS}s per load")
    print(f"{'':28}{'gantry':>14}{'baseline':>14}{'ratio':>10}")
    for key, label in [("points_per_s", "points/s (8 clients)"), ("single_p50_us", "1-point log p50 (us)"),
                       ("single_p99_us", "1-point log p99 (us)"), ("batch10_p50_us", "10-point batch p50 (us)")]:
        g, b = gantry[key], baseline[key]
        ratio = g / b if key == "points_per_s" else b / max(g, 1)
        print(f"{label:28}{g:>14,.0f}{b:>14,.0f}{ratio:>9.1f}x")
    print(f"errors: gantry {gantry['batch_errors']}, baseline {baseline['batch_errors']}")


if __name__ == "__main__":
    main()
