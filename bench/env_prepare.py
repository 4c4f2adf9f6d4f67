"""Time in Preparing for a cached environment (the curated Gantry-PyTorch-Debian), against
the first run, which builds it (checks that torch and numpy import). Preparing runs from the
scheduler starting the runner to the runner reporting Starting: snapshot download and
environment resolution."""
import os
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GantryServer, percentile  # noqa: E402

N = int(os.environ.get("BENCH_RUNS", "20"))


def preparing_ms(server, name):
    run = server.get(f"/api/v1/runs/{name}")
    times = {e["status"]: e["time_ms"] for e in run["status_history"]}
    return times["Starting"] - times["Preparing"]


def main():
    server = GantryServer(slots=1)
    project = server.tmp / "p"
    (project / "src").mkdir(parents=True)
    (project / "src/noop.py").write_text("pass\n")
    (project / "job.yml").write_text(textwrap.dedent("""\
        command: python noop.py
        code: ./src
        environment: azureml:Gantry-PyTorch-Debian@latest
        compute: local
        """))
    names = []
    for _ in range(N + 1):
        out = server.cli("job", "create", "--file", str(project / "job.yml")).stdout
        names.append(out.split()[2])
        server.cli("job", "stream", "-n", names[-1])
    first = preparing_ms(server, names[0])
    cached = [preparing_ms(server, n) for n in names[1:]]
    server.stop()
    p50 = percentile(cached, 50)
    print(f"environment Gantry-PyTorch-Debian, {N} runs after the first")
    print(f"first run (builds: checks torch and numpy import): Preparing {first:.0f} ms")
    print(f"cached build: Preparing p50 {p50:.0f} ms, max {max(cached):.0f} ms")
    print(f"ratio first / cached: {first / max(p50, 1):.0f}x")


if __name__ == "__main__":
    main()
