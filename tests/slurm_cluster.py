"""A real Slurm cluster on this machine for tests: munged, slurmctld and one slurmd per node
from Debian's slurm-wlm packages, with a config written here and everything under one
folder. With `netns=True` (needs root) each slurmd runs in its own network namespace with
its own address on a bridge, so a 2-node job crosses a real network hop; the controller and
the test's workspace server listen on the bridge's address.

    with SlurmCluster(tmp_path / "slurm", nodes=2) as cluster:
        subprocess.run(["sbatch", ...], env=cluster.env)

Waiting is on conditions (sinfo says the nodes are idle), bounded in count."""
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SLURM_TOOLS = ["slurmctld", "slurmd", "munged", "sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo"]


def slurm_available():
    """None when the Slurm and munge tools are installed, else what is missing."""
    missing = [t for t in SLURM_TOOLS if not (shutil.which(t) or Path("/usr/sbin", t).exists())]
    return ("missing " + ", ".join(missing) + " (scripts/install-deps.sh installs slurmd, slurmctld, "
            "slurm-client and munge)") if missing else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tool(name):
    return shutil.which(name) or str(Path("/usr/sbin", name))


class SlurmCluster:
    BRIDGE = "gtbr0"

    def __init__(self, root: Path, nodes: int = 1, cpus: int = 2, netns: bool = False, tag: str = "g",
                 subnet: str = "10.77.0"):
        self.root = Path(root)
        self.nodes = nodes
        self.cpus = cpus
        self.netns = netns
        self.tag = tag  # keeps namespace and link names unique between clusters
        self.subnet = subnet  # with netns: the bridge is SUBNET.1, node i is SUBNET.(i+2)
        self.procs = []
        self.namespaces = []
        self.node_names = [f"node{i + 1}" for i in range(nodes)]
        if netns:
            self.controller_addr = f"{subnet}.1"
            self.node_addrs = [f"{subnet}.{i + 2}" for i in range(nodes)]
        else:
            self.controller_addr = "127.0.0.1"
            self.node_addrs = ["127.0.0.1"] * nodes
        self.env = None

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        r = self.root
        for d in ["state", "log", "run"] + [f"spool/{n}" for n in self.node_names]:
            (r / d).mkdir(parents=True, exist_ok=True)
        # munge: our own key, socket and files.
        key = r / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o600)
        self.munge_socket = r / "run" / "munge.socket"
        self._spawn([_tool("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                     f"--key-file={key}", f"--pid-file={r / 'run/munged.pid'}",
                     f"--log-file={r / 'log/munged.log'}", f"--seed-file={r / 'run/munged.seed'}"],
                    "munged")
        self._wait(lambda: self.munge_socket.exists(), "munged's socket")
        if self.netns:
            self._make_network()
        self.ctld_port, self.slurmd_port = _free_port(), _free_port()
        self.conf = r / "slurm.conf"
        self.conf.write_text(self._config())
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._spawn([_tool("slurmctld"), "-D", "-f", str(self.conf)], "slurmctld")
        for name, addr in zip(self.node_names, self.node_addrs):
            cmd = [_tool("slurmd"), "-D", "-f", str(self.conf), "-N", name]
            if self.netns:
                # nsenter switches only the network namespace (`ip netns exec` would also remount
                # /sys, hiding the cgroup filesystem slurmd needs).
                cmd = ["nsenter", f"--net=/run/netns/{self._ns(name)}"] + cmd
            self._spawn(cmd, f"slurmd-{name}")
        self.wait_idle()
        return self

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        if self.namespaces:
            subprocess.run(["ip", "link", "del", self._bridge()], check=False, capture_output=True)
        self.namespaces = []

    # -- helpers for tests ----------------------------------------------------------------
    def run(self, *args, check=True, timeout=120):
        p = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert p.returncode == 0, f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
        return p

    def log(self, name):
        p = self.root / "log" / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    # -- internals ------------------------------------------------------------------------
    def _ns(self, node):
        return f"{self.tag}-{node}"

    def _bridge(self):
        return f"{self.tag}br0"[:15]

    def _spawn(self, cmd, name):
        out = open(self.root / "log" / f"{name}.out", "ab")
        self.procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def wait_idle(self):
        """Waits until every node is idle again (a node stays "completing" for a moment after a
        step ends); raises when they are not after the bounded number of polls."""
        self._wait(self._nodes_idle, "every node idle in sinfo", polls=600)

    def _wait(self, predicate, what, polls=300):
        for _ in range(polls):
            if predicate():
                return
            for p in self.procs:
                if p.poll() is not None:
                    raise AssertionError(f"{p.args[0]} exited ({p.returncode}) while waiting for {what}:\n"
                                         + "\n".join(self.log(n) for n in ["slurmctld"] + [f"slurmd-{m}" for m in self.node_names]))
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}:\n" + self.log("slurmctld"))

    def _nodes_idle(self):
        p = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %T"], env=self.env, capture_output=True, text=True)
        states = dict(line.split() for line in p.stdout.splitlines() if line.strip())
        return len(states) == self.nodes and all(s.startswith("idle") for s in states.values())

    def _make_network(self):
        def ip(*args):
            subprocess.run(["ip", *args], check=True, capture_output=True)
        bridge = self._bridge()
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        ip("link", "add", bridge, "type", "bridge")
        ip("addr", "add", f"{self.controller_addr}/24", "dev", bridge)
        ip("link", "set", bridge, "up")
        for i, (name, addr) in enumerate(zip(self.node_names, self.node_addrs)):
            ns = self._ns(name)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            ip("netns", "add", ns)
            self.namespaces.append(ns)
            host_end, ns_end = f"{self.tag}h{i}"[:15], f"{self.tag}n{i}"[:15]
            ip("link", "add", host_end, "type", "veth", "peer", "name", ns_end)
            ip("link", "set", ns_end, "netns", ns)
            ip("link", "set", host_end, "master", bridge)
            ip("link", "set", host_end, "up")
            ip("netns", "exec", ns, "ip", "addr", "add", f"{addr}/24", "dev", ns_end)
            ip("netns", "exec", ns, "ip", "link", "set", ns_end, "up")
            ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def _config(self):
        r = self.root
        nodes = "\n".join(
            f"NodeName={n} NodeAddr={a} NodeHostname={n} CPUs={self.cpus} State=UNKNOWN"
            for n, a in zip(self.node_names, self.node_addrs))
        return f"""# Written by tests/slurm_cluster.py
ClusterName=gantry-test
SlurmctldHost=localhost({self.controller_addr})
SlurmctldPort={self.ctld_port}
SlurmdPort={self.slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool/%n
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd-%n.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
{nodes}
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""" + self._overrides()

    def _overrides(self):
        # A node with more CPUs than this machine has (a 4-CPU node on a 2-core machine, for
        # a 4-process job) would be drained at registration ("Low CPUs"); config_overrides
        # makes slurmd report the configured count instead.
        return "SlurmdParameters=config_overrides\n" if self.cpus > (os.cpu_count() or 1) else ""
