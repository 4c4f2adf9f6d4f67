"""The Azure ML v1 notebook's calls that need no server, or only its health answer: telemetry,
the config search, UserErrorException, CondaDependencies, RunConfiguration and
ScriptRunConfig's parameter order, log_image's arguments, deployment configurations. The
same calls against a real server are in tests/test_notebook_compat.py."""
import http.server
import json
import os
import sys
import threading

import pytest

from gantry import Environment, ScriptRunConfig, Workspace
from gantry.errors import (AlreadyExistsError, FailedPreconditionError, GantryError,
                           InvalidArgumentError, NotFoundError, UnavailableError)
from gantry.run import _image_file


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        data = json.dumps({"status": "ok", "workspace": "default", "version": "t"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def url(monkeypatch, tmp_path):
    for var in ("GANTRY_URL", "GANTRY_TOKEN", "GANTRY_RUN_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=srv.serve_forever)
    thread.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()
    thread.join()


AZURE = {"subscription_id": "1234-sub", "resource_group": "rg", "workspace_name": "default"}


# ----------------------------------------------------------------------------- setup cells

def test_set_diagnostics_collection_sends_nothing_and_says_so(capsys):
    from azureml.telemetry import get_diagnostics_collection_info, set_diagnostics_collection
    assert set_diagnostics_collection(send_diagnostics=True) is None
    assert "nothing is sent" in capsys.readouterr().out
    set_diagnostics_collection(send_diagnostics=False, verbose=False)
    assert capsys.readouterr().out == ""
    assert get_diagnostics_collection_info() == {"send_diagnostics": False}


@pytest.mark.parametrize("where", ["config.json", ".azureml/config.json", "aml_config/config.json"])
def test_an_azure_config_finds_the_local_workspace_above_it(url, tmp_path, where):
    (tmp_path / "p" / ".gantry").mkdir(parents=True)
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps({"server": url}))
    nb = tmp_path / "p" / "notebooks"
    azure = nb / where
    azure.parent.mkdir(parents=True, exist_ok=True)
    azure.write_text(json.dumps(AZURE))
    ws = Workspace.from_config(str(nb))
    assert (ws.url, ws.name) == (url, "default")
    assert (ws.location, ws.subscription_id, ws.resource_group) == ("local", "1234-sub", "rg")
    assert ws.get_details()["config_file"] == str(azure)
    assert ws.get_details()["subscriptionId"] == "1234-sub"
    # The file itself as path, and Azure's auth= argument, work too.
    assert Workspace.from_config(path=str(azure), auth=object()).resource_group == "rg"


def test_without_an_azure_config_the_azure_fields_are_local(url, tmp_path):
    (tmp_path / "p" / ".gantry").mkdir(parents=True)
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps({"server": url}))
    ws = Workspace.from_config(str(tmp_path / "p"))
    assert (ws.location, ws.subscription_id, ws.resource_group) == ("local", "local", "local")
    # A team server elsewhere reports its host name instead.
    remote = object.__new__(Workspace)
    remote._url = "http://gpu01.example:8765"
    assert remote.location == "gpu01.example"


def test_an_azure_config_naming_another_workspace_is_not_found(url, tmp_path):
    (tmp_path / "p" / ".gantry").mkdir(parents=True)
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps({"server": url}))
    (tmp_path / "p" / "config.json").write_text(json.dumps(dict(AZURE, workspace_name="prod-ws")))
    with pytest.raises(NotFoundError, match="workspace 'prod-ws' not found.*serves workspace 'default'"):
        Workspace.from_config(str(tmp_path / "p"))


def test_an_azure_config_and_gantry_url(url, tmp_path, monkeypatch):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "config.json").write_text(json.dumps(AZURE))
    monkeypatch.setenv("GANTRY_URL", url)
    ws = Workspace.from_config(str(tmp_path / "nb"))
    assert ws.url == url and ws.subscription_id == "1234-sub"


def test_a_broken_azure_field_is_refused(url, tmp_path):
    (tmp_path / "p" / ".gantry").mkdir(parents=True)
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps({"server": url}))
    (tmp_path / "p" / "config.json").write_text(json.dumps(dict(AZURE, subscription_id=5)))
    with pytest.raises(InvalidArgumentError, match='"subscription_id"'):
        Workspace.from_config(str(tmp_path / "p"))


def test_user_error_exception_catches_the_user_input_errors():
    from azureml.exceptions import AzureMLException, ComputeTargetException, UserErrorException
    from gantry.errors import family_class
    for cls in (InvalidArgumentError, NotFoundError, AlreadyExistsError, FailedPreconditionError):
        with pytest.raises(UserErrorException):
            raise cls("bad")
        assert issubclass(cls, AzureMLException)
    assert not issubclass(UnavailableError, UserErrorException)
    # Azure's family exceptions still catch as both.
    missing = family_class(ComputeTargetException, NotFoundError)("no cluster")
    assert isinstance(missing, UserErrorException) and isinstance(missing, ComputeTargetException)
    assert issubclass(UserErrorException, GantryError)


# ----------------------------------------------------------------------------- conda

def test_conda_dependencies_as_the_notebook_builds_them(tmp_path):
    from azureml.core.conda_dependencies import CondaDependencies as C2
    from azureml.core.runconfig import CondaDependencies
    assert C2 is CondaDependencies
    cd = CondaDependencies.create()
    cd.add_conda_package("numpy")
    cd.add_pip_package("tensorflow==2.2.0")
    cd.add_pip_package("azureml-defaults")
    cd.add_pip_package("protobuf==3.20.1")
    cd.add_pip_package("tensorflow-cpu==2.21.0")     # another package: kept beside
    cd.add_pip_package("protobuf>=4")                # the same package: replaced
    cd.add_channel("conda-forge")
    cd.add_channel("conda-forge")
    version = "%d.%d" % sys.version_info[:2]
    assert cd.serialize_to_string() == (
        "name: project_environment\n"
        "channels:\n  - conda-forge\n"
        "dependencies:\n  - python=%s\n  - numpy\n  - pip\n  - pip:\n"
        "      - tensorflow==2.2.0\n      - azureml-defaults\n      - tensorflow-cpu==2.21.0\n"
        "      - protobuf>=4\n" % version)
    assert list(cd.pip_packages) == ["tensorflow==2.2.0", "azureml-defaults",
                                     "tensorflow-cpu==2.21.0", "protobuf>=4"]
    assert list(cd.conda_packages) == ["python=" + version, "numpy"]
    assert cd.get_python_version() == version
    path = cd.save_to_file(base_directory=str(tmp_path), conda_file_path="envs/myenv.yml")
    assert path == os.path.join(str(tmp_path), "envs", "myenv.yml")
    back = CondaDependencies(conda_dependencies_file_path=path)
    assert back == cd and back.serialize_to_string() == cd.serialize_to_string()
    env = Environment.from_conda_specification(name="myenv", file_path=path)
    assert env._spec()["python"]["conda_dependencies"] == cd.serialize_to_string()
    # An Environment holding the object itself (azureml's env.python.conda_dependencies = cd).
    other = Environment("other")
    other.python.conda_dependencies = cd
    assert other._spec()["python"]["conda_dependencies"] == cd.serialize_to_string()


def test_conda_dependencies_create_arguments_and_removal():
    from gantry.conda_dependencies import CondaDependencies
    cd = CondaDependencies.create(pip_packages=["a==1", "b"], conda_packages=["numpy=1.26"],
                                  python_version="3.10.4", pip_indexurl="http://127.0.0.1:1/simple")
    assert list(cd.conda_packages) == ["python=3.10.4", "numpy=1.26"]
    assert cd.serialize_to_string().count("--index-url http://127.0.0.1:1/simple") == 1
    assert list(cd.pip_packages) == ["a==1", "b"]
    cd.remove_pip_package("a")
    cd.remove_conda_package("numpy")
    cd.set_python_version("3.11")
    assert list(cd.pip_packages) == ["b"] and list(cd.conda_packages) == ["python=3.11"]
    with pytest.raises(InvalidArgumentError):
        cd.set_python_version("three")
    with pytest.raises(InvalidArgumentError):
        cd.add_pip_package("")
    with pytest.raises(InvalidArgumentError):
        cd.add_conda_package("x\n- y")


def test_conda_files_written_by_hand_are_read(tmp_path):
    from gantry.conda_dependencies import CondaDependencies
    path = tmp_path / "env.yml"
    path.write_text("# comment\nname: tf  # trailing\nchannels:\n- defaults\n"
                    "dependencies:\n- python=3.11.2\n- 'scipy'\n- pip:\n  - requests\n"
                    "  - \"six>=1\"\nvariables:\n- A\n")
    cd = CondaDependencies(str(path))
    assert list(cd.conda_channels) == ["defaults"]
    assert list(cd.conda_packages) == ["python=3.11.2", "scipy"]
    assert list(cd.pip_packages) == ["requests", "six>=1"]
    assert "name: tf\n" in cd.serialize_to_string()
    path.write_text("dependencies: [a, b]\n")
    with pytest.raises(InvalidArgumentError, match="line 1"):
        CondaDependencies(str(path))
    path.write_text("dependencies:\n  - a\n\t- b\n")
    with pytest.raises(InvalidArgumentError, match="tabs"):
        CondaDependencies(str(path))
    with pytest.raises(NotFoundError):
        CondaDependencies(str(tmp_path / "absent.yml"))


# ----------------------------------------------------------------------------- run config

def test_script_run_config_takes_azureml_cores_positional_order():
    from azureml.core import RunConfiguration
    from azureml.core.runconfig import MpiConfiguration
    rc = RunConfiguration()
    assert rc.target == "local" and rc.node_count == 1 and rc.environment is None
    src = ScriptRunConfig("src", "train.py", ["--lr", 0.1], rc, None, "gpu-cluster",
                          "python:/usr/bin/python3", MpiConfiguration(node_count=2), None, 60)
    assert src.run_config is rc
    assert rc.target == "gpu-cluster" and src.compute_target == "gpu-cluster"
    assert rc.environment == "python:/usr/bin/python3" and rc.node_count == 2
    assert src.max_run_duration_seconds == 60 and rc.max_run_duration_seconds == 60
    spec, _ = src._job_spec("exp")
    assert spec["command"] == "python train.py --lr 0.1" and spec["compute"] == "gpu-cluster"
    assert spec["environment"] == "python:/usr/bin/python3"
    assert spec["resources"] == {"instance_count": 2} and spec["distribution"]["type"] == "mpi"
    assert spec["limits"] == {"timeout": 60}
    # What is set on the run configuration after construction is what runs.
    src.run_config.target = "other"
    src.run_config.environment = "python3.11"
    src.run_config.environment_variables = {"A": "1"}
    spec, _ = src._job_spec("exp")
    assert (spec["compute"], spec["environment"]) == ("other", "python3.11")
    assert spec["environment_variables"] == {"A": "1"}


def test_a_run_configuration_gives_script_arguments_node_count_and_data():
    from gantry import Dataset
    from gantry.run_config import RunConfiguration
    rc = RunConfiguration(script="t.py", arguments=["--x", 1])
    ds = Dataset.File.from_files("http://127.0.0.1:1/a.gz")
    rc.data = {"extra": ds.as_named_input("extra").as_download()}
    rc.node_count = 3
    src = ScriptRunConfig("src", run_config=rc)
    spec, _ = src._job_spec("exp")
    assert spec["command"] == "python t.py --x 1"
    assert spec["resources"] == {"instance_count": 3} and "distribution" not in spec
    assert spec["inputs"]["extra"]["mode"] == "download"
    with pytest.raises(InvalidArgumentError, match="node_count"):
        rc.node_count = 0
    rc.data = {"bad": "not an input"}
    with pytest.raises(TypeError, match="run_config.data"):
        src._job_spec("exp")
    rc.data = {}
    rc.data_references = {"ref": object()}
    with pytest.raises(InvalidArgumentError, match="data_references"):
        src._job_spec("exp")


def test_script_run_config_refuses_what_gantry_cannot_do():
    with pytest.raises(InvalidArgumentError, match="resume_from"):
        ScriptRunConfig("src", "t.py", resume_from="azureml://datapath")
    with pytest.raises(TypeError, match="RunConfiguration"):
        ScriptRunConfig("src", "t.py", None, {"target": "x"})
    # docker_runtime_config is accepted and changes nothing.
    src = ScriptRunConfig("src", "t.py", docker_runtime_config=object())
    assert "docker" not in json.dumps(src._job_spec("exp")[0])


# ----------------------------------------------------------------------------- log_image

def test_log_image_takes_exactly_a_path_or_a_plot(tmp_path):
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        _image_file("x", None, None)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        _image_file("x", str(tmp_path), object())
    with pytest.raises(NotFoundError):
        _image_file("x", str(tmp_path / "absent.png"), None)
    with pytest.raises(TypeError, match="savefig"):
        _image_file("x", None, object())
    with pytest.raises(InvalidArgumentError, match="plain file name"):
        _image_file("../x", None, object())
    picture = tmp_path / "cm.jpg"
    picture.write_bytes(b"jpg")
    assert _image_file("confusion", str(picture), None)[:2] == ("images/confusion.jpg", str(picture))
    assert _image_file("c.png", str(picture), None)[0] == "images/c.png"

    class Figure:
        def savefig(self, fname, format=None):
            assert format == "png"
            with open(fname, "wb") as f:
                f.write(b"\x89PNG")
    rel, local, cleanup = _image_file("acc", None, Figure())
    assert rel == "images/acc.png" and open(local, "rb").read() == b"\x89PNG"
    cleanup()
    assert not os.path.exists(local)


def test_offline_log_image_keeps_nothing_and_says_so(tmp_path, capsys, monkeypatch):
    from gantry import Run
    from gantry.run import _reset_context
    monkeypatch.delenv("GANTRY_RUN_ID", raising=False)
    monkeypatch.delenv("GANTRY_METRICS_FILE", raising=False)
    _reset_context()
    picture = tmp_path / "a.png"
    picture.write_bytes(b"png")
    run = Run.get_context()
    run.log_image("a", path=str(picture))
    assert "images/a.png" in capsys.readouterr().out
    assert run.status == "Running" and run.get_children() == []
    _reset_context()


# ----------------------------------------------------------------------------- deployment

def test_deployment_configurations_use_azures_default_auth():
    from gantry.webservice import AciWebservice, AksWebservice
    assert not AciWebservice.deploy_configuration().auth_enabled
    assert AciWebservice.deploy_configuration(cpu_cores=2, memory_gb=2)._endpoint_body("s")[
        "auth_mode"] == "none"
    assert AciWebservice.deploy_configuration(auth_enabled=True).auth_enabled
    assert AksWebservice.deploy_configuration().auth_enabled


def test_inference_config_without_source_directory_names_only_the_script(tmp_path):
    from gantry import InferenceConfig
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    config = InferenceConfig(entry_script=str(tmp_path / "score.py"))
    assert config._code_location() == (str(tmp_path), "score.py")


def test_stale_import_errors_are_gone():
    from azureml.core import RunConfiguration  # noqa: F401
    from azureml.core.conda_dependencies import CondaDependencies  # noqa: F401
    from azureml.core.runconfig import RunConfiguration as R2  # noqa: F401
    from azureml.widgets import RunDetails  # noqa: F401
    with pytest.raises(ImportError, match="not available in Gantry yet"):
        exec("from azureml.core import Datastore", {})
    with pytest.raises(FailedPreconditionError):
        from gantry import Dataset
        Dataset.File.from_files("http://h/x").download()


def test_a_gantry_config_without_server_is_still_an_error(url, tmp_path):
    # .gantry/config.json is Gantry's own: without a server it ends the search with an error,
    # even with an Azure config beside it.
    (tmp_path / "p" / ".gantry").mkdir(parents=True)
    (tmp_path / "p" / ".gantry" / "config.json").write_text(json.dumps({"workspace_name": "x"}))
    (tmp_path / "p" / "config.json").write_text(json.dumps(AZURE))
    with pytest.raises(InvalidArgumentError, match='has no "server" URL'):
        Workspace.from_config(str(tmp_path / "p"))
