"""Slurm compute targets against a real Slurm cluster (tests/slurm_cluster.py): one slurmd in
its own network namespace, so the runner on the node reaches the workspace server over HTTP
on the bridge address only. Waiting is on conditions, bounded in count."""
import os
import subprocess

import pytest

from conftest import Server, submitted_name, wait_until, write_job
from slurm_cluster import SlurmCluster, slurm_available

pytestmark = [
    pytest.mark.skipif(slurm_available() is not None, reason=str(slurm_available())),
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
]

NODE_CPUS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with SlurmCluster(tmp_path_factory.mktemp("slurm"), nodes=1, cpus=NODE_CPUS, netns=True,
                      tag="gs") as c:
        yield c


@pytest.fixture
def slurm_server(cluster, tmp_path, monkeypatch):
    """A workspace server listening on every address, with a slurm target whose nodes reach it
    on the bridge; yields (server, target name)."""
    monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
    s = Server(tmp_path / "ws", extra_args=["--host", "0.0.0.0"]).start()
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    s.node_dir = node_dir
    s.cli("compute", "create", "--name", "hpc", "--type", "slurm", "--cpus", str(NODE_CPUS),
          "--server-url", f"http://{cluster.controller_addr}:{s.port}",
          "--node-work-dir", str(node_dir), "--partition", "debug", check=True)
    yield s
    s.stop()
    # Whatever a failed test left in Slurm goes with it.
    cluster.run("scancel", "--name", "gantry-*", check=False)
    for job in cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split():
        cluster.run("scancel", job, check=False)


def squeue_ids(cluster):
    return cluster.run("squeue", "-h", "-o", "%i").stdout.split()


def submit(server, tmp_path, command, sub="job", extra=""):
    yml = write_job(tmp_path / sub, command, extra="compute: hpc\n" + extra)
    yml.write_text(yml.read_text().replace("compute: local\n", "", 1))
    return submitted_name(server.cli("job", "create", "--file", str(yml), check=True))


def test_a_job_runs_on_the_node_and_reports_over_http(slurm_server, cluster, tmp_path):
    name = submit(slurm_server, tmp_path,
                  "echo hello from $(hostname -I) in $SLURM_JOB_ID; mkdir -p outputs; echo 42 > outputs/answer.txt")
    run = slurm_server.wait_terminal(name)
    assert run["status"] == "Completed", run
    assert run["compute_job_id"]
    log = slurm_server.request("GET", f"/api/v1/runs/{name}/logs/std_log.txt")[1].decode()
    # It ran on the node (its own address), inside the Slurm job Gantry submitted.
    assert f"hello from {cluster.node_addrs[0]}" in log and f"in {run['compute_job_id']}" in log, log
    status, arts = slurm_server.request("GET", f"/api/v1/runs/{name}/artifacts")
    assert status == 200 and "outputs/answer.txt" in [a["path"] for a in arts["artifacts"]], arts
    script = (slurm_server.workspace / "runs" / name / "slurm.sh").read_text()
    assert f"#SBATCH --job-name=gantry-{name}" in script and "#SBATCH --partition=debug" in script
    # The run went through Slurm's queue to the end, in order.
    statuses = [e["status"] for e in slurm_server.run(name)["status_history"]]
    assert statuses.index("Queued") < statuses.index("Preparing") < statuses.index("Running") \
        < statuses.index("Completed"), statuses


def test_a_job_waits_queued_with_slurms_reason_then_cancel(slurm_server, cluster, tmp_path):
    # The first job takes the node's every CPU; the second cannot be placed until it ends.
    first = submit(slurm_server, tmp_path, "echo started; sleep 6101; echo first-marker", sub="a")
    slurm_server.wait_for(first, lambda r, log: "started" in log)
    second = submit(slurm_server, tmp_path, "echo second ran", sub="b")
    run, _ = slurm_server.wait_for(second, lambda r, _: "Resources" in r["status_detail"] or
                                   "Priority" in r["status_detail"])
    assert run["status"] == "Queued" and "Slurm job" in run["status_detail"], run
    job2 = run["compute_job_id"]
    assert job2 in squeue_ids(cluster)

    # Cancel the waiting one: Slurm forgets it, the run ends Canceled without having run.
    assert slurm_server.cli("job", "cancel", "-n", second, check=True).returncode == 0
    assert slurm_server.wait_terminal(second)["status"] == "Canceled"
    wait_until(lambda: job2 not in squeue_ids(cluster), f"Slurm job {job2} gone from squeue")

    # Cancel the running one: Canceled, and nothing of it is left on the node.
    job1 = slurm_server.run(first)["compute_job_id"]
    slurm_server.cli("job", "cancel", "-n", first, check=True)
    assert slurm_server.wait_terminal(first)["status"] == "Canceled"
    wait_until(lambda: job1 not in squeue_ids(cluster), f"Slurm job {job1} gone from squeue")
    leftover = subprocess.run(["pgrep", "-f", "sleep 6101"], capture_output=True, text=True).stdout
    assert leftover == "", f"processes left behind: {leftover}"


def test_a_job_waits_then_starts_when_the_node_frees(slurm_server, cluster, tmp_path):
    first = submit(slurm_server, tmp_path, "echo started; sleep 6102", sub="a")
    slurm_server.wait_for(first, lambda r, log: "started" in log)
    second = submit(slurm_server, tmp_path, "echo second ran", sub="b")
    slurm_server.wait_for(second, lambda r, _: "Resources" in r["status_detail"] or
                          "Priority" in r["status_detail"])
    slurm_server.cli("job", "cancel", "-n", first, check=True)
    assert slurm_server.wait_terminal(first)["status"] == "Canceled"
    assert slurm_server.wait_terminal(second)["status"] == "Completed"
    log = slurm_server.request("GET", f"/api/v1/runs/{second}/logs/std_log.txt")[1].decode()
    assert "second ran" in log, log


def test_scancel_from_outside_fails_the_run_with_slurms_state(slurm_server, cluster, tmp_path):
    name = submit(slurm_server, tmp_path, "echo started; sleep 6103")
    slurm_server.wait_for(name, lambda r, log: "started" in log)
    job = slurm_server.run(name)["compute_job_id"]
    cluster.run("scancel", job)
    run = slurm_server.wait_terminal(name)
    assert run["status"] == "Failed", run
    assert f"Slurm job {job} ended as CANCELLED" in run["error"], run["error"]
    wait_until(lambda: subprocess.run(["pgrep", "-f", "sleep 6103"], capture_output=True).returncode != 0,
         "the job's processes gone")


def test_a_job_left_by_an_earlier_submission_of_the_run_is_cancelled_first(slurm_server, cluster, tmp_path):
    # As if a server had stopped right after sbatch, before storing the job id: a Slurm job
    # named after the run already exists (its token is stale). Submitting the run again
    # must not leave two.
    (tmp_path / "orphan.sh").write_text("#!/bin/bash\nsleep 6104\n")
    orphan = cluster.run("sbatch", "--parsable", "--job-name=gantry-orphan_run_1",
                         f"--output={tmp_path}/orphan.out", str(tmp_path / "orphan.sh")).stdout.strip()
    wait_until(lambda: orphan in squeue_ids(cluster), "the orphan job queued")
    name = submit(slurm_server, tmp_path, "echo the real one", extra="name: orphan_run_1\n")
    assert name == "orphan_run_1"
    run = slurm_server.wait_terminal(name)
    assert run["status"] == "Completed", run
    assert run["compute_job_id"] != orphan
    wait_until(lambda: orphan not in squeue_ids(cluster), "the orphan job cancelled")
    wait_until(lambda: nothing_left_named("sleep 6104"), "the orphan's process gone")


def nothing_left_named(marker):
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0
