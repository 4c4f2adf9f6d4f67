"""Queued → all ranks running for a 4-process PyTorch-type job, on local compute and on a
Slurm target, next to the floors: the same 4 processes started directly, and Slurm's own
`srun` of the same shape.

Each rank of the job runs `python stamp.py FILE`, which appends its RANK and time.time() to
FILE as its first act; the time to all ranks running is the last rank's stamp minus the
time of the run's Queued status event (stored by the server, same clock: everything runs on
this machine). Runs go one at a time (each waits for the previous to finish), after one
untimed warm-up run of each kind.

- local: a job of instance_count 2 x process_count_per_instance 2 on `local` (--slots 2).
  Floor: 4 `/usr/bin/python3 stamp.py` started at once with subprocess, from before the first
  spawn to the last stamp.
- slurm: a real cluster from tests/slurm_cluster.py (munged, slurmctld, a slurmd per node in
  its own network namespace on 10.79.0.0/24; needs root and Debian's slurm-wlm), a slurm
  target whose node shape is the job's, and a job of the --slurm-shape NODESxPROCS
  (default 1x4: one 4-CPU node; 2x2: two 2-CPU nodes, a runner on each). Floor: `srun -N NODES -n 4 --ntasks-per-node PROCS hostname`, end to end (what the
  issue asks to compare with), and the same srun of `python3 stamp.py`, to the last stamp.

    /usr/bin/python3 bench/distributed_startup.py [--runs 10] [--slurm-shape 1x4] [--no-slurm]

Everything it starts (servers, runners, Slurm daemons, network namespaces) is stopped on the
way out, also on an error, Ctrl-C or SIGTERM.
"""
import argparse
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).parent))
from common import GANTRY, ROOT, GantryServer  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from slurm_cluster import SlurmCluster, slurm_available  # noqa: E402

PYTHON = "/usr/bin/python3"
WORLD = 4
# Runs first thing in each rank: one O_APPEND write, so 4 ranks never interleave.
STAMP = """\
import os, sys, time
t = time.time()
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, ("%s %.6f\\n" % (os.environ.get("RANK", os.environ.get("SLURM_PROCID", "-")), t)).encode())
"""


def read_stamps(path, world=WORLD):
    """Returns the latest rank start time in `path`; checks every rank wrote once."""
    lines = Path(path).read_text().split("\n")
    stamps = dict(line.split() for line in lines if line)
    if sorted(stamps) != [str(r) for r in range(world)] or len(stamps) != len([l for l in lines if l]):
        raise RuntimeError(f"{path}: expected one stamp per rank 0..{world - 1}, got:\n" + "\n".join(lines))
    return max(float(t) for t in stamps.values())


class Job:
    """A project folder whose job stamps each rank's start into STAMPS/<run name>."""

    def __init__(self, server, compute, nodes, procs):
        self.server = server
        self.stamps = server.tmp / "stamps"
        self.stamps.mkdir(exist_ok=True)
        project = server.tmp / f"job-{compute}"
        (project / "src").mkdir(parents=True)
        (project / "src/stamp.py").write_text(STAMP)
        self.yml = project / "job.yml"
        self.yml.write_text(textwrap.dedent(f"""\
            command: python stamp.py {self.stamps}/$GANTRY_RUN_ID
            code: ./src
            environment: python:{PYTHON}
            compute: {compute}
            resources:
              instance_count: {nodes}
            distribution:
              type: pytorch
              process_count_per_instance: {procs}
            """))

    def submit(self):
        """Submits the job; returns its name, or raises RuntimeError with Gantry's refusal."""
        p = subprocess.run([GANTRY, "job", "create", "--file", str(self.yml), "--server",
                            self.server.url], capture_output=True, text=True,
                           env=dict(os.environ, GANTRY_TOKEN=self.server.token))
        if p.returncode != 0:
            errors = [line for line in p.stderr.splitlines() if line.startswith("error:")]
            raise RuntimeError(f"gantry job create exited {p.returncode}: "
                               + ("\n".join(errors) or p.stderr.strip()))
        return p.stdout.split()[2]

    def run_once(self):
        """Runs the job to the end; returns ms from Queued to each phase and the last rank."""
        name = self.submit()
        subprocess.run([GANTRY, "job", "stream", "-n", name, "--server", self.server.url],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, GANTRY_TOKEN=self.server.token))
        run = self.server.get(f"/api/v1/runs/{name}")
        if run["status"] != "Completed":
            raise RuntimeError(f"run {name} ended {run['status']}: {run.get('error')}")
        times = {}
        for event in run["status_history"]:  # the first time each status was reached
            times.setdefault(event["status"], event["time_ms"])
        queued = times["Queued"]
        return {"Preparing": times["Preparing"] - queued, "Starting": times["Starting"] - queued,
                "last rank": read_stamps(self.stamps / name) * 1000 - queued}


def phases_line(samples):
    keys = ["Preparing", "Starting", "last rank"]
    return ", ".join(f"{k} +{median([s[k] for s in samples]):.0f}" for k in keys)


def time_gantry(job, runs):
    job.run_once()  # warm-up: the first runner start fills the node's caches
    return [job.run_once() for _ in range(runs)]


def time_direct_processes(folder, runs):
    """ms from before the first spawn to the last of 4 stamp.py processes starting."""
    script = folder / "stamp.py"
    script.write_text(STAMP)
    result = []
    for i in range(runs + 1):
        stamps = folder / f"direct.{i}"
        t0 = time.time()
        procs = [subprocess.Popen([PYTHON, str(script), str(stamps)], env={**os.environ, "RANK": str(r)})
                 for r in range(WORLD)]
        for p in procs:
            p.wait()
        result.append((read_stamps(stamps) - t0) * 1000)
    return result[1:]


def time_srun(cluster, nodes, procs, command, runs, stamps_dir=None):
    """srun of the same shape: end-to-end ms, or (with stamps_dir) ms to the last stamp."""
    shape = ["-N", str(nodes), "-n", str(nodes * procs), "--ntasks-per-node", str(procs)]
    result = []
    for i in range(runs + 1):
        args = list(command)
        if stamps_dir is not None:
            args.append(str(stamps_dir / f"srun.{i}"))
        t0, w0 = time.perf_counter(), time.time()
        cluster.run("srun", *shape, *args)
        elapsed = (time.perf_counter() - t0) * 1000
        result.append((read_stamps(stamps_dir / f"srun.{i}") - w0) * 1000 if stamps_dir else elapsed)
    return result[1:]


def time_sbatch(cluster, nodes, procs, root, runs):
    """ms from sbatch to the last stamp of a batch job whose step srun's stamp.py in the same
    shape: Slurm's own batch path, which Gantry's jobs take."""
    result = []
    for i in range(runs + 1):
        stamps = root / f"sbatch.{i}"
        script = root / f"sbatch.{i}.sh"
        script.write_text(f"#!/bin/bash\nsrun -N{nodes} -n{nodes * procs} --ntasks-per-node {procs} "
                          f"{PYTHON} {root / 'stamp.py'} {stamps}\n")
        w0 = time.time()
        cluster.run("sbatch", f"-N{nodes}", f"--ntasks-per-node={procs}", f"--output={root}/sbatch.{i}.out",
                    str(script))
        for _ in range(3000):  # bounded: 300 s
            if stamps.exists() and len(stamps.read_text().split("\n")) > nodes * procs:
                break
            time.sleep(0.1)
        result.append((read_stamps(stamps) - w0) * 1000)
        for _ in range(300):  # the next batch job waits for this one's nodes
            if not cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split():
                break
            time.sleep(0.1)
    return result[1:]


def report(label, gantry, floor_label, floor):
    g, f = median([s["last rank"] for s in gantry]), median(floor)
    print(f"{label}")
    print(f"  gantry queued->all ranks running  median {g:.0f} ms  (min {min(s['last rank'] for s in gantry):.0f},"
          f" max {max(s['last rank'] for s in gantry):.0f})")
    print(f"    medians from Queued (ms): {phases_line(gantry)}")
    print(f"  {floor_label:<32}  median {f:.0f} ms  (min {min(floor):.0f}, max {max(floor):.0f})")
    print(f"  ratio gantry / floor: {g / f:.1f}x")


def bench_local(runs):
    server = GantryServer(slots=2)
    try:
        job = Job(server, "local", 2, 2)
        gantry = time_gantry(job, runs)
        floor = time_direct_processes(server.tmp, runs)
    finally:
        server.stop()
    report("local compute, 2 instances x 2 processes", gantry, "floor: 4 python3 started directly", floor)


def bench_slurm(runs, nodes, procs):
    """Prints the Slurm figures; returns False when Gantry could not run the job."""
    root = Path(tempfile.mkdtemp(prefix="gantry-bench-slurm-"))
    try:
        with SlurmCluster(root / "cluster", nodes=nodes, cpus=procs, netns=True, subnet="10.79.0",
                          tag="gb") as cluster:
            srun_hostname = time_srun(cluster, nodes, procs, ["hostname"], runs)
            (root / "stamp.py").write_text(STAMP)
            srun_python = time_srun(cluster, nodes, procs, [PYTHON, str(root / "stamp.py")], runs,
                                    stamps_dir=root)
            sbatch_python = time_sbatch(cluster, nodes, procs, root, runs)
            server = GantryServer(slots=2, extra_args=["--host", "0.0.0.0"], env=cluster.env)
            try:
                node_dir = server.tmp / "node"
                node_dir.mkdir()
                server.cli("compute", "create", "--name", "hpc", "--type", "slurm", "--cpus", str(procs),
                           "--max-instances", str(nodes), "--server-url", f"http://{cluster.controller_addr}:{server.port}",
                           "--node-work-dir", str(node_dir), "--partition", "debug")
                job = Job(server, "hpc", nodes, procs)
                try:
                    gantry = time_gantry(job, runs)
                except RuntimeError as e:
                    gantry, refused = None, str(e)
            finally:
                # Slurm jobs left by an error go before the server and the daemons.
                for job_id in cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split():
                    cluster.run("scancel", job_id, check=False)
                for _ in range(300):
                    if not cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split():
                        break
                    time.sleep(0.1)
                server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    shape = f"{nodes} node(s) x {procs} processes"
    if gantry is None:
        print(f"slurm, {shape}: gantry could not run the job: {refused}")
        print(f"  srun -N{nodes} -n{nodes * procs} hostname, end to end  median {median(srun_hostname):.0f} ms")
        print(f"  srun of python3 stamp.py, to last rank  median {median(srun_python):.0f} ms")
        return False
    report(f"slurm, {shape} (slurmd in a network namespace, {procs}-CPU node(s))", gantry,
           f"floor: srun -N{nodes} -n{nodes * procs} hostname", srun_hostname)
    print(f"  srun of python3 stamp.py, to last rank  median {median(srun_python):.0f} ms"
          f"  (gantry / that: {median([s['last rank'] for s in gantry]) / median(srun_python):.1f}x)")
    print(f"  sbatch of the same srun, to last rank  median {median(sbatch_python):.0f} ms"
          f"  (gantry / that: {median([s['last rank'] for s in gantry]) / median(sbatch_python):.1f}x;"
          f" gantry's own overhead {median([s['last rank'] for s in gantry]) - median(sbatch_python):.0f} ms)")
    return True


def parse_shape(text):
    try:
        nodes, procs = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NODESxPROCS such as 1x4 or 2x2, got {text!r}")
    if nodes < 1 or procs < 1 or nodes * procs != WORLD:
        raise argparse.ArgumentTypeError(f"the shape must make {WORLD} processes, got {text!r}")
    return nodes, procs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "10")),
                        help="timed runs of each kind (default BENCH_RUNS or 10), after one warm-up")
    parser.add_argument("--slurm-shape", type=parse_shape, default=(1, 4), metavar="NODESxPROCS",
                        help="the Slurm job's nodes x processes per node (default 1x4)")
    parser.add_argument("--no-slurm", action="store_true", help="local compute only")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop what was started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    print(f"{WORLD}-process pytorch-type job, {args.runs} runs each, one at a time, after a warm-up")
    bench_local(args.runs)
    if args.no_slurm:
        return
    missing = slurm_available() or (None if os.geteuid() == 0 else "network namespaces need root")
    if missing:
        print(f"slurm: skipped: {missing}")
        return
    if not bench_slurm(args.runs, *args.slurm_shape):
        sys.exit(1)


if __name__ == "__main__":
    main()
