"""ScriptRunConfig builds the job spec the server takes; Workspace finds its config."""

import http.server
import json
import os
import shlex
import socket
import subprocess
import sys
import threading

import pytest

from gantry import Experiment, ScriptRunConfig, Workspace
from gantry.errors import InvalidArgumentError, NotFoundError, UnavailableError

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spec_of(**kwargs):
    kwargs.setdefault("source_directory", "src")
    return ScriptRunConfig(**kwargs)._job_spec("exp", None)


def test_command_quotes_each_argument():
    spec, trees = spec_of(script="train.py",
                          arguments=["--data-folder", "/data/my files", "--batch-size", 64,
                                     "--lr", 0.01, "--q", "it's $x", "--none", None, "--ok", True])
    assert spec["command"] == ("python train.py --data-folder '/data/my files' --batch-size 64 "
                               "--lr 0.01 --q 'it'\"'\"'s $x' --none None --ok True")
    assert shlex.split(spec["command"])[2:] == ["--data-folder", "/data/my files", "--batch-size",
                                                "64", "--lr", "0.01", "--q", "it's $x", "--none",
                                                "None", "--ok", "True"]
    assert spec["code"] == os.path.abspath("src") and spec["compute"] == "local"
    assert spec["experiment_name"] == "exp" and trees == {}
    assert "environment" not in spec and "limits" not in spec and "inputs" not in spec


def test_script_in_a_subfolder_and_odd_names():
    spec, _ = spec_of(script="sub dir/train.py")
    assert spec["command"] == "python 'sub dir/train.py'"


def test_command_form():
    assert spec_of(command="bash run.sh && echo done")[0]["command"] == "bash run.sh && echo done"
    assert spec_of(command=["python", "-m", "pkg.train", "a b", 3])[0]["command"] == \
        "python -m pkg.train 'a b' 3"


def test_environment_compute_timeout_variables_and_tags():
    class Env:
        def _gantry_spec(self):
            return "python:/opt/py/bin/python"

    class Target:
        name = "local"

    spec, _ = ScriptRunConfig("src", "t.py", environment=Env(), compute_target=Target(),
                              max_run_duration_seconds=60,
                              environment_variables={"A": 1})._job_spec("e", {"k": 2, "n": None})
    assert spec["environment"] == "python:/opt/py/bin/python"
    assert spec["compute"] == "local" and spec["limits"] == {"timeout": 60}
    assert spec["environment_variables"] == {"A": "1"} and spec["tags"] == {"k": "2", "n": ""}
    assert spec_of(script="t.py", environment="python3.11")[0]["environment"] == "python3.11"
    assert spec_of(script="t.py", compute_target="azureml:local")[0]["compute"] == "azureml:local"


def test_input_hook_becomes_a_placeholder_and_an_input():
    class Mount:
        def __init__(self, name, tree):
            self.name, self.tree = name, tree

        def _gantry_input(self):
            return self.name, {"type": "uri_folder", "path": "mnist", "mode": "ro_mount"}, self.tree

    class Literal:
        def _gantry_input(self):
            return "lr", "0.01", None

    m = Mount("data", "t" * 64)
    spec, trees = spec_of(script="tf_mnist.py",
                          arguments=["--data-folder", m, "--again", m, "--lr", Literal()])
    assert spec["command"] == ("python tf_mnist.py --data-folder ${{inputs.data}} "
                               "--again ${{inputs.data}} --lr ${{inputs.lr}}")
    assert spec["inputs"] == {"data": {"type": "uri_folder", "path": "mnist", "mode": "ro_mount"},
                              "lr": "0.01"}
    assert trees == {"data": "t" * 64}
    clash = Mount("data", "u" * 64)
    clash._gantry_input = lambda: ("data", {"type": "uri_file", "path": "x"}, "u" * 64)
    with pytest.raises(InvalidArgumentError, match="'data'"):
        spec_of(script="t.py", arguments=[m, clash])


@pytest.mark.parametrize("kwargs, exc, text", [
    ({}, InvalidArgumentError, "script"),
    ({"script": "a.py", "command": "x"}, InvalidArgumentError, "not both"),
    ({"command": "x", "arguments": ["a"]}, InvalidArgumentError, "arguments"),
    ({"script": "/abs/a.py"}, InvalidArgumentError, "relative"),
    ({"script": "a.py", "arguments": "--x 1"}, TypeError, "list"),
    ({"script": "a.py", "max_run_duration_seconds": 0}, InvalidArgumentError, "positive"),
    ({"script": "a.py", "environment": object()}, TypeError, "environment must be"),
    ({"script": "a.py", "compute_target": 3}, TypeError, "compute_target"),
])
def test_bad_configs(kwargs, exc, text):
    with pytest.raises(exc, match=text):
        ScriptRunConfig("src", **kwargs)


# ----------------------------------------------------------------------------- workspace

class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = json.dumps({"status": "ok", "workspace": "team", "version": "0.1.0"}).encode()
        self.send_response(200 if self.path == "/api/v1/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def url():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=srv.serve_forever)
    thread.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join()


def test_workspace_from_config(url, tmp_path, monkeypatch):
    monkeypatch.delenv("GANTRY_URL", raising=False)
    (tmp_path / "p" / ".gantry").mkdir(parents=True)
    (tmp_path / "p" / "a").mkdir()
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps({"server": url}))
    ws = Workspace.from_config(str(tmp_path / "p" / "a"))
    assert (ws.name, ws.url) == ("team", url)
    assert ws.get_details()["config_file"] == str(tmp_path / "p" / ".gantry" / "config.json")
    with pytest.raises(NotFoundError, match="serves workspace 'team'"):
        Workspace(url, name="default")
    (tmp_path / "p" / ".gantry" / "config.json").write_text("{broken")
    with pytest.raises(InvalidArgumentError, match="not valid JSON"):
        Workspace.from_config(str(tmp_path / "p" / "a"))
    with pytest.raises(NotFoundError, match="does not exist"):
        Workspace.from_config(str(tmp_path / "nowhere"))
    with pytest.raises(InvalidArgumentError, match="http"):
        Workspace("127.0.0.1:1")
    # With no file, GANTRY_URL alone names the server.
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("GANTRY_URL", url)
    assert Workspace.from_config(str(tmp_path / "empty")).url == url
    exp = Experiment(ws, "Tutorial-TF-Mnist")
    assert exp.name == "Tutorial-TF-Mnist" and exp.workspace is ws


def test_unreachable_server_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UnavailableError, match="no Gantry server answers"):
        Workspace("http://127.0.0.1:%d" % port)


# ----------------------------------------------------------------------------- azureml

def test_azureml_core_is_gantry():
    import gantry
    from azureml.core import Experiment as E, Run as R, ScriptRunConfig as S, Workspace as W
    from azureml.core.run import Run as R2
    from azureml.core.experiment import Experiment as E2
    from azureml.core.workspace import Workspace as W2
    from azureml.core.script_run_config import ScriptRunConfig as S2
    from azureml.exceptions import ActivityFailedException
    import azureml.core
    assert (R, E, W, S) == (gantry.Run, gantry.Experiment, gantry.Workspace, gantry.ScriptRunConfig)
    assert (R2, E2, W2, S2) == (R, E, W, S)
    assert ActivityFailedException is gantry.RunFailedError
    assert azureml.core.VERSION == gantry.__version__


@pytest.mark.parametrize("statement, what, why", [
    ("from azureml.core import Datastore", "azureml.core.Datastore", "Dataset.File.from_files"),
    ("import azureml.core.datastore", "azureml.core.datastore", "Dataset.File.from_files"),
])
def test_later_parts_fail_to_import_saying_so(statement, what, why):
    with pytest.raises(ImportError) as info:
        exec(statement, {})
    assert str(info.value).startswith(what + " is not available in Gantry yet: ")
    assert why in str(info.value)


def test_step_two_names_are_gantry_classes():
    import gantry
    from azureml.core import ComputeTarget, Dataset, Model
    from azureml.core.compute import AmlCompute, ComputeTarget as CT2
    from azureml.core.compute_target import ComputeTargetException
    from azureml.core.dataset import Dataset as D2
    from azureml.core.model import Model as M2
    from azureml.core.resource_configuration import ResourceConfiguration
    from azureml.data import FileDataset
    from azureml.data.file_dataset import FileDataset as F2
    from azureml.exceptions import ComputeTargetException as CTE2
    assert (ComputeTarget, CT2, AmlCompute) == (gantry.ComputeTarget,) * 2 + (gantry.AmlCompute,)
    assert (Dataset, D2, FileDataset, F2) == (gantry.Dataset,) * 2 + (gantry.FileDataset,) * 2
    assert (Model, M2, ResourceConfiguration) == (gantry.Model,) * 2 + (gantry.ResourceConfiguration,)
    assert ComputeTargetException is CTE2 is gantry.ComputeTargetException


def test_unknown_names_are_ordinary_errors():
    import azureml.core
    with pytest.raises(AttributeError):
        azureml.core.NoSuchThing
    with pytest.raises(ImportError, match="cannot import name"):
        exec("from azureml.core import NoSuchThing", {})


def test_azureml_imports_in_a_fresh_interpreter():
    code = ("from azureml.core import Workspace, Experiment, Run, ScriptRunConfig\n"
            "run = Run.get_context()\nrun.log('acc', 0.5)\nprint(type(run).__name__)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANTRY_")}
    p = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": PYTHON_DIR},
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "_OfflineRun" in p.stdout and "acc" in p.stdout
