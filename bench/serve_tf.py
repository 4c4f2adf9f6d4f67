"""Serving the TensorFlow MNIST SavedModel (the walkthrough's examples/tf_mnist/model):
`gantry serve --backend tensorflow` in its default configuration, through each protocol
(TF Serving REST :predict, Open Inference v2 /infer, /score), against the baseline built
like Azure ML's inference server (Flask under gunicorn, 2 workers, the notebook's
tf.saved_model.load score.py) and the floor (nginx answering `return 200`), with wrk posting
one 784-float instance. BENCH_ROUNDS rounds (default 3), interleaved; each row's median.
Then the bare forward of one instance: the tensorflow backend's Infer through TensorFlow's C
API with no HTTP and no JSON (build/bench/forward_bench, BENCH_BACKEND=tensorflow), and, for
comparison, the SavedModel's signature called from Python in a tight loop.

Needs the model (./examples/tf_mnist/run.sh writes examples/tf_mnist/model) and the
TensorFlow environment's interpreter: BENCH_PYTHON, else the build the walkthrough's
workspace made. Flask and gunicorn come from scripts/install-bench-deps.sh (Debian's, seen
by the environment's venv through its system site-packages)."""
import glob
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GANTRY, ROOT  # noqa: E402
from serve_throughput import measure, nginx_floor, post_lua, wait_up  # noqa: E402

MODEL = Path(os.environ.get("BENCH_MODEL", ROOT / "examples/tf_mnist/model"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def tf_python():
    if os.environ.get("BENCH_PYTHON"):
        return os.environ["BENCH_PYTHON"]
    for python in sorted(glob.glob(str(ROOT / "examples/tf_mnist/.gantry/envs/*/bin/python"))):
        if subprocess.run([python, "-c", "import tensorflow"], capture_output=True).returncode == 0:
            return python
    sys.exit("no TensorFlow environment found: run ./examples/tf_mnist/run.sh or set BENCH_PYTHON")


def one_round(tmp, python, bodies, procs):
    results = {}
    p = subprocess.Popen([GANTRY, "serve", "--backend", "tensorflow", "--model", str(MODEL),
                          "--name", "mnist", "--port", "0", "--python", python],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    base = p.stdout.readline().strip().split()[-1]
    for label, path, body in [("gantry serve: TF Serving :predict", "/v1/models/mnist:predict", "predict"),
                              ("gantry serve: Open Inference v2", "/v2/models/mnist/infer", "v2"),
                              ("gantry serve: /score", "/score", "score")]:
        wait_up(base + path, bodies[body][0].encode())
        results[label] = measure(base + path, bodies[body][1])
    p.terminate()
    p.wait()

    env = {**os.environ, "MODEL_DIR": str(MODEL), "PYTHONPATH": str(ROOT / "bench/baselines")}
    g = subprocess.Popen([python, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:18241", "tf_score_app:app"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(g)
    url = "http://127.0.0.1:18241/v1/models/mnist:predict"
    wait_up(url, bodies["predict"][0].encode())
    results["Flask + gunicorn (2 workers)"] = measure(url, bodies["predict"][1])
    g.terminate()
    g.wait()

    results["nginx return 200 (floor)"] = nginx_floor(tmp, 18242, bodies["predict"][1], procs)
    return results


BARE_FORWARD = r"""
import sys, time
import numpy as np, tensorflow as tf
infer = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
x = tf.constant(np.full((1, 784), 0.5, np.float32))
for _ in range(200):
    infer(images=x)
times = []
for _ in range(3000):
    t = time.perf_counter(); infer(images=x); times.append(time.perf_counter() - t)
times.sort()
print("%.0f" % (times[len(times) // 2] * 1e6))
"""


def main():
    if not (MODEL / "saved_model.pb").exists():
        sys.exit(f"no SavedModel at {MODEL}: run ./examples/tf_mnist/run.sh first")
    python = tf_python()
    tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-tf-"))
    row = "[" + ",".join(["0.5"] * 784) + "]"
    bodies = {}
    for name, body in [("predict", '{"instances": [' + row + "]}"),
                       ("v2", '{"inputs": [{"name": "images", "shape": [1, 784], "datatype": "FP32", '
                              '"data": ' + row + "}]}"),
                       ("score", '{"data": [' + row + "]}")]:
        bodies[name] = (body, post_lua(tmp, name, body))
    runs, procs = {}, []
    try:
        for _ in range(ROUNDS):
            for label, (rps, p50) in one_round(tmp, python, bodies, procs).items():
                runs.setdefault(label, []).append((rps, p50))
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    py_forward = float(subprocess.run([python, "-c", BARE_FORWARD, str(MODEL)], capture_output=True,
                                      text=True, check=True).stdout.split()[-1])
    out = subprocess.run([str(Path(GANTRY).parent / "bench" / "forward_bench"), str(MODEL), "1", "32"],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "BENCH_BACKEND": "tensorflow", "BENCH_PYTHON": python}).stdout
    bare = float(re.search(r"batch 1: ([\d.]+) us per forward", out).group(1))
    med = {label: (statistics.median(r for r, _ in v), statistics.median(p for _, p in v))
           for label, v in runs.items()}
    base = med["Flask + gunicorn (2 workers)"]
    floor = med["nginx return 200 (floor)"][1]
    print(f"TensorFlow MNIST SavedModel, one 784-float instance per request, median of {ROUNDS} rounds")
    print(f"{'':36}{'req/s @32':>12}{'p50 @1 (us)':>14}{'x baseline':>12}{'p50 / (nginx+fwd)':>20}")
    for label, (rps, p50) in med.items():
        print(f"{label:36}{rps:>12,.0f}{p50:>14,.0f}{rps / base[0]:>11.1f}x{p50 / (floor + bare):>19.2f}")
    print("bare forward through the C API (forward_bench, BENCH_BACKEND=tensorflow):")
    print("".join("  " + line + "\n" for line in out.splitlines()), end="")
    print(f"for comparison, the signature called from Python: p50 {py_forward:.0f} us")
    print("rounds (req/s @32 / p50 @1 us):")
    for label, v in runs.items():
        print(f"  {label:36}" + "  ".join(f"{r:>7,.0f} /{p:>6,.0f}" for r, p in v))


if __name__ == "__main__":
    main()
