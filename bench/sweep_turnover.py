"""Sweeps (issue 12): trial turnover and policy latency.

Turnover: a sweep of N trivial trials (a Python script that logs one metric and exits) on
local compute, 2 at a time (--slots 2, max_concurrent_trials 2), from `gantry job create`
to the sweep's end; against the same N processes started directly, 2 at a time, and against
Optuna running the same objective as subprocesses (n_jobs=2). Prints trials/s for each and
the ratios. Target: Gantry within 1.5x of the direct launches.

Policy latency: a sweep whose trial 0 logs accuracy 1.0 and whose other trials log 0.1 (far
under the bandit threshold) and then wait; each of those is stopped at interval 1. For each
it prints the time from the script's run.log call (no flush) to the trial's process
receiving SIGTERM, end to end through the SDK's writer, the runner's metric relay, the
server's policy and the cancel (target: p50 under 50 ms), and the part of it from the
server's decision (the trial's CancelRequested event) to SIGTERM.

    ~/.cache/gantry/bench-sweep-venv/bin/python bench/sweep_turnover.py [--trials 200] [--stops 10]

Optuna comes from the venv scripts/install-bench-deps.sh makes; without it that row is
skipped with a note.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).parent))
from common import ROOT, GantryServer  # noqa: E402

PYTHON = "/usr/bin/python3"
TRIAL = """\
import argparse
from azureml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--x", type=float)
a = p.parse_args()
score = -(a.x - 0.3) ** 2
Run.get_context().log("score", score)
print("score", score)
"""
STOPPABLE = """\
import argparse, os, signal, sys, time
from azureml.core import Run
p = argparse.ArgumentParser()
p.add_argument("--k", type=int)
p.add_argument("--stamps")
a = p.parse_args()
def on_term(sig, frame):
    with open(os.path.join(a.stamps, "term_%d" % a.k), "w") as f:
        f.write("%.6f" % time.time())
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
run = Run.get_context()
if a.k == 0:
    run.log("accuracy", 1.0)
    run.flush()
    sys.exit(0)
with open(os.path.join(a.stamps, "log_%d" % a.k), "w") as f:
    f.write("%.6f" % time.time())
run.log("accuracy", 0.1)  # no flush(): the SDK writes a point after a quiet spell at once
for _ in range(60000):  # at most ten minutes: the policy stops it first
    time.sleep(0.01)
"""


def wait_sweep(server, name, limit_s=3600):
    """Waits for the sweep's end, asking for its status every 50 ms: a light poll, so that
    the measurement does not compete with the trials for the CPUs (a long poll on the
    sweep's events would wake on every line of its log)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        run = server.get(f"/api/v1/runs/{name}")
        if run["status"] in ("Completed", "Failed", "Canceled"):
            return run
        time.sleep(0.05)
    raise RuntimeError(f"sweep {name} did not end in {limit_s} s")


def submit(server, folder, yml):
    (folder / "sweep.yml").write_text(textwrap.dedent(yml))
    out = server.cli("job", "create", "--file", str(folder / "sweep.yml")).stdout
    return [l for l in out.splitlines() if l.startswith("Submitted sweep ")][0].split()[2]


def gantry_turnover(n, folder):
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "trial.py").write_text(TRIAL)
    server = GantryServer(slots=2)
    try:
        start = time.monotonic()
        name = submit(server, folder, f"""
            type: sweep
            trial:
              code: src
              command: /usr/bin/python3 trial.py --x ${{{{search_space.x}}}}
            search_space:
              x: {{type: uniform, min_value: 0, max_value: 1}}
            sampling_algorithm: {{type: random, seed: 1}}
            objective: {{primary_metric: score, goal: maximize}}
            limits: {{max_total_trials: {n}, max_concurrent_trials: 2}}
            """)
        run = wait_sweep(server, name)
        elapsed = time.monotonic() - start
        sweep = server.get(f"/api/v1/sweeps/{name}")
        done = sum(1 for t in sweep["trials"] if t["status"] == "Completed")
        if run["status"] != "Completed" or done != n:
            raise RuntimeError(f"sweep {name}: {run['status']}, {done} of {n} trials completed: {run['error']}")
        return elapsed
    finally:
        server.stop()


def direct_turnover(n, folder):
    script = folder / "trial_direct.py"
    script.write_text(TRIAL)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))
    xs = [i / n for i in range(n)]
    start = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        codes = list(pool.map(lambda x: subprocess.run([PYTHON, str(script), "--x", str(x)], env=env,
                                                       capture_output=True).returncode, xs))
    elapsed = time.monotonic() - start
    if any(codes):
        raise RuntimeError("a direct trial failed")
    return elapsed


def optuna_turnover(n, folder):
    try:
        import optuna
    except ImportError:
        return None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    script = folder / "trial_direct.py"
    script.write_text(TRIAL)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "python"))

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        out = subprocess.run([PYTHON, str(script), "--x", str(x)], env=env, capture_output=True,
                             text=True, check=True).stdout
        return float(out.split()[-1])

    start = time.monotonic()
    optuna.create_study(direction="maximize").optimize(objective, n_trials=n, n_jobs=2)
    return time.monotonic() - start


def policy_latency(stops, folder):
    stamps = folder / "stamps"
    stamps.mkdir(parents=True)
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "stop.py").write_text(STOPPABLE)
    server = GantryServer(slots=2)
    try:
        values = ", ".join(str(k) for k in range(stops + 1))
        name = submit(server, folder, f"""
            type: sweep
            trial:
              code: src
              command: /usr/bin/python3 stop.py --k ${{{{search_space.k}}}} --stamps {stamps}
            search_space:
              k: {{type: choice, values: [{values}]}}
            sampling_algorithm: grid
            objective: {{primary_metric: accuracy, goal: maximize}}
            early_termination: {{type: bandit, slack_factor: 0.1}}
            limits: {{max_total_trials: {stops + 1}, max_concurrent_trials: 1}}
            """)
        wait_sweep(server, name)
        decision, end_to_end = [], []
        for k in range(1, stops + 1):
            trial = server.get(f"/api/v1/runs/{name}_{k}")
            asked = [e for e in trial["status_history"] if e["status"] == "CancelRequested"]
            term = stamps / f"term_{k}"
            if not asked or not term.exists():
                raise RuntimeError(f"trial {k} was not stopped by the policy: {trial['status']}")
            t_term = float(term.read_text())
            t_asked = datetime.datetime.fromisoformat(asked[0]["time"].replace("Z", "+00:00")).timestamp()
            decision.append((t_term - t_asked) * 1000)
            end_to_end.append((t_term - float((stamps / f"log_{k}").read_text())) * 1000)
        return decision, end_to_end
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--stops", type=int, default=10)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gantry-sweep-bench-"))
    n = args.trials
    direct = direct_turnover(n, folder)
    gantry = gantry_turnover(n, folder / "g")
    optuna_s = optuna_turnover(n, folder)
    print(f"trial turnover, {n} trivial trials, 2 at a time:")
    print(f"  direct launches : {direct:7.2f} s  {n / direct:6.2f} trials/s")
    print(f"  gantry sweep    : {gantry:7.2f} s  {n / gantry:6.2f} trials/s  "
          f"({gantry / direct:.2f}x the direct launches' time; target <= 1.5x)")
    if optuna_s is None:
        print("  optuna          : not installed here (scripts/install-bench-deps.sh)")
    else:
        print(f"  optuna          : {optuna_s:7.2f} s  {n / optuna_s:6.2f} trials/s  "
              f"(gantry takes {gantry / optuna_s:.2f}x optuna's time)")
    decision, end_to_end = policy_latency(args.stops, folder / "p")
    print(f"policy latency over {args.stops} stopped trials (ms):")
    print(f"  run.log  -> SIGTERM : p50 {median(end_to_end):6.1f}  max {max(end_to_end):6.1f}  (target p50 < 50)")
    print(f"  decision -> SIGTERM : p50 {median(decision):6.1f}  max {max(decision):6.1f}  (the server's part)")


if __name__ == "__main__":
    main()
