"""The Python SDK's azureml.core v1 API against a real server: Workspace.from_config,
Experiment.submit(ScriptRunConfig), wait_for_completion, metrics, files, failures, snapshots.

Waiting is always on the run itself (wait_for_completion's long poll, conftest's wait_for).
"""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import GANTRY, submitted_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import gantry  # noqa: E402
from gantry import Experiment, Run, ScriptRunConfig, Workspace  # noqa: E402
from gantry import _snapshot  # noqa: E402
from gantry._http import Client  # noqa: E402
from gantry.errors import (FailedPreconditionError, InvalidArgumentError, NotFoundError,  # noqa: E402
                           RunFailedError, UnavailableError, UnimplementedError)

PYTHON = "python:" + sys.executable


pytestmark = pytest.mark.usefixtures("sdk_isolated")


@pytest.fixture
def ws(project_ws):
    return project_ws


def make_source(folder: Path, files: dict) -> Path:
    for rel, content in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content))
    return folder


def submit(ws, folder, script, arguments=None, experiment="sdk-test", tags=None):
    src = ScriptRunConfig(source_directory=str(folder), script=script, arguments=arguments,
                          environment=PYTHON)
    return Experiment(ws, experiment).submit(src, tags=tags)


# ----------------------------------------------------------------------------- workspace

def test_from_config_searches_upward_and_env_overrides(server, tmp_path, monkeypatch):
    project = tmp_path / "p"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    (project / ".gantry").mkdir()
    config = project / ".gantry" / "config.json"
    config.write_text(json.dumps({"server": server.url + "/", "workspace_name": "default"}))
    monkeypatch.chdir(deep)
    ws = Workspace.from_config()
    assert (ws.name, ws.url) == ("default", server.url)
    assert Workspace.from_config(path=str(deep)).url == server.url      # a folder to start from
    assert Workspace.from_config(path=str(config)).url == server.url    # the file itself
    assert Workspace(server.url) == ws and Workspace(server.url, name="default").name == "default"

    # A bare config.json works too, and one that is not a Gantry config is passed over.
    other = tmp_path / "q"
    (other / "x").mkdir(parents=True)
    (other / "config.json").write_text(json.dumps({"server": server.url, "workspace_name": "default"}))
    (other / "x" / "config.json").write_text(json.dumps({"unrelated": True}))
    assert Workspace.from_config(path=str(other / "x")).url == server.url

    # GANTRY_URL wins over the file's server.
    config.write_text(json.dumps({"server": "http://127.0.0.1:9", "workspace_name": "default"}))
    with pytest.raises(UnavailableError, match="gantry server --workspace"):
        Workspace.from_config()
    monkeypatch.setenv("GANTRY_URL", server.url)
    assert Workspace.from_config().url == server.url

    with pytest.raises(NotFoundError, match="workspace 'elsewhere' not found"):
        Workspace(server.url, name="elsewhere")


def test_missing_config_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty" / "deeper"
    empty.mkdir(parents=True)
    if any((d / n).exists() for d in empty.parents for n in (".gantry/config.json", "config.json")):
        pytest.skip("a config file above the test folder would be found")
    with pytest.raises(NotFoundError) as info:
        Workspace.from_config(path=str(empty))
    message = str(info.value)
    assert "could not find a workspace config file" in message
    assert str(empty) in message and str(empty.parent) in message and "GANTRY_URL" in message


# ----------------------------------------------------------------------------- submit and stream

ARGV_SCRIPT = """
    import json, sys
    print("starting", flush=True)
    print("ARGV " + json.dumps(sys.argv[1:]), flush=True)
    for i in range(3):
        print("line", i, flush=True)
    sys.stdout.write("tail without newline")
"""


def test_submit_with_arguments_and_stream_output(ws, tmp_path, capsys):
    src = make_source(tmp_path / "src", {"train.py": ARGV_SCRIPT})
    data_dir = tmp_path / "my data" / "with spaces"
    args = ["--data-folder", str(data_dir), "--batch-size", 64, "--learning-rate", 0.01,
            "--quote", "it's $HOME `x`", "--flag", True]
    run = submit(ws, src, "train.py", args, tags={"owner": "me", "n": 1})
    assert isinstance(run, Run) and run.experiment.name == "sdk-test" and run.experiment.workspace == ws
    assert run.id and run.name == run.id
    details = run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out

    assert details["status"] == "Completed" and details["runId"] == run.id
    assert details["startTimeUtc"] and details["endTimeUtc"] and "error" not in details
    assert details["runDefinition"]["command"].startswith("python train.py --data-folder ")
    assert details["tags"] == {"owner": "me", "n": "1"}
    sent = json.loads(re.search(r"^ARGV (.*)$", out, re.M).group(1))
    assert sent == ["--data-folder", str(data_dir), "--batch-size", "64", "--learning-rate", "0.01",
                    "--quote", "it's $HOME `x`", "--flag", "True"]
    # Phases and live output, in order, then the summary.
    web_view = "Web View: %s/api/v1/runs/%s\n" % (ws.url, run.id)
    assert out.startswith("RunId: %s\n%s\nStreaming user_logs/std_log.txt\n%s\n\n"
                          % (run.id, web_view, "=" * 31))
    running = re.search(r"^\[[^\]]+\] Running$", out, re.M)
    completed = re.search(r"^\[[^\]]+\] Completed$", out, re.M)
    assert re.search(r"^\[[^\]]+\] Queued", out, re.M) and running and completed
    assert running.end() < out.index("starting\n") < out.index("line 2\n") < completed.start()
    assert "tail without newline\n" in out
    summary = "Execution Summary\n=================\nRunId: %s\n%sStatus: Completed\n" % (
        run.id, web_view)
    assert out.index(summary) > completed.end()
    assert run.get_status() == "Completed"


def test_in_run_azureml_run_logs_metrics_read_back_outside(ws, tmp_path):
    src = make_source(tmp_path / "src", {"train.py": """
        import gantry
        from azureml.core import Run
        run = Run.get_context()
        assert Run is gantry.Run and type(run).__name__ == "_OnlineRun", type(run)
        for epoch in range(3):
            run.log("loss", 1.0 / (epoch + 1))
        run.log("accuracy", 0.91)
        run.log_list("lr", [0.1, 0.01])
        run.tag("team", "vision")
        print("logged", flush=True)
    """})
    run = submit(ws, src, "train.py", tags={"submitted": "yes"})
    run.wait_for_completion()
    assert run.get_metrics() == {"loss": [1.0, 0.5, 1.0 / 3], "accuracy": 0.91, "lr": [0.1, 0.01]}
    assert run.get_metrics("accuracy") == {"accuracy": 0.91}
    assert run.get_metrics(name="nope") == {}
    assert run.get_tags() == {"submitted": "yes", "team": "vision"}
    # The same run, found again by id, as azureml allows.
    again = Run(Experiment(ws, "sdk-test"), run.id)
    assert again.id == run.id and again.get_metrics("loss") == {"loss": [1.0, 0.5, 1.0 / 3]}
    assert Run.get(ws, run.id).experiment.name == "sdk-test"
    assert [r.id for r in Experiment(ws, "sdk-test").get_runs()] == [run.id]
    assert "sdk-test" in ws.experiments
    with pytest.raises(UnimplementedError, match="Run.get_context"):
        run.log("x", 1)


def test_file_names_and_download_files(ws, tmp_path):
    model = os.urandom(4096)
    src = make_source(tmp_path / "src", {"train.py": """
        import os, sys
        os.makedirs("outputs/model/variables", exist_ok=True)
        open("outputs/model/saved_model.pb", "wb").write(bytes.fromhex(sys.argv[1]))
        open("outputs/model/variables/my vars.data", "w").write("weights")
        open("outputs/model/run me.sh", "w").write("echo hi")
        os.chmod("outputs/model/run me.sh", 0o755)
        os.makedirs("logs", exist_ok=True)
        open("logs/extra.txt", "w").write("user log")
        print("saved", flush=True)
    """})
    run = submit(ws, src, "train.py", [model.hex()])
    run.wait_for_completion()
    names = run.get_file_names()
    assert names == sorted(names)
    for n in ("outputs/model/saved_model.pb", "outputs/model/variables/my vars.data",
              "outputs/model/run me.sh", "logs/extra.txt", "user_logs/std_log.txt"):
        assert n in names

    # The seed notebook's call: the prefix is dropped from local paths.
    dest = tmp_path / "model"
    os.makedirs(dest, exist_ok=True)
    written = run.download_files(prefix="outputs/model", output_directory=str(dest), append_prefix=False)
    expected = ("saved_model.pb", "variables/my vars.data", "run me.sh")
    assert sorted(written) == sorted(str(dest / p) for p in expected)
    assert (dest / "saved_model.pb").read_bytes() == model
    assert (dest / "variables" / "my vars.data").read_text() == "weights"
    assert os.stat(dest / "run me.sh").st_mode & 0o777 == 0o755

    # append_prefix=True keeps the whole name; no prefix downloads everything, logs included.
    everything = tmp_path / "all"
    run.download_files(output_directory=str(everything))
    assert (everything / "outputs" / "model" / "saved_model.pb").read_bytes() == model
    assert "saved" in (everything / "user_logs" / "std_log.txt").read_text()
    assert (everything / "logs" / "extra.txt").read_text() == "user log"

    got = run.download_file("outputs/model/saved_model.pb", str(tmp_path / "single.pb"))
    assert Path(got).read_bytes() == model
    assert Path(run.download_file("user_logs/std_log.txt", str(tmp_path))).read_text().startswith("saved")
    with pytest.raises(NotFoundError):
        run.download_file("outputs/nothing.bin", str(tmp_path / "x"))
    with pytest.raises(InvalidArgumentError):
        run.download_files(prefix="outputs/model", output_paths=[str(tmp_path / "only-one")])


def test_failing_script_raises_with_stderr_tail(ws, tmp_path, capsys):
    src = make_source(tmp_path / "src", {"fail.py": """
        import sys
        print("working", flush=True)
        print("Traceback: something broke: ValueError bad shape", file=sys.stderr)
        sys.exit(3)
    """})
    run = submit(ws, src, "fail.py")
    with pytest.raises(RunFailedError) as info:
        run.wait_for_completion(show_output=True)
    err = info.value
    assert isinstance(err, gantry.GantryError)
    assert err.run_id == run.id and err.status == "Failed"
    assert "ValueError bad shape" in str(err) and "code 3" in str(err) and run.id in str(err)
    assert err.details["exitCode"] == 3
    out = capsys.readouterr().out
    assert "working\n" in out and "Status: Failed\n" in out and "Error: " in out
    details = run.wait_for_completion(raise_on_error=False)
    assert details["status"] == "Failed"
    assert "ValueError bad shape" in details["error"]["error"]["message"]


def test_cancel_a_running_run(ws, server, tmp_path):
    src = make_source(tmp_path / "src", {"spin.py": """
        import time
        print("ready", flush=True)
        time.sleep(300)
    """})
    run = submit(ws, src, "spin.py")
    server.wait_for(run.id, lambda r, log: "ready" in log)
    run.cancel()
    with pytest.raises(RunFailedError) as info:
        run.wait_for_completion()
    assert info.value.status == "Canceled" and run.get_status() == "Canceled"
    with pytest.raises(FailedPreconditionError):
        run.cancel()


# ----------------------------------------------------------------------------- snapshots

class Recorder:
    """Wraps Client._request to record every call and its answer."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = Client._request

        def record(client, method, path, data=None, content_type=None):
            answer = original(client, method, path, data, content_type)
            self.calls.append((method, path.split("?")[0], answer))
            return answer

        monkeypatch.setattr(Client, "_request", record)

    def clear(self):
        self.calls.clear()

    def answers(self, method, path):
        return [a for m, p, a in self.calls if m == method and p == path]

    def count(self, method, prefix):
        return sum(1 for m, p, _ in self.calls if m == method and p.startswith(prefix))


def test_amlignore_and_unchanged_resubmission_sends_nothing(ws, server, tmp_path, monkeypatch):
    src = make_source(tmp_path / "src", {
        "main.py": "import os\nfor r, d, f in sorted(os.walk('.')):\n"
                   "    [print(os.path.join(r, x)) for x in sorted(f)]\n",
        "secret.key": "do not upload",
        ".amlignore": "secret.key\nbig/\n",
        ".gitignore": "main.py\n",  # not read: .amlignore comes first
        "big/blob.bin": "x" * 1000,
        "pkg/mod.py": "X = 1\n",
        "pkg/.gitignore": "*.tmp\n!keep.tmp\n",
        "pkg/scratch.tmp": "junk",
        "pkg/keep.tmp": "kept",
        ".git/HEAD": "ref: refs/heads/main\n",
    })
    old = 1_600_000_000  # files older than the racy window, so their hashes are cached
    for p in src.rglob("*"):
        os.utime(p, (old, old))
    rec = Recorder(monkeypatch)
    first = submit(ws, src, "main.py")
    first.wait_for_completion()
    listed = Path(first.download_file("user_logs/std_log.txt", str(tmp_path / "log.txt"))).read_text()
    assert "./main.py" in listed and "./pkg/mod.py" in listed and "./pkg/keep.tmp" in listed
    for gone in ("secret.key", "blob.bin", "scratch.tmp", "HEAD"):
        assert gone not in listed
    assert first.upload_stats.sent_files > 0
    assert rec.count("PUT", "/api/v1/blobs/") == first.upload_stats.sent_files

    rec.clear()
    second = submit(ws, src, "main.py")
    assert rec.answers("POST", "/api/v1/blobs/missing") == [{"missing": []}]
    assert rec.count("PUT", "/api/v1/blobs/") == 0
    assert second.upload_stats.sent_files == 0 and second.upload_stats.hashed_files == 0
    snapshot = second.get_details()["properties"]["ContentSnapshotId"]
    assert snapshot == first.get_details()["properties"]["ContentSnapshotId"]

    # The CLI snapshots the same folder into the very same tree.
    yml = tmp_path / "job.yml"
    yml.write_text("command: python main.py\ncode: ./src\nenvironment: %s\n" % PYTHON)
    p = subprocess.run([GANTRY, "job", "create", "--file", str(yml), "--server", server.url],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "uploaded 0 new files" in p.stderr
    assert server.run(submitted_name(p))["snapshot_id"] == snapshot


# ----------------------------------------------------------------------------- errors

def test_server_errors_raise_the_matching_class(ws, tmp_path):
    exp = Experiment(ws, "sdk-test")
    with pytest.raises(NotFoundError, match="no_such_run"):
        Run(exp, "no_such_run")
    with pytest.raises(NotFoundError):
        Run.get(ws, "no_such_run")
    src = make_source(tmp_path / "src", {"ok.py": "print('ok')\n"})
    with pytest.raises(NotFoundError, match="gpu-cluster"):  # no such compute target
        exp.submit(ScriptRunConfig(str(src), "ok.py", compute_target="gpu-cluster"))
    with pytest.raises(NotFoundError, match="missing.py"):  # checked before anything is sent
        exp.submit(ScriptRunConfig(str(src), "missing.py"))
    with pytest.raises(InvalidArgumentError):
        Experiment(ws, "bad name!")
    with pytest.raises(TypeError):
        exp.submit("python ok.py")


def test_python_and_cli_snapshots_agree_on_tricky_ignore_files(server, tmp_path):
    ignore_files = {
        ".gantryignore": "# comment\n*.log\n!keep.log\n/build\ndoc/*.txt\nout/\n**/cache\ndata/**\n"
                         "a/**/b\nfile?.txt\n[ab].c\nn[!0-9]\nsp\\ \n\\#hash\nbig/*\n!big/keep.txt\n",
        ".amlignore": "*\n",  # not read: .gantryignore comes first
        "sub/.gitignore": "!notes.txt\n*.md\n/gen\n",
        "t/.amlignore": "a.txt\n", "t/.gitignore": "b.txt\n",  # .amlignore wins
    }
    kept = {"keep.log", "src/build/y.o", "doc/sub/a.txt", "x/doc/a.txt", "src/out", "q/cache2",
            "src/data/x", "a/xb", "file10.txt", "c.c", "n1", "sp", "big/keep.txt", "sub/notes.txt",
            "sub/y/gen", "x.md", "notes.txt", "t/b.txt", "ok.py"}
    dropped = {"a.log", "deep/x.log", "build/x.o", "doc/a.txt", "out/m.pt", "cache/c", "q/r/cache",
               "data/x", "a/b", "a/x/y/b", "file1.txt", "a.c", "na", "sp ", "#hash", "big/drop.txt",
               "sub/x.md", "sub/gen/g", "t/a.txt", ".git/config", "sub/.gantry/z"}
    src = tmp_path / "src"
    for rel in sorted(kept | dropped):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text("print('ok')\n" if rel == "ok.py" else "content of " + rel)
    for rel, content in ignore_files.items():
        (src / rel).write_text(content)
    os.chmod(src / "ok.py", 0o755)
    os.symlink("ok.py", str(src / "link.py"))
    snap = _snapshot.take_snapshot(str(src))
    assert {e.path for e in snap.entries} == kept | set(ignore_files) | {"link.py"}
    tree_id = _snapshot.upload_snapshot(Client(server.url, server.token), snap)

    yml = tmp_path / "job.yml"
    yml.write_text("command: python ok.py\ncode: ./src\nenvironment: %s\n" % PYTHON)
    p = server.cli("job", "create", "--file", str(yml))
    assert p.returncode == 0, p.stderr
    cli_id = server.run(submitted_name(p))["snapshot_id"]
    status, cli_tree = server.request("GET", "/api/v1/trees/" + cli_id)
    assert status == 200
    assert [(e["path"], e["mode"]) for e in cli_tree["entries"]] == [(e.path, e.mode) for e in snap.entries]
    assert cli_id == tree_id
