"""Server restarts (even kill -9) lose nothing; a dead runner fails its run with a reason."""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Server, submitted_name, write_job


@pytest.fixture
def new_server(tmp_path):
    """Starts servers that are stopped (with their runners) even when the test fails."""
    made = []

    def make():
        made.append(Server(tmp_path / "ws").start())
        return made[-1]

    yield make
    for s in made:
        s.stop()


def wait_file(path: Path, max_checks=6000):
    # The job announces progress through files; poll for existence with a bound.
    for _ in range(max_checks):
        if path.exists():
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def test_kill9_server_mid_run_loses_nothing(tmp_path, new_server):
    server = new_server()
    gate, wrote = tmp_path / "gate", tmp_path / "wrote"
    yml = write_job(tmp_path, "python job.py", files={"job.py": f"""
        import os, time
        from gantry import Run
        run = Run.get_context()
        print("before restart", flush=True)
        run.log("phase", 1)
        while not os.path.exists({str(gate)!r}):
            time.sleep(0.02)
        print("while the server was away", flush=True)
        run.log("phase", 2)
        run.flush()
        os.makedirs("outputs", exist_ok=True)
        open("outputs/result.txt", "w").write("kept")
        open({str(wrote)!r}, "w").write("1")
    """})
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    server.wait_for(name, lambda r, log: "before restart" in log)
    server.kill9()
    gate.write_text("go")
    wait_file(wrote)  # the job has finished its work while no server answered
    server.start()    # same workspace, same port
    run = server.wait_terminal(name)
    assert run["status"] == "Completed", run["error"]
    log = server.request("GET", f"/api/v1/runs/{name}/logs/std_log.txt")[1].decode()
    assert "before restart" in log and "while the server was away" in log
    status, metrics = server.request("GET", f"/api/v1/runs/{name}/metrics")
    assert [p["value"] for p in metrics["metrics"]["phase"]] == [1, 2]
    status, arts = server.request("GET", f"/api/v1/runs/{name}/artifacts?prefix=outputs/")
    assert [a["path"] for a in arts["artifacts"]] == ["outputs/result.txt"]
    history = [e["status"] for e in run["status_history"]]
    assert history[-3:] == ["Running", "Finalizing", "Completed"]
    server.stop()


def test_completed_runs_survive_restart(tmp_path, new_server):
    server = new_server()
    yml = write_job(tmp_path, "python -c 'print(42)'")
    p = server.cli("job", "create", "--file", str(yml), "--stream", check=True)
    name = submitted_name(p)
    server.kill9()
    server.start()
    run = server.run(name)
    assert run["status"] == "Completed"
    assert server.request("GET", f"/api/v1/runs/{name}/logs/std_log.txt")[1].decode().strip() == "42"
    server.stop()


def test_dead_runner_marks_the_run_failed(tmp_path, new_server):
    server = new_server()
    yml = write_job(tmp_path, "bash -c 'echo up; sleep 300'")
    name = submitted_name(server.cli("job", "create", "--file", str(yml), check=True))
    server.wait_for(name, lambda r, log: "up" in log)
    pids = subprocess.run(["pgrep", "-f", f"runner --server .* --run {name}"], capture_output=True,
                          text=True).stdout.split()
    assert len(pids) == 1
    os.kill(int(pids[0]), signal.SIGKILL)
    run = server.wait_terminal(name)
    assert run["status"] == "Failed"
    assert "runner" in run["error"] and "exited without reporting" in run["error"]
    server.stop()


def test_client_starts_a_local_server_and_stops_it(tmp_path, request):
    project = tmp_path / "project"
    yml = write_job(project, "python -c 'print(\"auto\")'")
    env = {k: v for k, v in os.environ.items() if k != "GANTRY_URL"}
    from conftest import GANTRY
    request.addfinalizer(lambda: subprocess.run([GANTRY, "server", "stop"], cwd=project, env=env,
                                                capture_output=True))
    p = subprocess.run([GANTRY, "job", "create", "--file", str(yml), "--stream"], cwd=project,
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "auto" in p.stdout
    ws = project / ".gantry"
    assert (ws / "config.json").exists() and (ws / "server.pid").exists() and (ws / "gantry.db").exists()
    pid = int((ws / "server.pid").read_text())
    # A second command finds the running server through .gantry/config.json, from a subfolder.
    sub = project / "src"
    listing = subprocess.run([GANTRY, "job", "list"], cwd=sub, capture_output=True, text=True, env=env)
    assert listing.returncode == 0 and "Completed" in listing.stdout
    stop = subprocess.run([GANTRY, "server", "stop"], cwd=project, capture_output=True, text=True, env=env)
    assert stop.returncode == 0 and "Stopped" in stop.stdout
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
