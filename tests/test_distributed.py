"""Distributed jobs on local compute: PyTorch DDP, TF_CONFIG, MPI, per-rank logs, failure,
cancel and whole-or-nothing placement, through the CLI and the real runner."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import alive, run_log, submitted_name, write_job

RANKS = range(4)
TWO_BY_TWO = """
    resources:
      instance_count: 2
    distribution:
      type: {type}
      process_count_per_instance: 2
"""

# Each rank records its pid and a background child's, then holds until stopped. Rank
# `fail_rank` (if any) waits (bounded) until the others are recorded, then fails on its own.
HOLD = """
    import os, subprocess, sys, time
    rank = int(os.environ["GANTRY_RANK"])
    world = int(os.environ["GANTRY_WORLD_SIZE"])
    fail_rank = int(sys.argv[1])
    child = subprocess.Popen(["sleep", "300"])
    open(f"pids.{rank}.tmp", "w").write(f"{os.getpid()} {child.pid}")
    os.rename(f"pids.{rank}.tmp", f"pids.{rank}")
    print("ready", flush=True)
    if rank == fail_rank:
        for _ in range(6000):
            if all(os.path.exists(f"pids.{r}") for r in range(world)):
                break
            time.sleep(0.01)
        print("rank", rank, "broke: ValueError bad shard", file=sys.stderr, flush=True)
        sys.exit(3)
    child.wait()
"""


def recorded_pids(server, name, world=4):
    wd = server.workspace / "runs" / name / "wd"
    pids = []
    for r in range(world):
        p = wd / f"pids.{r}"
        if p.exists():
            pids += [int(x) for x in p.read_text().split()]
    return pids


def processes_in(folder):
    """Live processes whose working folder is `folder` or below (a job's processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (cwd == str(folder) or cwd.startswith(str(folder) + "/")) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def assert_none_left(server, name, polls=1000):
    """Bounded poll: no process works in the run's folder any more."""
    wd = server.workspace / "runs" / name / "wd"
    for _ in range(polls):
        left = processes_in(wd)
        if not left:
            return
        time.sleep(0.01)
    for pid in left:  # so that a failing test does not leak them into the next ones
        os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"processes left behind in {wd}: {left}")


def assert_all_gone(pids, polls=1000):
    """Bounded poll: every pid is gone (or a zombie awaiting its reaper). The runner has
    SIGKILLed them before reporting, so this only waits for the kernel to finish."""
    assert pids
    for _ in range(polls):
        left = [p for p in pids if alive(p)]
        if not left:
            return
        time.sleep(0.01)
    for pid in left:  # so that a failing test does not leak them into the next ones
        os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"processes left behind: {left}")


def test_pytorch_ddp_all_reduce_over_two_instances_of_two(server, tmp_path):
    yml = write_job(tmp_path, "python ddp.py", extra=TWO_BY_TWO.format(type="pytorch"), files={"ddp.py": """
        import os
        import torch
        import torch.distributed as dist
        from gantry import Run
        dist.init_process_group("gloo")
        rank = dist.get_rank()
        assert rank == int(os.environ["RANK"]) == int(os.environ["GANTRY_RANK"])
        assert os.environ["WORLD_SIZE"] == "4" and os.environ["MASTER_ADDR"] == "127.0.0.1"
        assert int(os.environ["LOCAL_RANK"]) == rank % 2 and int(os.environ["NODE_RANK"]) == rank // 2
        t = torch.tensor([float(rank)])
        dist.all_reduce(t)
        print("rank", rank, "all_reduce", int(t.item()), flush=True)
        run = Run.get_context()
        for i in range(50):
            run.log(f"loss_rank{rank}", float(i), step=i)
            run.log("seen", rank)
        dist.destroy_process_group()
    """})
    p = server.cli("job", "create", "--file", str(yml), "--stream")
    assert p.returncode == 0, p.stdout + p.stderr
    name = submitted_name(p)
    run = server.run(name)
    assert run["status"] == "Completed", run["error"]
    merged = run_log(server, name)
    for r in RANKS:
        assert f"rank {r} all_reduce 6" in run_log(server, name, f"std_log_process_{r}.txt")
        assert f"[rank {r}] rank {r} all_reduce 6\n" in merged
    # `--stream` showed the merged view.
    assert "[rank 3] rank 3 all_reduce 6" in p.stdout
    # Every rank's metrics arrived whole: 4 x 50 records appended to one file concurrently.
    status, metrics = server.request("GET", f"/api/v1/runs/{name}/metrics")
    assert status == 200, metrics
    series = metrics["metrics"]
    for r in RANKS:
        assert [m["value"] for m in series[f"loss_rank{r}"]] == [float(i) for i in range(50)]
    assert sorted(m["value"] for m in series["seen"]) == sorted([r for r in RANKS] * 50)
    # Each point carries the rank that logged it, and one rank's points can be asked for.
    assert all(m["rank"] == m["value"] for m in series["seen"]), series["seen"][:8]
    status, only = server.request("GET", f"/api/v1/runs/{name}/metrics?key=seen&rank=2")
    assert status == 200 and [m["value"] for m in only["metrics"]["seen"]] == [2] * 50, only
    # The per-rank logs download beside std_log.txt, under Azure's names.
    server.cli("job", "download", "-n", name, "--download-path", str(tmp_path / "dl"), check=True)
    user_logs = tmp_path / "dl" / "artifacts" / "user_logs"
    assert sorted(p.name for p in user_logs.iterdir()) == [
        "std_log.txt", *[f"std_log_process_{r}.txt" for r in RANKS]]


# Every task prints its TF_CONFIG. A parameter-server job is over once its chief is (the
# runner then stops the others), so the chief waits, bounded, until every task has printed:
# otherwise a task that starts late is stopped before it prints. The tasks share the job's
# working folder on local compute.
TF_SCRIPT = {"tf.py": """
    import json, os, time
    config = json.loads(os.environ["TF_CONFIG"])
    print("TF_CONFIG " + json.dumps(config), flush=True)
    task = config["task"]
    open("printed_%s_%d" % (task["type"], task["index"]), "w").close()
    if task["type"] == "chief":
        tasks = sum(len(v) for v in config["cluster"].values())
        for _ in range(600):
            if len([f for f in os.listdir(".") if f.startswith("printed_")]) >= tasks:
                break
            time.sleep(0.05)
"""}


def tf_configs(server, name, world):
    configs = []
    for r in range(world):
        line = next(l for l in run_log(server, name, f"std_log_process_{r}.txt").splitlines()
                    if l.startswith("TF_CONFIG "))
        configs.append(json.loads(line[len("TF_CONFIG "):]))
    return configs


def test_tensorflow_workers_get_tf_config(server, tmp_path):
    yml = write_job(tmp_path, "python tf.py", files=TF_SCRIPT, extra="""
        resources: {instance_count: 2}
        distribution: {type: tensorflow, worker_count: 2}
    """)
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    assert server.wait_terminal(name)["status"] == "Completed"
    configs = tf_configs(server, name, 2)
    workers = configs[0]["cluster"]["worker"]
    assert len(workers) == 2
    host, port = workers[0].rsplit(":", 1)
    assert host == "127.0.0.1" and workers[1] == f"127.0.0.1:{int(port) + 1}"
    for index, config in enumerate(configs):
        assert set(config) == {"cluster", "task", "environment"}
        assert config["cluster"] == {"worker": workers}
        assert config["task"] == {"type": "worker", "index": index}
        assert config["environment"] == "cloud"


def test_tensorflow_workers_and_parameter_server_get_tf_config(make_server, tmp_path):
    server = make_server(slots=3)
    yml = write_job(tmp_path, "python tf.py", files=TF_SCRIPT, extra="""
        resources: {instance_count: 3}
        distribution: {type: tensorflow, worker_count: 2, parameter_server_count: 1}
    """)
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    assert server.wait_terminal(name)["status"] == "Completed"
    # ParameterServerStrategy's cluster: a chief (the coordinator, rank 0) besides them.
    configs = tf_configs(server, name, 4)
    cluster = configs[0]["cluster"]
    assert set(cluster) == {"chief", "worker", "ps"}
    assert len(cluster["chief"]) == 1 and len(cluster["worker"]) == 2 and len(cluster["ps"]) == 1
    addresses = cluster["chief"] + cluster["worker"] + cluster["ps"]
    assert len(set(addresses)) == 4 and all(a.startswith("127.0.0.1:") for a in addresses)
    expected_tasks = [{"type": "chief", "index": 0}, {"type": "worker", "index": 0},
                      {"type": "worker", "index": 1}, {"type": "ps", "index": 0}]
    for config, task in zip(configs, expected_tasks):
        assert config["cluster"] == cluster
        assert config["task"] == task
        assert config["environment"] == "cloud"


needs_mpi = pytest.mark.skipif(shutil.which("mpirun") is None,
                               reason="OpenMPI's mpirun is not installed (apt-get install openmpi-bin)")


@needs_mpi
def test_mpi_all_reduce_under_mpirun(server, tmp_path):
    pytest.importorskip("mpi4py")
    yml = write_job(tmp_path, "python mpi.py", extra=TWO_BY_TWO.format(type="mpi"), files={"mpi.py": """
        import os
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        rank = comm.Get_rank()
        assert comm.Get_size() == 4
        assert rank == int(os.environ["OMPI_COMM_WORLD_RANK"]) == int(os.environ["GANTRY_RANK"])
        assert int(os.environ["GANTRY_NODE_RANK"]) == rank // 2
        print("rank", rank, "allreduce", comm.allreduce(rank), flush=True)
    """})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    run = server.wait_terminal(name)
    merged = run_log(server, name)
    assert run["status"] == "Completed", run["error"] + merged
    for r in RANKS:
        assert f"rank {r} allreduce 6" in run_log(server, name, f"std_log_process_{r}.txt")
        assert f"[rank {r}] rank {r} allreduce 6\n" in merged


@needs_mpi
def test_mpi_rank_failure_names_the_rank_and_leaves_no_process(server, tmp_path):
    yml = write_job(tmp_path, "python hold.py 1", extra=TWO_BY_TWO.format(type="mpi"),
                    files={"hold.py": HOLD})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    run = server.wait_terminal(name)
    assert run["status"] == "Failed"
    assert "rank 1 (node 0) exited with code 3" in run["error"]
    assert "ValueError bad shard" in run["error"]
    assert run["exit_code"] == 3
    assert_all_gone(recorded_pids(server, name))
    assert_none_left(server, name)


def test_a_failed_rank_fails_the_run_and_stops_the_others(server, tmp_path):
    yml = write_job(tmp_path, "python hold.py 2", extra=TWO_BY_TWO.format(type="pytorch"),
                    files={"hold.py": HOLD})
    p = server.cli("job", "create", "--file", str(yml), "--stream")
    assert p.returncode == 1
    name = submitted_name(p)
    run = server.run(name)
    assert run["status"] == "Failed"
    assert run["error"].startswith("rank 2 (node 1) exited with code 3; the other ranks were stopped")
    assert "ValueError bad shard" in run["error"]
    assert run["exit_code"] == 3
    pids = recorded_pids(server, name)
    assert len(pids) == 8  # every rank had started, with its child
    assert_all_gone(pids)
    assert_none_left(server, name)
    assert "[rank 2] rank 2 broke: ValueError bad shard" in run_log(server, name)


@pytest.mark.parametrize("kind", ["pytorch", pytest.param("mpi", marks=needs_mpi)])
def test_cancel_stops_every_rank(server, tmp_path, kind):
    yml = write_job(tmp_path, "python hold.py -1", extra=TWO_BY_TWO.format(type=kind),
                    files={"hold.py": HOLD})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    server.wait_for(name, lambda r, text: text.count("] ready\n") == 4)
    server.cli("job", "cancel", "-n", name, check=True)
    assert server.wait_terminal(name)["status"] == "Canceled"
    pids = recorded_pids(server, name)
    assert len(pids) == 8
    assert_all_gone(pids)
    assert_none_left(server, name)


def test_timeout_stops_every_rank(server, tmp_path):
    yml = write_job(tmp_path, "python hold.py -1", extra=TWO_BY_TWO.format(type="pytorch") +
                    "    limits:\n      timeout: 2\n", files={"hold.py": HOLD})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    run = server.wait_terminal(name)
    assert run["status"] == "Failed"
    assert "timed out after 2 s" in run["error"]
    # The ranks that had started by then (any number: no timing is assumed) are gone.
    pids = recorded_pids(server, name)
    if pids:
        assert_all_gone(pids)
    assert_none_left(server, name)


@pytest.mark.parametrize("kind", ["pytorch", pytest.param("mpi", marks=needs_mpi)])
def test_a_dead_runner_takes_every_rank_with_it(server, tmp_path, kind):
    yml = write_job(tmp_path, "python hold.py -1", extra=TWO_BY_TWO.format(type=kind),
                    files={"hold.py": HOLD})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    server.wait_for(name, lambda r, text: text.count("] ready\n") == 4)
    found = subprocess.run(["pgrep", "-f", f"runner --server .* --run {name}"],
                           capture_output=True, text=True).stdout.split()
    assert len(found) == 1
    os.kill(int(found[0]), signal.SIGKILL)
    run = server.wait_terminal(name)
    assert run["status"] == "Failed" and "exited without reporting" in run["error"]
    pids = recorded_pids(server, name)
    assert len(pids) == 8
    assert_all_gone(pids)
    assert_none_left(server, name)


def test_more_instances_than_the_target_has_nodes_is_refused(server, tmp_path):
    yml = write_job(tmp_path, "true", extra="resources: {instance_count: 3}\n")
    p = server.cli("job", "create", "--file", str(yml))
    assert p.returncode == 2, p.stdout + p.stderr
    assert "instance_count is 3" in p.stderr and "at most 2 node(s)" in p.stderr
    assert "--slots" in p.stderr
    status, runs = server.request("GET", "/api/v1/runs")
    assert status == 200 and runs["runs"] == []


def test_a_distributed_job_waits_until_all_its_nodes_are_free(server, tmp_path):
    gate = tmp_path / "gate"
    single = write_job(tmp_path / "single",
                       f"bash -c 'echo waiting; while [ ! -e {gate} ]; do sleep 0.02; done'")
    both = write_job(tmp_path / "both", "echo rank $GANTRY_RANK of $GANTRY_WORLD_SIZE",
                     extra="resources: {instance_count: 2}\n")
    first = submitted_name(server.cli("job", "create", "--file", str(single), check=True))
    server.wait_for(first, lambda r, text: "waiting" in text)
    second = submitted_name(server.cli("job", "create", "--file", str(both), check=True))
    # One of the two slots is busy: the 2-instance job is not started on the other one.
    assert server.run(second)["status"] == "Queued"
    gate.write_text("go")
    runs = [server.wait_terminal(n) for n in (first, second)]
    assert [r["status"] for r in runs] == ["Completed", "Completed"]
    assert runs[1]["started_at_ms"] >= runs[0]["ended_at_ms"]
    merged = run_log(server, second)
    assert "[rank 0] rank 0 of 2\n" in merged and "[rank 1] rank 1 of 2\n" in merged


def test_mpi_without_mpirun_fails_before_starting(server, tmp_path):
    # The job's PATH (its own environment_variables win) has no mpirun.
    yml = write_job(tmp_path, "true", extra=TWO_BY_TWO.format(type="mpi") + """
    environment_variables:
      PATH: /nonexistent
    """)
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    run = server.wait_terminal(name)
    assert run["status"] == "Failed"
    assert "OpenMPI's mpirun" in run["error"] and "apt-get install openmpi-bin" in run["error"]
    assert [e["status"] for e in run["status_history"]][-2:] == ["Preparing", "Failed"]
