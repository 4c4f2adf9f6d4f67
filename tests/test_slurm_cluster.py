"""The Slurm test harness itself (tests/slurm_cluster.py): a real slurmctld and two slurmd
nodes, each in its own network namespace, run a 2-node step across the bridge. The Slurm
compute backend's tests build on this harness."""
import os

import pytest

from slurm_cluster import SlurmCluster, slurm_available

pytestmark = [
    pytest.mark.skipif(slurm_available() is not None, reason=str(slurm_available())),
    pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
]


def test_a_two_node_step_runs_one_task_on_each_node(tmp_path):
    with SlurmCluster(tmp_path / "slurm", nodes=2, netns=True, tag="gh") as cluster:
        out = cluster.run("srun", "--nodes=2", "--ntasks-per-node=1", "--label",
                          "bash", "-c", "echo node=$SLURM_NODEID addr=$(hostname -I)").stdout
        lines = sorted(line.split(": ", 1)[1].strip() for line in out.splitlines() if ": " in line)
        assert lines == ["node=0 addr=10.77.0.2", "node=1 addr=10.77.0.3"], out
        # The nodes reach the controller's bridge address, as runners will reach the server.
        ping = cluster.run("srun", "--nodes=1", "-w", "node2", "bash", "-c",
                           "exec 3<>/dev/tcp/%s/%d && echo reached" % (cluster.controller_addr, cluster.ctld_port))
        assert "reached" in ping.stdout
        # Both nodes are back to idle once the steps are over.
        cluster.wait_idle()
        assert cluster.run("sinfo", "-h", "-o", "%D %T").stdout.split() == ["2", "idle"]
