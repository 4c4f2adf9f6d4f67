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
    def __init__(self, slots=2):
        self.tmp = Path(tempfile.mkdtemp(prefix="gantry-bench-"))
        self.proc = subprocess.Popen([GANTRY, "server", "--workspace", str(self.tmp / "ws"), "--port", "0",
                                      "--slots", str(slots)], stdout=subprocess.PIPE,
                                     stderr=open(self.tmp / "server.log", "w"), text=True)
        self.url = self.proc.stdout.readline().strip().split()[-1]

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=60) as r:
            return json.loads(r.read())

    def cli(self, *args, cwd=None):
        return subprocess.run([GANTRY, *args, "--server", self.url], cwd=cwd, capture_output=True,
                              text=True, check=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        shutil.rmtree(self.tmp, ignore_errors=True)


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
