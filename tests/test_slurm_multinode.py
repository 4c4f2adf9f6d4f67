"""Multi-node jobs on a real two-node Slurm cluster (tests/slurm_cluster.py): each slurmd in
its own network namespace, so the ranks of a job meet across a real network hop and every
runner reaches the workspace server over HTTP only. Waiting is on conditions, bounded."""
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import Server, run_log, submitted_name, wait_until, write_job
from slurm_cluster import SlurmCluster
from test_distributed import TWO_BY_TWO
from test_distributed_mnist import DATA as MNIST_DATA, ROOT, TOLERANCE, TRAIN, final_accuracy
from test_slurm import pytestmark, squeue_ids  # noqa: F401 (pytestmark: the same skips)

NODE_CPUS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with SlurmCluster(tmp_path_factory.mktemp("slurm"), nodes=2, cpus=NODE_CPUS, netns=True,
                      tag="gm", subnet="10.78.0") as c:
        yield c


@pytest.fixture
def server(cluster, tmp_path, monkeypatch):
    """A workspace server on every address, with a two-node slurm target `hpc`."""
    monkeypatch.setenv("SLURM_CONF", str(cluster.conf))
    s = Server(tmp_path / "ws", extra_args=["--host", "0.0.0.0"]).start()
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    s.cli("compute", "create", "--name", "hpc", "--type", "slurm", "--cpus", str(NODE_CPUS),
          "--max-instances", "2", "--server-url", f"http://{cluster.controller_addr}:{s.port}",
          "--node-work-dir", str(node_dir), "--partition", "debug", check=True)
    yield s
    s.stop()
    for job in cluster.run("squeue", "-h", "-o", "%i", check=False).stdout.split():
        cluster.run("scancel", job, check=False)


def submit(server, tmp_path, command, extra, files=None):
    yml = write_job(tmp_path, command, extra="compute: hpc\n" + textwrap.dedent(extra), files=files)
    yml.write_text(yml.read_text().replace("compute: local\n", "", 1))
    p = server.cli("job", "create", "--file", str(yml))
    assert p.returncode == 0, p.stdout + p.stderr
    return submitted_name(p)


def mnist_submit(server, folder, extra=""):
    yml = write_job(folder, TRAIN, extra=extra)
    if "compute: hpc" in extra:
        yml.write_text(yml.read_text().replace("compute: local\n", "", 1))
    shutil.copy(ROOT / "examples/mnist/src/train.py", folder / "src" / "train.py")
    return submitted_name(server.cli("job", "create", "--file", str(yml), check=True))


def nothing_left(marker):
    return subprocess.run(["pgrep", "-f", marker], capture_output=True).returncode != 0


DDP = {"ddp.py": """
    import os, socket, subprocess
    import torch
    import torch.distributed as dist
    from gantry import Run
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    assert rank == int(os.environ["RANK"]) and dist.get_world_size() == 4
    address = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()[0]
    t = torch.tensor([float(rank)])
    dist.all_reduce(t)
    print(f"rank {rank} node {os.environ['NODE_RANK']} local {os.environ['LOCAL_RANK']} at {address} "
          f"master {os.environ['MASTER_ADDR']} all_reduce {int(t.item())}", flush=True)
    Run.get_context().log("rank_seen", rank)
    os.makedirs("outputs", exist_ok=True)
    open(f"outputs/rank_{rank}.txt", "w").write(address)
    dist.destroy_process_group()
"""}


def test_pytorch_ddp_runs_two_processes_on_each_of_two_nodes(server, cluster, tmp_path):
    name = submit(server, tmp_path, "python ddp.py", TWO_BY_TWO.format(type="pytorch"), DDP)
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"] + run_log(server, name)
    node0, node1 = cluster.node_addrs
    merged = run_log(server, name)
    for rank in range(4):
        node = rank // 2
        line = (f"rank {rank} node {node} local {rank % 2} at {cluster.node_addrs[node]} "
                f"master {node0} all_reduce 6")
        # Each rank ran on its own node, found node 0 across the bridge, and summed all four.
        assert line in run_log(server, name, f"std_log_process_{rank}.txt")
        # The merged view has every node's ranks, prefixed.
        assert f"[rank {rank}] {line}\n" in merged, merged
    status, metrics = server.request("GET", f"/api/v1/runs/{name}/metrics")
    assert sorted(m["value"] for m in metrics["metrics"]["rank_seen"]) == [0, 1, 2, 3]
    assert all(m["rank"] == m["value"] for m in metrics["metrics"]["rank_seen"])
    # outputs/ are node 0's: its two ranks' files, written on node 0.
    status, arts = server.request("GET", f"/api/v1/runs/{name}/artifacts?prefix=outputs/")
    assert sorted(a["path"] for a in arts["artifacts"]) == ["outputs/rank_0.txt", "outputs/rank_1.txt"]
    assert server.request("GET", f"/api/v1/runs/{name}/artifacts/content/outputs/rank_1.txt")[1] \
        == node0.encode()
    # One Slurm job of two nodes, one runner on each; Running only once both ran.
    script = (server.workspace / "runs" / name / "slurm.sh").read_text()
    assert "#SBATCH --nodes=2\n" in script and "--node-count 2 --node-rank-from-env SLURM_NODEID" in script
    statuses = [e["status"] for e in server.run(name)["status_history"]]
    assert statuses.index("Queued") < statuses.index("Preparing") < statuses.index("Starting") \
        < statuses.index("Running") < statuses.index("Completed"), statuses


HOLD = {"hold.py": """
    import os, subprocess, sys, time
    rank = int(os.environ["RANK"])
    child = subprocess.Popen(["sleep", "%s"])
    print("ready", rank, flush=True)
    if rank == int(sys.argv[1]):
        print("rank", rank, "broke: ValueError bad shard", file=sys.stderr, flush=True)
        sys.exit(3)
    child.wait()
"""}


def hold(marker):
    return {"hold.py": HOLD["hold.py"] % marker}


def test_a_rank_failing_on_node_1_fails_the_run_and_stops_node_0(server, cluster, tmp_path):
    name = submit(server, tmp_path, "python hold.py 3", TWO_BY_TWO.format(type="pytorch"), hold("7201"))
    run = server.wait_terminal(name)
    assert run["status"] == "Failed", run
    assert "rank 3 (node 1) exited with code 3" in run["error"], run["error"]
    assert "broke: ValueError bad shard" in run["error"], run["error"]
    assert run["exit_code"] == 3
    wait_until(lambda: nothing_left("sleep 7201"), "every rank gone from both nodes")
    wait_until(lambda: not squeue_ids(cluster), "the Slurm job gone")


def test_cancel_stops_the_ranks_on_both_nodes(server, cluster, tmp_path):
    name = submit(server, tmp_path, "python hold.py -1", TWO_BY_TWO.format(type="pytorch"), hold("7202"))
    server.wait_for(name, lambda r, log: r["status"] == "Running" and all(
        f"[rank {k}] ready {k}" in log for k in range(4)))
    # `job show` has the Slurm job and each node's state while the job runs.
    shown = server.cli("job", "show", "-n", name, check=True).stdout
    assert f"Slurm job:    {server.run(name)['compute_job_id']}" in shown, shown
    for node, address in enumerate(cluster.node_addrs):
        assert f"node {node}  running  {address}" in shown, shown
    server.cli("job", "cancel", "-n", name, check=True)
    assert server.wait_terminal(name)["status"] == "Canceled"
    wait_until(lambda: nothing_left("sleep 7202"), "every rank gone from both nodes")
    wait_until(lambda: not squeue_ids(cluster), "the Slurm job gone")


def test_tensorflow_workers_on_two_nodes_get_each_others_addresses(server, cluster, tmp_path):
    name = submit(server, tmp_path, "python tf.py", """
    resources:
      instance_count: 2
    distribution:
      type: tensorflow
      worker_count: 2
      outputs_from: all_nodes
""", {"tf.py": """
    import json, os
    c = json.loads(os.environ["TF_CONFIG"])
    print("TF", c["task"]["index"], ",".join(c["cluster"]["worker"]), flush=True)
    os.makedirs("outputs", exist_ok=True)
    open(f"outputs/task_{c['task']['index']}.txt", "w").write("done")
"""})
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"]
    merged = run_log(server, name)
    node0, node1 = cluster.node_addrs
    workers = [line.split()[-1] for line in merged.splitlines() if " TF " in line]
    assert len(workers) == 2 and len(set(workers)) == 1, merged
    hosts = [w.rsplit(":", 1)[0] for w in workers[0].split(",")]
    assert hosts == [node0, node1], merged
    # outputs_from: all_nodes: node 1's outputs/ came too, under outputs/node_1/.
    status, arts = server.request("GET", f"/api/v1/runs/{name}/artifacts?prefix=outputs/")
    assert sorted(a["path"] for a in arts["artifacts"]) == ["outputs/node_1/task_1.txt", "outputs/task_0.txt"]


def test_more_nodes_than_the_target_allows_is_refused_naming_the_field(server, tmp_path):
    yml = write_job(tmp_path, "true", extra="compute: hpc\nresources:\n  instance_count: 3\n")
    yml.write_text(yml.read_text().replace("compute: local\n", "", 1))
    p = server.cli("job", "create", "--file", str(yml))
    assert p.returncode == 2 and "instance_count is 3" in p.stderr and "max_nodes" in p.stderr, p.stderr


# Both test nodes share one kernel and /dev/shm (only their networks differ), so OpenMPI's
# shared-memory transport would mix up the two nodes' segments: the job uses TCP, as ranks
# on different machines do anyway.
MPI_JOB = TWO_BY_TWO.format(type="mpi") + """
    environment_variables:
      OMPI_MCA_btl: tcp,self
"""

MPI_SCRIPT = {"allreduce.py": """
    import os, subprocess, sys
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    address = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()[0]
    total = comm.allreduce(comm.rank)
    print(f"rank {comm.rank} of {comm.size} gantry {os.environ['GANTRY_RANK']} "
          f"node {os.environ['GANTRY_NODE_RANK']} at {address} in {os.path.basename(os.path.dirname(os.getcwd()))} "
          f"sum {total}", flush=True)
    if comm.rank == int(sys.argv[1]):
        print("rank", comm.rank, "broke: ValueError bad shard", file=sys.stderr, flush=True)
        sys.exit(3)
"""}


def test_mpi_all_reduce_across_two_nodes_under_mpirun(server, cluster, tmp_path):
    name = submit(server, tmp_path, "python allreduce.py -1", MPI_JOB, MPI_SCRIPT)
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"] + run_log(server, name)
    merged = run_log(server, name)
    for rank in range(4):
        node = rank // 2
        line = (f"rank {rank} of 4 gantry {rank} node {node} at {cluster.node_addrs[node]} "
                f"in node_{node} sum 6")
        # mpirun on node 0 started two ranks on each node, each in its own node's folder.
        assert line in run_log(server, name, f"std_log_process_{rank}.txt"), merged
        assert f"[rank {rank}] {line}\n" in merged, merged


def test_an_mpi_rank_failing_on_node_1_is_named(server, cluster, tmp_path):
    name = submit(server, tmp_path, "python allreduce.py 3 && sleep 7203", MPI_JOB, MPI_SCRIPT)
    run = server.wait_terminal(name)
    assert run["status"] == "Failed", run
    assert "rank 3 (node 1) exited with code 3" in run["error"], run["error"]
    assert "broke: ValueError bad shard" in run["error"], run["error"]
    wait_until(lambda: nothing_left("sleep 7203"), "every rank gone from both nodes")
    wait_until(lambda: not squeue_ids(cluster), "the Slurm job gone")


@pytest.mark.skipif(not Path(MNIST_DATA, "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)")
def test_mnist_trained_with_ddp_on_two_nodes_reaches_the_single_process_accuracy(server, tmp_path):
    # The same script and data as tests/test_distributed_mnist.py: once as one process on
    # local compute, once as 2 nodes x 2 processes on Slurm.
    single = mnist_submit(server, tmp_path / "single")
    ddp = mnist_submit(server, tmp_path / "ddp", extra="compute: hpc\n" + textwrap.dedent(
        TWO_BY_TWO.format(type="pytorch")))
    runs = {name: server.wait_terminal(name) for name in (single, ddp)}
    for name, run in runs.items():
        assert run["status"] == "Completed", f"{name}: {run['error']}"
    single_acc, ddp_acc = final_accuracy(server, single), final_accuracy(server, ddp)
    print(f"test accuracy: single process {single_acc}, DDP 2 nodes x 2 {ddp_acc}")
    assert single_acc > 0.7, single_acc
    assert abs(ddp_acc - single_acc) <= TOLERANCE, (single_acc, ddp_acc)
    assert "DDP: rank 3 of 4 (gloo)" in run_log(server, ddp, "std_log_process_3.txt")


def test_tensorflow_multiworker_on_two_nodes_matches_one_worker(server, tmp_path):
    # MultiWorkerMirroredStrategy across the network hop between the two nodes, against the
    # same script as one worker on one node. The nodes build the curated TensorFlow
    # environment into their work folder's gantry-envs; pointing it at the cache that
    # tests/test_tensorflow.py fills saves a second build (builds are named by content).
    from test_tensorflow import ENV_CACHE, last_value, tf_job
    ENV_CACHE.mkdir(exist_ok=True)
    (tmp_path / "node" / "gantry-envs").symlink_to(ENV_CACHE)
    names = {}
    for label, extra in [("one", "resources:\n  instance_count: 1\n"),
                         ("two", "resources:\n  instance_count: 2\ndistribution:\n"
                                 "  type: tensorflow\n  worker_count: 2\n")]:
        yml = tf_job(tmp_path / label, label, "--epochs 1 --limit 6000", extra)
        yml.write_text(yml.read_text().replace("compute: local\n", "compute: hpc\n"))
        names[label] = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    acc = {}
    for label, name in names.items():
        run = server.wait_terminal(name)
        assert run["status"] == "Completed", f"{label}: {run['error']}"
        status, metrics = server.request("GET", f"/api/v1/runs/{name}/metrics")
        assert status == 200, metrics
        acc[label] = last_value(metrics["metrics"]["final_acc"])
    print(f"final_acc: one worker {acc['one']}, two workers on two nodes {acc['two']}")
    assert acc["one"] > 0.6
    assert abs(acc["two"] - acc["one"]) <= 0.002, acc
    assert "2 worker(s)" in run_log(server, names["two"], "std_log_process_0.txt")
