"""Submit, stream, metrics, outputs, failure, cancel, timeout and queueing, through the CLI."""
import os
import re
import signal
import subprocess
from pathlib import Path

from conftest import GANTRY, serve_bytes, submitted_name, write_job

TRAIN = """
    import argparse, os, sys
    from gantry import Run
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float)
    p.add_argument("--data")
    p.add_argument("--out")
    a = p.parse_args()
    run = Run.get_context()
    print("training with lr", a.lr, flush=True)
    print("data says", open(os.path.join(a.data, "hello.txt")).read().strip(), flush=True)
    for epoch in range(3):
        run.log("loss", 1.0 / (epoch + 1))
        print("epoch", epoch, flush=True)
    run.log("accuracy", 0.91)
    run.log_row("summary", epochs=3, best=0.91)
    run.tag("team", "vision")
    os.makedirs(a.out, exist_ok=True)
    open(os.path.join(a.out, "weights.bin"), "wb").write(b"\\x00\\x01model")
    os.makedirs("logs", exist_ok=True)
    open("logs/extra.txt", "w").write("user log\\n")
    print("to stderr", file=sys.stderr)
"""


def test_submit_stream_metrics_and_download(server, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("hi from input\n")
    yml = write_job(
        tmp_path, "python train.py --lr ${{inputs.lr}} --data ${{inputs.data}} --out ${{outputs.model}}",
        extra=f"""
        experiment_name: mnist-demo
        display_name: first try
        tags:
          owner: me
        inputs:
          lr: 0.01
          data:
            type: uri_folder
            path: {data}
        outputs:
          model:
            type: uri_folder
        environment_variables:
          EXTRA: "1"
        """,
        files={"train.py": TRAIN})
    p = server.cli("job", "create", "--file", str(yml), "--stream")
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout
    # Phases in order, then the script's output live, then the final status.
    phases = [s for s in ["Queued", "Preparing", "Starting", "Running", "Finalizing", "Completed"]
              if re.search(rf"\] {s}\b", out)]
    assert phases == ["Queued", "Preparing", "Starting", "Running", "Finalizing", "Completed"], out
    assert "training with lr 0.01" in out
    assert "data says hi from input" in out
    assert "to stderr" in out
    assert out.index("epoch 2") < out.index("Completed")
    name = submitted_name(p)

    show = server.cli("job", "show", "-n", name, check=True).stdout
    assert "Status:       Completed" in show
    assert "accuracy: 0.91" in show
    assert "loss: 0.333333" in show
    run = server.run(name)
    assert run["tags"] == {"owner": "me", "team": "vision"}
    assert run["display_name"] == "first try"
    assert run["experiment_name"] == "mnist-demo"
    assert run["metrics"]["summary"] == {"epochs": 3, "best": 0.91}

    metrics = server.cli("job", "metrics", "-n", name, check=True).stdout
    assert "loss (3 values)" in metrics
    assert re.search(r"step 2\s+0.333333", metrics), metrics

    dl = tmp_path / "dl"
    server.cli("job", "download", "-n", name, "--download-path", str(dl), check=True)
    assert (dl / "artifacts/outputs/model/weights.bin").read_bytes() == b"\x00\x01model"
    assert (dl / "artifacts/logs/extra.txt").read_text() == "user log\n"
    assert "epoch 2" in (dl / "artifacts/user_logs/std_log.txt").read_text()
    named = tmp_path / "named"
    server.cli("job", "download", "-n", name, "--output-name", "model", "--download-path", str(named), check=True)
    assert (named / "named-outputs/model/weights.bin").exists()
    missing = server.cli("job", "download", "-n", name, "--output-name", "nope")
    assert missing.returncode == 3 and "nope" in missing.stderr

    listing = server.cli("job", "list", check=True).stdout
    assert name in listing and "Completed" in listing


def test_failed_run_quotes_stderr_and_exits_nonzero(server, tmp_path):
    yml = write_job(tmp_path, "python fail.py", files={"fail.py": """
        import sys
        print("working", flush=True)
        print("Traceback: something broke: ValueError bad shape", file=sys.stderr)
        sys.exit(3)
    """})
    p = server.cli("job", "create", "--file", str(yml), "--stream")
    assert p.returncode == 1
    assert "finished: Failed" in p.stdout
    name = submitted_name(p)
    run = server.run(name)
    assert run["status"] == "Failed"
    assert run["exit_code"] == 3
    assert "ValueError bad shape" in run["error"]
    assert "code 3" in run["error"]


def test_cancel_stops_the_whole_process_group(server, tmp_path):
    yml = write_job(tmp_path, "bash spin.sh", files={"spin.sh": """
        sleep 300 &
        echo $! > child.pid
        echo ready
        wait
    """})
    p = server.cli("job", "create", "--file", str(yml), check=True)
    name = submitted_name(p)
    server.wait_for(name, lambda r, log: "ready" in log)
    assert server.cli("job", "cancel", "-n", name, check=True).stdout.strip().endswith("CancelRequested")
    run = server.wait_terminal(name)
    assert run["status"] == "Canceled"
    # The background child of the job is gone too: no process left behind.
    wd = server.workspace / "runs" / name / "wd"
    pid = int((wd / "child.pid").read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    again = server.cli("job", "cancel", "-n", name)
    assert again.returncode == 5 and "already" in again.stderr


def test_timeout_is_enforced(server, tmp_path):
    yml = write_job(tmp_path, "python -c 'import time; print(\"started\", flush=True); time.sleep(300)'",
                    extra="limits:\n  timeout: 1\n")
    p = server.cli("job", "create", "--file", str(yml), "--stream")
    assert p.returncode == 1
    run = server.run(submitted_name(p))
    assert run["status"] == "Failed"
    assert "timed out" in run["error"]


def test_queueing_respects_slots_and_submission_order(make_server, tmp_path):
    server = make_server(slots=1)
    gate = tmp_path / "gate"
    yml = write_job(tmp_path, f"bash -c 'echo waiting; while [ ! -e {gate} ]; do sleep 0.02; done; echo done'")
    names = [submitted_name(server.cli("job", "create", "--file", str(yml), check=True)) for _ in range(3)]
    server.wait_for(names[0], lambda r, log: "waiting" in log)
    assert [server.run(n)["status"] for n in names[1:]] == ["Queued", "Queued"]
    gate.write_text("go")
    runs = [server.wait_terminal(n) for n in names]
    assert [r["status"] for r in runs] == ["Completed"] * 3
    starts = [r["started_at_ms"] for r in runs]
    assert starts == sorted(starts)
    # With one slot, each run starts only after the previous one ended.
    assert runs[1]["started_at_ms"] >= runs[0]["ended_at_ms"]
    assert runs[2]["started_at_ms"] >= runs[1]["ended_at_ms"]


def test_sdk_works_offline_outside_a_run(tmp_path):
    sdk = Path(__file__).resolve().parents[1] / "python"
    p = subprocess.run(["/usr/bin/python3", "-c", "from gantry import Run; Run.get_context().log('acc', 0.5)"],
                       env={**os.environ, "PYTHONPATH": str(sdk)}, capture_output=True, text=True)
    assert p.returncode == 0
    assert "acc" in p.stdout and "0.5" in p.stdout


def test_bad_job_files_fail_before_upload(server, tmp_path):
    yml = write_job(tmp_path, "python x.py", extra="comand: typo\n")
    p = server.cli("job", "create", "--file", str(yml))
    assert p.returncode == 2
    assert "comand" in p.stderr and "job.yml:" in p.stderr and "did you mean 'command'" in p.stderr
    yml2 = write_job(tmp_path, "python x.py --lr ${{inputs.lr}}", name="job2.yml")
    p2 = server.cli("job", "create", "--file", str(yml2))
    assert p2.returncode == 2 and "inputs.lr" in p2.stderr
    yml3 = tmp_path / "job3.yml"
    yml3.write_text("command: echo\ncode: ./does-not-exist\n")
    p3 = server.cli("job", "create", "--file", str(yml3))
    assert p3.returncode == 2 and "does-not-exist" in p3.stderr
    yml4 = tmp_path / "job4.yml"
    yml4.write_text("command: echo\nlimits:\n  timeout: soon\n")
    p4 = server.cli("job", "create", "--file", str(yml4))
    assert p4.returncode == 2 and "limits.timeout" in p4.stderr and "job4.yml:3" in p4.stderr
    yml5 = tmp_path / "job5.yml"
    yml5.write_text("command: [echo\n")
    p5 = server.cli("job", "create", "--file", str(yml5))
    assert p5.returncode == 2 and "job5.yml:" in p5.stderr
    # Nothing reached the server.
    status, body = server.request("GET", "/api/v1/runs")
    assert body["runs"] == []


def test_a_malformed_server_answer_is_an_error_message_not_a_crash(tmp_path):
    # A server (another program, another version) whose answers have the wrong shapes.
    def answer(handler):
        body = b'{"runs": 5, "computes": [{"name": 3}], "models": [{"name": 7}]}'
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        return True

    with serve_bytes({}, special=answer) as url:
        env = dict(os.environ, GANTRY_TOKEN="tk_not_checked_here")
        for args in (["job", "list"], ["compute", "list", "-o", "table"], ["model", "list"]):
            p = subprocess.run([GANTRY, *args, "--server", url], capture_output=True, text=True,
                               timeout=60, env=env, cwd=tmp_path)
            assert p.returncode == 1, (args, p.returncode, p.stderr)
            assert "error: the server's answer is not what this gantry expects" in p.stderr, p.stderr
            assert "terminate called" not in p.stderr
