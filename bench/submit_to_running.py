"""Submit → Running latency of a no-op Python job on local compute (p50 over N jobs), next
to the floor: starting the same Python process directly.

Submit time is when the server stored the run (NotStarted); Running is the runner's report
once the user process has been started. Both come from the run's status history.
"""
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import GantryServer, percentile  # noqa: E402

N = int(os.environ.get("BENCH_RUNS", "30"))


def main():
    server = GantryServer(slots=4)
    project = server.tmp / "noop"
    (project / "src").mkdir(parents=True)
    (project / "src/noop.py").write_text("pass\n")
    (project / "job.yml").write_text(textwrap.dedent("""\
        command: python noop.py
        code: ./src
        environment: python:/usr/bin/python3
        compute: local
        """))
    names = []
    for _ in range(N):
        out = server.cli("job", "create", "--file", str(project / "job.yml")).stdout
        names.append(out.split()[2])
        # One at a time, so each measures an idle system rather than a queue.
        server.cli("job", "stream", "-n", names[-1])
    latencies = []
    for name in names:
        run = server.get(f"/api/v1/runs/{name}")
        times = {e["status"]: e["time_ms"] for e in run["status_history"]}
        latencies.append(times["Running"] - times["NotStarted"])
    server.stop()

    floor = []
    for _ in range(N):
        t = time.perf_counter()
        subprocess.run(["/usr/bin/python3", "-c", "pass"], check=True)
        floor.append((time.perf_counter() - t) * 1000)

    p50, p90 = percentile(latencies, 50), percentile(latencies, 90)
    print(f"{N} no-op jobs, one at a time")
    print(f"gantry submit->Running   p50 {p50:.0f} ms  p90 {p90:.0f} ms  max {max(latencies):.0f} ms")
    print(f"floor: python3 -c pass   p50 {statistics.median(floor):.0f} ms (whole process, start to exit)")
    print(f"ratio gantry p50 / floor p50: {p50 / statistics.median(floor):.1f}x")


if __name__ == "__main__":
    main()
