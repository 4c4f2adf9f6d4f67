"""A process that daemonises itself out of a run (new session, double fork, its own output)
is ended with the run, however the run ends."""
import time
from pathlib import Path

import pytest

from conftest import submitted_name, write_job

# Starts a daemon the classic way (fork, setsid, fork again, stdio to /dev/null), records its
# pid, then ends as the test asks: completes, fails, or waits to be cancelled or timed out.
DAEMONISE = """
    import os, sys, time
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        with open("daemon.pid.tmp", "w") as f:
            f.write(str(os.getpid()))
        os.rename("daemon.pid.tmp", "daemon.pid")
        time.sleep(1000)
        os._exit(0)
    os.waitpid(child, 0)
    for _ in range(10000):
        if os.path.exists("daemon.pid"):
            break
        time.sleep(0.001)
    print("daemon started", flush=True)
    mode = sys.argv[1]
    if mode == "fail":
        sys.exit(3)
    if mode in ("cancel", "timeout"):
        time.sleep(300)
"""


def alive(pid):
    stat = Path(f"/proc/{pid}/stat")
    try:
        # "pid (comm) state ...": a zombie has already ended.
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def gone(pid, polls=3000):
    """Bounded wait on /proc for the process to end."""
    for _ in range(polls):
        if not alive(pid):
            return True
        time.sleep(0.001)
    return not alive(pid)


@pytest.mark.parametrize("mode,status", [
    ("complete", "Completed"),
    ("fail", "Failed"),
    ("cancel", "Canceled"),
    ("timeout", "Failed"),
])
def test_a_daemon_started_by_a_run_ends_with_it(server, tmp_path, mode, status):
    extra = "limits:\n  timeout: 2\n" if mode == "timeout" else ""
    yml = write_job(tmp_path, f"python daemonise.py {mode}", extra=extra,
                    files={"daemonise.py": DAEMONISE})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    server.wait_for(name, lambda r, log: "daemon started" in log or r["status"] in
                    ("Completed", "Failed", "Canceled"))
    pid = int((server.workspace / "runs" / name / "wd" / "daemon.pid").read_text())
    if mode == "cancel":
        server.cli("job", "cancel", "-n", name, check=True)
    run = server.wait_terminal(name)
    assert run["status"] == status, run
    assert gone(pid), f"daemon {pid} outlived run {name} ({status})"
