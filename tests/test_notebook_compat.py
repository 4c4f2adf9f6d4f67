"""The Azure ML v1 notebook's own calls (train-hyperparameter-tune-deploy-with-tensorflow, all
but TensorFlow itself) against a real server: an Azure-shaped config.json, the
workspace's Azure fields, an unregistered dataset as a run input, ScriptRunConfig with a
run_config, RunDetails, wait_for_completion's output, log_image, CondaDependencies read back by
the server, an ACI service without a key whose entry script imports azureml.core, and the
HyperDrive cells through to deploying the best trial's model.

Waiting is always on the run or the deployment itself (long polls), never on time.
"""
import io
import json
import os
import struct
import sys
import textwrap
import threading
import types
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import pytest

from conftest import serve_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from azureml.core import Dataset, Environment, Experiment, Run, ScriptRunConfig, Workspace  # noqa: E402
from azureml.core.model import InferenceConfig, Model  # noqa: E402
from azureml.core.runconfig import CondaDependencies, RunConfiguration  # noqa: E402
from azureml.core.webservice import AciWebservice  # noqa: E402
from azureml.exceptions import UserErrorException  # noqa: E402
from azureml.telemetry import set_diagnostics_collection  # noqa: E402
from azureml.widgets import RunDetails  # noqa: E402
from gantry.errors import AlreadyExistsError, NotFoundError  # noqa: E402

PYTHON = "python:" + sys.executable
WAIT_S = 300  # a bound on each deployment wait, far above a model server's start

pytestmark = pytest.mark.usefixtures("sdk_isolated")


def png(width=2, height=2, rgb=(200, 30, 30)):
    """A real PNG image, made with zlib as matplotlib's savefig would write one."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class FakePyplot:
    """Stands in for matplotlib.pyplot: savefig(fname, format=...) writes a PNG."""

    def __init__(self):
        self.saved = []

    def savefig(self, fname, format=None, **kwargs):
        self.saved.append(format)
        with open(fname, "wb") as f:
            f.write(png(3, 1))


@pytest.fixture
def notebook(server, tmp_path, monkeypatch):
    """The notebook's folder: an Azure config.json (no server), below a project whose local
    workspace's .gantry/config.json names the test's server."""
    project = tmp_path / "project"
    (project / ".gantry").mkdir(parents=True)
    (project / ".gantry" / "config.json").write_text(json.dumps(
        {"server": server.url, "workspace_name": "default", "token": server.token}))
    folder = project / "notebooks" / "tf"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(
        {"subscription_id": "0000-sub", "resource_group": "my-rg", "workspace_name": "default"}))
    monkeypatch.chdir(folder)
    return folder


TRAIN = """
    import argparse, os
    from azureml.core import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-folder", required=True)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    args = parser.parse_args()
    run = Run.get_context()
    files = sorted(os.listdir(args.data_folder))
    print("data files:", files, flush=True)
    for epoch in range(3):
        run.log("training_acc", 0.5 + 0.1 * epoch)
        run.log("validation_acc", 0.4 + 0.1 * epoch)
    run.log("final_acc", 0.7)
    os.makedirs("outputs/model", exist_ok=True)
    with open("outputs/model/weights.txt", "w") as f:
        f.write("batch %d lr %s" % (args.batch_size, args.learning_rate))
    with open("confusion.png", "wb") as f:
        f.write(open(os.path.join(args.data_folder, "picture.png"), "rb").read())
    run.log_image("confusion", path="confusion.png")   # in the run: kept as images/confusion.png
    run.flush()
"""


def test_the_notebooks_training_sections_run_unchanged(server, notebook, capsys):
    # Setup and workspace cells.
    set_diagnostics_collection(send_diagnostics=True)
    assert "nothing is sent" in capsys.readouterr().out
    ws = Workspace.from_config()
    assert (ws.name, ws.url) == ("default", server.url)
    assert (ws.location, ws.subscription_id, ws.resource_group) == ("local", "0000-sub", "my-rg")
    exp = Experiment(workspace=ws, name="tf-mnist")
    script_folder = notebook / "tf-mnist"
    script_folder.mkdir()
    (script_folder / "tf_mnist.py").write_text(textwrap.dedent(TRAIN))

    # The dataset cells: web files, never registered under the notebook's name.
    files = {"/mnist/train-images-idx3-ubyte.gz": b"images", "/mnist/train-labels-idx1-ubyte.gz": b"labels",
             "/mnist/picture.png": png()}
    with serve_bytes(files) as base:
        dataset = Dataset.File.from_files(path=[base + p for p in sorted(files)])
        registered = True
        try:
            Dataset.get_by_name(workspace=ws, name="mnist-dataset")
        except UserErrorException:
            registered = False
        assert not registered

        # ScriptRunConfig in azureml-core's positional order, with a run configuration.
        rc = RunConfiguration()
        rc.target = "local"
        rc.environment = PYTHON
        args = ["--data-folder", dataset.as_named_input("mnist").as_mount(), "--batch-size", 64,
                "--learning-rate", 0.01]
        src = ScriptRunConfig(str(script_folder), "tf_mnist.py", args, rc)
        assert src.run_config is rc and src.run_config.target == "local"
        assert src.run_config.environment == PYTHON and src.run_config.node_count == 1
        run = exp.submit(src)

    # The unregistered dataset was registered under a name of Gantry's, and mounted.
    implicit = [d for d in Dataset.get_all(ws) if d.startswith("anonymous-")]
    assert len(implicit) == 1 and "mnist-dataset" not in Dataset.get_all(ws)
    spec = run.get_details()["runDefinition"]
    assert spec["inputs"]["mnist"]["path"] == "azureml:%s:1" % implicit[0]

    # RunDetails in a terminal follows the run to its end: phases and metrics.
    RunDetails(run).show()
    followed = capsys.readouterr().out
    assert followed.startswith("Run %s: %s/api/v1/runs/%s\n" % (run.id, ws.url, run.id))
    assert "] Running" in followed and "  final_acc = 0.7" in followed
    assert followed.index("  training_acc = 0.5") < followed.index("  training_acc = 0.6")
    assert followed.endswith("Run %s ended Completed\n" % run.id)
    assert run.status == "Completed" and run.get_children() == []

    # wait_for_completion prints what Azure prints.
    details = run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    web_view = "Web View: %s/api/v1/runs/%s" % (ws.url, run.id)
    assert out.startswith("RunId: %s\n%s\n\nStreaming user_logs/std_log.txt\n%s\n\n"
                          % (run.id, web_view, "=" * len("Streaming user_logs/std_log.txt")))
    assert "data files: ['picture.png', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']" in out
    summary = out.index("\nExecution Summary\n=================\nRunId: %s\n%s\n" % (run.id, web_view))
    assert summary > out.index("data files:")
    assert details["status"] == "Completed"

    metrics = run.get_metrics()
    assert metrics["training_acc"] == [0.5, 0.6, 0.7] and metrics["final_acc"] == 0.7

    # log_image from the notebook, after the run ended, with a pyplot-like plot.
    plt = FakePyplot()
    run.log_image(name="acc_over_epochs.png", plot=plt)
    assert plt.saved == ["png"]
    names = run.get_file_names()
    assert "images/acc_over_epochs.png" in names and "images/confusion.png" in names
    assert "outputs/model/weights.txt" in names
    local = run.download_file("images/acc_over_epochs.png", str(notebook))
    assert Path(local).read_bytes() == png(3, 1)
    assert Path(run.download_file("images/confusion.png", str(notebook))).read_bytes() == png()
    with pytest.raises(AlreadyExistsError):
        run.log_image(name="acc_over_epochs.png", plot=plt)
    # upload_file goes the same way, from a path or a stream, and never replaces a file.
    run.upload_file("notes/summary.txt", io.BytesIO(b"final_acc 0.7\n"))
    (notebook / "cm.txt").write_text("matrix")
    run.upload_file("notes/cm.txt", str(notebook / "cm.txt"))
    with pytest.raises(AlreadyExistsError):
        run.upload_file("outputs/model/weights.txt", str(notebook / "cm.txt"))
    assert {"notes/summary.txt", "notes/cm.txt"} <= set(run.get_file_names())
    assert Path(run.download_file("notes/summary.txt", str(notebook))).read_text() == "final_acc 0.7\n"

    # The same sources, in a new dataset object, give the same implicit dataset and version.
    with serve_bytes(files) as base:
        def submit_again():
            again = Dataset.File.from_files(path=[base + p for p in sorted(files)])
            src = ScriptRunConfig(source_directory=str(script_folder), script="tf_mnist.py",
                                  arguments=["--data-folder", again.as_mount(), "--batch-size", 32,
                                             "--learning-rate", 0.1],
                                  compute_target="local", environment=PYTHON)
            r = exp.submit(src)
            assert r.wait_for_completion()["status"] == "Completed"
            return r.get_details()["runDefinition"]["inputs"]["input"]["path"]
        first_path, second_path = submit_again(), submit_again()
    assert first_path == second_path and first_path.endswith(":1")
    assert first_path != spec["inputs"]["mnist"]["path"]  # another port: other sources


# The notebook's tf_mnist.py, its command line and metric names kept, without TensorFlow: the
# validation accuracy climbs per epoch towards a peak set by the hyperparameters, and the
# "model" records them.
TUNED_TRAIN = """
    import argparse, math, os
    from azureml.core import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-folder", type=str, dest="data_folder", default="data")
    parser.add_argument("--batch-size", type=int, dest="batch_size", default=128)
    parser.add_argument("--first-layer-neurons", type=int, dest="n_hidden_1", default=128)
    parser.add_argument("--second-layer-neurons", type=int, dest="n_hidden_2", default=128)
    parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=0.01)
    args = parser.parse_args()
    assert sorted(os.listdir(args.data_folder)) == ["train-images-idx3-ubyte.gz",
                                                    "train-labels-idx1-ubyte.gz"]
    run = Run.get_context()
    peak = 0.5 + 0.4 * (args.n_hidden_1 / 512) * (1 - abs(math.log(args.learning_rate) + 3) / 6)
    for epoch in range(1, 5):
        run.log("training_acc", peak * (1 - 0.5 ** epoch) + 0.01)
        run.log("validation_acc", peak * (1 - 0.5 ** epoch))
    run.log("final_acc", peak * (1 - 0.5 ** 4))
    os.makedirs("./outputs/model", exist_ok=True)
    with open("./outputs/model/weights.txt", "w") as f:
        f.write("%d %d %d %s" % (args.batch_size, args.n_hidden_1, args.n_hidden_2,
                                 args.learning_rate))
"""

# The notebook's score.py, reading the model folder as it does (AZUREML_MODEL_DIR/model).
TUNED_SCORE = """
    import json
    import os

    from azureml.core.model import Model

    def init():
        global tf_model
        model_root = os.getenv('AZUREML_MODEL_DIR')
        # the name of the folder in which to look for tensorflow model files
        tf_model_folder = 'model'
        tf_model = open(os.path.join(model_root, tf_model_folder, "weights.txt")).read()

    def run(raw_data):
        data = json.loads(raw_data)['data']
        return {"model": tf_model, "rows": len(data)}
"""


def test_the_notebooks_hyperdrive_and_deploy_sections_run_unchanged(server, notebook, capsys):
    from azureml.train.hyperdrive import RandomParameterSampling, BanditPolicy, HyperDriveConfig, PrimaryMetricGoal
    from azureml.train.hyperdrive import choice, loguniform
    ws = Workspace.from_config()
    exp = Experiment(workspace=ws, name="tf-mnist")
    script_folder = notebook / "tf-mnist"
    script_folder.mkdir()
    (script_folder / "tf_mnist.py").write_text(textwrap.dedent(TUNED_TRAIN))
    files = {"/mnist/train-images-idx3-ubyte.gz": b"images", "/mnist/train-labels-idx1-ubyte.gz": b"labels"}
    with serve_bytes(files) as base:
        dataset = Dataset.File.from_files(path=[base + p for p in sorted(files)])
        dataset = dataset.register(workspace=ws, name="mnist-dataset", description="training and test dataset",
                                   create_new_version=True)
    compute_target = "local"
    tf_env = PYTHON

    # The notebook's cells from here on, as written.
    ps = RandomParameterSampling(
        {
            '--batch-size': choice(32, 64, 128),
            '--first-layer-neurons': choice(16, 64, 128, 256, 512),
            '--second-layer-neurons': choice(16, 64, 256, 512),
            '--learning-rate': loguniform(-6, -1)
        }
    )
    args = ['--data-folder', dataset.as_named_input('mnist').as_mount()]

    src = ScriptRunConfig(source_directory=script_folder,
                          script='tf_mnist.py',
                          arguments=args,
                          compute_target=compute_target,
                          environment=tf_env)
    policy = BanditPolicy(evaluation_interval=2, slack_factor=0.1)
    htc = HyperDriveConfig(run_config=src,
                           hyperparameter_sampling=ps,
                           policy=policy,
                           primary_metric_name='validation_acc',
                           primary_metric_goal=PrimaryMetricGoal.MAXIMIZE,
                           max_total_runs=8,
                           max_concurrent_runs=4)
    htr = exp.submit(config=htc)
    RunDetails(htr).show()
    htr.wait_for_completion(show_output=True)
    assert(htr.get_status() == "Completed")
    best_run = htr.get_best_run_by_primary_metric()
    print(best_run.get_file_names())
    model = best_run.register_model(model_name='tf-dnn-mnist', model_path='outputs/model')

    out = capsys.readouterr().out
    # RunDetails followed the sweep in the terminal: a line per trial, and the best.
    trials = htr.get_trials()
    assert len(trials) == 8 and len(htr.get_children()) == 8
    for t in trials:
        assert "  trial %s  " % t["name"] in out
        assert t["status"] in ("Completed", "Canceled")
        if t["status"] == "Canceled":  # only the policy stops a trial here, at an even interval
            why = t["stopped_by_policy"]
            assert why["policy"] == "bandit" and why["interval"] % 2 == 0
            assert why["value"] < why["threshold"]
    assert "Best trial: %s (validation_acc " % best_run.id in out
    assert "outputs/model/weights.txt" in out  # print(best_run.get_file_names())
    completed = [t for t in trials if t["status"] == "Completed"]
    assert best_run.id == max(completed, key=lambda t: t["primary_metric"])["name"]
    best_values = json.loads(htr.get_hyperparameters()[best_run.id])
    assert set(best_values) == {"--batch-size", "--first-layer-neurons", "--second-layer-neurons",
                                "--learning-rate"}

    # The deployment cells, with the best trial's model.
    (notebook / "score.py").write_text(textwrap.dedent(TUNED_SCORE))
    cd = CondaDependencies.create()
    cd.add_conda_package('numpy')
    cd.add_pip_package("azureml-defaults")
    cd.save_to_file(base_directory='./', conda_file_path='myenv.yml')
    inference_config = InferenceConfig(entry_script="score.py",
                                       environment=Environment.get(ws, "Gantry-Python3"))
    aciconfig = AciWebservice.deploy_configuration(cpu_cores=2,
                                                   memory_gb=2,
                                                   tags={'name': 'mnist', 'framework': 'TensorFlow DNN'},
                                                   description='Tensorflow DNN on MNIST')
    service = Model.deploy(workspace=ws,
                           name='tf-mnist-svc',
                           models=[model],
                           inference_config=inference_config,
                           deployment_config=aciconfig)
    service.wait_for_deployment(True, timeout_sec=WAIT_S)
    assert service.state == "Healthy", service.get_logs()
    test_samples = bytes(json.dumps({"data": [[0.0] * 784] * 30}), encoding='utf8')
    result = service.run(input_data=test_samples)
    expected = "%d %d %d %s" % (best_values["--batch-size"], best_values["--first-layer-neurons"],
                                best_values["--second-layer-neurons"], best_values["--learning-rate"])
    assert result == {"model": expected, "rows": 30}
    service.delete()


def test_run_details_renders_html_in_jupyter_until_the_run_ends(server, notebook, monkeypatch):
    # An IPython kernel as Jupyter has one: get_ipython() is a ZMQInteractiveShell, and
    # IPython.display's handles record what they show.
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(obj.data)

    def display(obj, display_id=None):
        assert display_id is True
        shown.append(obj.data)
        return Handle()

    class ZMQInteractiveShell:
        kernel = object()

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: ZMQInteractiveShell()
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = display
    ipython_display.HTML = lambda data: types.SimpleNamespace(data=data)
    ipython.display = ipython_display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)

    ws = Workspace.from_config()
    folder = notebook / "src"
    folder.mkdir()
    gate = notebook / "gate"
    (folder / "train.py").write_text(textwrap.dedent(f"""
        import os, time
        from azureml.core import Run
        run = Run.get_context()
        run.log("validation_acc", 0.25)
        run.flush()
        while not os.path.exists({str(gate)!r}):  # the test opens the gate
            time.sleep(0.05)
        run.log("<b>final</b>", 0.5)
    """))
    run = Experiment(ws, "widgets").submit(ScriptRunConfig(str(folder), "train.py", environment=PYTHON))
    details = RunDetails(run)
    details.show()  # returns at once in Jupyter
    assert shown and "<table>" in shown[0] and run.id in shown[0]
    assert details._thread is not None and details._thread.is_alive()
    gate.touch()
    details._thread.join(timeout=600)
    assert not details._thread.is_alive()
    last = shown[-1]
    assert "<b>Completed</b>" in last and "validation_acc" in last and "0.25" in last
    assert "&lt;b&gt;final&lt;/b&gt;" in last and "<b>final</b>" not in last  # escaped
    assert ('href="%s/api/v1/runs/%s"' % (ws.url, run.id)) in last


def test_from_config_on_an_azure_config_without_a_local_workspace_says_what_to_do(tmp_path):
    folder = tmp_path / "nb"
    (folder / ".azureml").mkdir(parents=True)
    config = folder / ".azureml" / "config.json"
    config.write_text(json.dumps({"subscription_id": "s", "resource_group": "g",
                                  "workspace_name": "w"}))
    if any((d / ".gantry" / "config.json").exists() for d in folder.parents):
        raise AssertionError("a .gantry/config.json above the test folder would be found")
    with pytest.raises(NotFoundError) as info:
        Workspace.from_config(path=str(folder))
    message = str(info.value)
    assert str(config) in message and "gantry server --background" in message
    assert "GANTRY_URL" in message


def test_conda_dependencies_file_is_read_back_by_the_server(server, notebook):
    ws = Workspace.from_config()
    cd = CondaDependencies.create(pip_packages=["azureml-defaults"], conda_packages=["numpy"],
                                  python_version="3.11")
    cd.add_pip_package("protobuf==3.20.1")
    cd.add_channel("conda-forge")
    path = cd.save_to_file(base_directory="./", conda_file_path="myenv.yml")
    assert Path(path).read_text() == cd.serialize_to_string()
    env = Environment.from_conda_specification(name="myenv", file_path="myenv.yml").register(ws)
    back = Environment.get(ws, "myenv").python.conda_dependencies
    assert back["name"] == "project_environment" and back["channels"] == ["conda-forge"]
    assert back["dependencies"][:3] == ["python=3.11", "numpy", "pip"]
    assert back["dependencies"][3] == {"pip": ["azureml-defaults", "protobuf==3.20.1"]}
    assert env.version == 1


SCORE = """
    import json, os
    from azureml.core.model import Model   # as in the notebook's score.py

    def init():
        global here
        here = os.path.dirname(os.path.abspath(__file__))

    def run(raw_data):
        data = json.loads(raw_data)["data"]
        return {"sum": sum(data), "packaged": sorted(os.listdir(here)),
                "model_class": Model.__name__}
"""


def test_aci_service_without_key_runs_an_entry_script_importing_azureml(server, notebook):
    ws = Workspace.from_config()
    model_dir = notebook / "model"
    model_dir.mkdir()
    (model_dir / "weights.txt").write_text("w")
    model = Model.register(ws, model_path=str(model_dir), model_name="tf-dnn-mnist")
    # The notebook's folder also holds data; only score.py is packaged.
    (notebook / "data").mkdir()
    (notebook / "data" / "train-images-idx3-ubyte.gz").write_bytes(os.urandom(1 << 16))
    (notebook / "score.py").write_text(textwrap.dedent(SCORE))
    inference_config = InferenceConfig(entry_script="score.py",
                                       environment=Environment.get(ws, "Gantry-Python3"))
    aciconfig = AciWebservice.deploy_configuration(cpu_cores=2, memory_gb=2,
                                                   tags={"name": "mnist"}, description="DNN")
    service = Model.deploy(workspace=ws, name="tf-mnist-svc", models=[model],
                           inference_config=inference_config, deployment_config=aciconfig)
    service.wait_for_deployment(True, timeout_sec=WAIT_S)
    assert service.state == "Healthy", service.get_logs()
    assert not service.auth_enabled
    expected = {"sum": 6, "packaged": ["score.py"], "model_class": "Model"}
    assert service.run(input_data=json.dumps({"data": [1, 2, 3]})) == expected

    # Plain HTTP without a key, as the notebook's `requests.post` cell does.
    req = urllib.request.Request(service.scoring_uri, data=b'{"data": [1, 2, 3]}', method="POST",
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=60) as r:
        assert r.status == 200 and json.loads(r.read()) == expected

    assert ws.webservices["tf-mnist-svc"].scoring_uri == service.scoring_uri
    service.delete()
    assert "tf-mnist-svc" not in ws.webservices
