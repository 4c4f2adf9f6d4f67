"""Shared helpers for the benchmarks: a Gantry server in a temp workspace, a run token."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GANTRY = os.environ.get("GANTRY_BIN", str(ROOT / "build" / "gantry"))


class GantryServer:
    def __init__(self, slots=2, extra_args=(), env=None):
        """extra_args: more `gantry server` flags (e.g. --host 0.0.0.0); env: its environment
        (e.g. SLURM_CONF for a Slurm target), default this process's."""
        self.tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-"))
        self.proc = subprocess.Popen([GANTRY, "server", "--workspace", str(self.tmp / "ws"), "--port", "0",
                                      "--slots", str(slots), *extra_args], stdout=subprocess.PIPE,
                                     stderr=open(self.tmp / "server.log", "w"), text=True, env=env)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            log = (self.tmp / "server.log").read_text()
            self.stop()
            raise RuntimeError(f"gantry server did not start: {line!r}\n{log}")
        self.url = line.strip().split()[-1]
        self.port = int(self.url.rsplit(":", 1)[1])
        # The owner token the server's first start wrote ("" with --no-auth).
        self.token = json.loads((self.tmp / "ws" / "config.json").read_text()).get("token", "")

    def headers(self):
        return {"Authorization": "Bearer " + self.token} if self.token else {}

    def get(self, path):
        req = urllib.request.Request(self.url + path, headers=self.headers())
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def cli(self, *args, cwd=None):
        return subprocess.run([GANTRY, *args, "--server", self.url], cwd=cwd, capture_output=True,
                              text=True, check=True, env=dict(os.environ, GANTRY_TOKEN=self.token))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        # Runners outlive their server on purpose (they wait for it to come back); this
        # workspace is gone for good, so whatever still runs from it goes too.
        stop_processes_mentioning(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)


def stop_processes_mentioning(folder, grace_s=15):
    """SIGTERMs every process whose command line names `folder` (a bench's own temp folder:
    its runners and their jobs), SIGKILLs what is left after grace_s; returns their pids."""
    def find():
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(folder) in cmdline:
                found.append(int(entry.name))
        return found

    def signal_all(pids, sig):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    pids = find()
    signal_all(pids, signal.SIGTERM)
    left = pids
    for _ in range(int(grace_s * 10)):
        left = [p for p in find() if p in pids]
        if not left:
            break
        time.sleep(0.1)
    signal_all(left, signal.SIGKILL)
    return pids


def running_run_with_token(server: GantryServer):
    """Submits a job that publishes its run token and then idles; returns (name, token, gate)."""
    project = server.tmp / "tokenjob"
    (project / "src").mkdir(parents=True)
    gate = server.tmp / "gate"
    (project / "job.yml").write_text(textwrap.dedent(f"""\
        command: bash -c 'echo "$GANTRY_RUN_TOKEN" > {server.tmp}/token; while [ ! -e {gate} ]; do sleep 0.1; done'
        code: ./src
        compute: local
        """))
    out = server.cli("job", "create", "--file", str(project / "job.yml")).stdout
    name = out.split()[2]
    token_file = server.tmp / "token"
    for _ in range(3000):
        if token_file.exists() and token_file.read_text().strip():
            break
        time.sleep(0.01)
    return name, token_file.read_text().strip(), gate


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)
