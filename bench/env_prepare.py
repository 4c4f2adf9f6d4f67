"""Time in Preparing for a cached environment, against the first run, which builds it.
BENCH_ENV names the curated environment: Gantry-TensorFlow-2.21-CPU (default: the first run
creates the venv and pip-installs tensorflow-cpu and tf-keras from the package index, through
pip's cache when it has them) or Gantry-PyTorch-Debian (the first run checks that torch and
numpy import). Preparing runs from the scheduler starting the runner to the runner reporting
Starting: snapshot download and environment resolution. The build goes to a fresh cache
folder, so the first run really builds."""
import os
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GantryServer, percentile  # noqa: E402

N = int(os.environ.get("BENCH_RUNS", "20"))
ENV = os.environ.get("BENCH_ENV", "Gantry-TensorFlow-2.21-CPU")
WHAT_THE_FIRST_DOES = {
    "Gantry-TensorFlow-2.21-CPU": "builds: venv + pip install tensorflow-cpu, tf-keras; imports tensorflow",
    "Gantry-PyTorch-Debian": "builds: checks torch and numpy import",
}


def preparing_ms(server, name):
    run = server.get(f"/api/v1/runs/{name}")
    times = {e["status"]: e["time_ms"] for e in run["status_history"]}
    return times["Starting"] - times["Preparing"]


def main():
    server = GantryServer(slots=1)  # its own workspace, so its own (empty) envs/ folder
    project = server.tmp / "p"
    (project / "src").mkdir(parents=True)
    (project / "src/noop.py").write_text("pass\n")
    (project / "job.yml").write_text(textwrap.dedent("""\
        command: python noop.py
        code: ./src
        environment: azureml:{env}@latest
        compute: local
        """).format(env=ENV))
    names = []
    for _ in range(N + 1):
        out = server.cli("job", "create", "--file", str(project / "job.yml")).stdout
        names.append(out.split()[2])
        server.cli("job", "stream", "-n", names[-1])
    first = preparing_ms(server, names[0])
    cached = [preparing_ms(server, n) for n in names[1:]]
    server.stop()
    p50 = percentile(cached, 50)
    print(f"environment {ENV}, {N} runs after the first")
    print(f"first run ({WHAT_THE_FIRST_DOES.get(ENV, 'builds')}): Preparing {first:.0f} ms")
    print(f"cached build: Preparing p50 {p50:.0f} ms, max {max(cached):.0f} ms")
    print(f"ratio first / cached: {first / max(p50, 1):.0f}x")


if __name__ == "__main__":
    main()
