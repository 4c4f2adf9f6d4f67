"""TensorFlow for real: the curated environment built from the package index (tensorflow-cpu),
the seed's TensorFlow walkthrough, MultiWorkerMirroredStrategy over 2 workers matching the
single-worker accuracy, and a parameter-server job (chief + 2 workers + 1 ps) under
ParameterServerStrategy. The environment is built once per test session into a cache folder
shared by this file's servers (builds are named by content), next to the gantry binary."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GANTRY, Server, submitted_name

ROOT = Path(__file__).resolve().parents[1]
DATA = "/usr/share/datasets/fashion-mnist"
TF_ENV = "Gantry-TensorFlow-2.21-CPU"
ENV_CACHE = Path(GANTRY).resolve().parent / "test-env-cache"


@pytest.fixture(scope="module")
def tf_server(tmp_path_factory):
    ENV_CACHE.mkdir(exist_ok=True)
    s = Server(tmp_path_factory.mktemp("tf") / "ws", slots=4,
               extra_args=["--env-cache", str(ENV_CACHE)]).start()
    yield s
    s.stop()


def tf_job(folder: Path, name: str, args: str, extra: str = "") -> Path:
    """A job YAML running examples/tf_mnist/src/tf_mnist.py in the curated environment."""
    folder.mkdir(parents=True, exist_ok=True)
    yml = folder / f"{name}.yml"
    yml.write_text(f"command: python tf_mnist.py --data-folder {DATA} {args}\n"
                   f"code: {ROOT / 'examples/tf_mnist/src'}\n"
                   f"environment: azureml:{TF_ENV}@latest\ncompute: local\n" + extra)
    return yml


def run_job(server, yml):
    p = server.cli("job", "create", "--file", str(yml), "--stream", timeout=900)
    name = submitted_name(p)
    run = server.run(name)
    assert run["status"] == "Completed", (run["error"], p.stdout[-4000:], p.stderr[-2000:])
    status, metrics = server.request("GET", f"/api/v1/runs/{name}/metrics")
    assert status == 200, metrics
    return name, p.stdout, metrics["metrics"]


def last_value(points):
    return points[-1]["value"]


def test_multiworker_mirrored_strategy_matches_a_single_worker(tf_server, tmp_path):
    args = "--epochs 1 --limit 6000"
    _, single_log, single = run_job(tf_server, tf_job(tmp_path, "single", args))
    assert "TensorFlow 2.21.0" in single_log and "1 worker(s)" in single_log
    name, log, multi = run_job(tf_server, tf_job(
        tmp_path, "mwms", args,
        "resources:\n  instance_count: 2\ndistribution:\n  type: tensorflow\n  worker_count: 2\n"))
    assert "2 worker(s)" in log, log[-3000:]
    # Each step is the single worker's step on the same batch: the same accuracy.
    assert abs(last_value(multi["final_acc"]) - last_value(single["final_acc"])) <= 0.002, (multi, single)
    assert last_value(single["final_acc"]) > 0.6
    assert len(multi["final_acc"]) == 1  # the chief alone logs
    tf_server.cli("job", "download", "-n", name, "--download-path", str(tmp_path / "dl"), check=True)
    model = json.loads((tmp_path / "dl/artifacts/outputs/model/model.json").read_text())
    assert model["workers"] == 2 and (tmp_path / "dl/artifacts/outputs/model/saved_model.pb").exists()


def test_parameter_server_job_trains_and_ends_with_its_chief(tf_server, tmp_path):
    name, log, metrics = run_job(tf_server, tf_job(
        tmp_path, "ps", "--epochs 1 --limit 6000",
        "resources:\n  instance_count: 3\ndistribution:\n  type: tensorflow\n  worker_count: 2\n"
        "  parameter_server_count: 1\n"))
    assert "ParameterServerStrategy over 2 worker(s) and 1 parameter server(s)" in log, log[-3000:]
    assert last_value(metrics["final_acc"]) > 0.5
    # The worker and ps tasks served until the chief ended; then the job ended Completed.
    for rank, task in [(1, "worker 0 serving"), (2, "worker 1 serving"), (3, "ps 0 serving")]:
        status, body = tf_server.request("GET", f"/api/v1/runs/{name}/logs/std_log_process_{rank}.txt")
        assert status == 200 and task in body.decode(), body


def test_cached_environment_and_the_azure_name_stand_in(tf_server, tmp_path):
    # The build is reused: a later run of the curated environment says so in Preparing.
    _, log, _ = run_job(tf_server, tf_job(tmp_path, "again", "--epochs 1 --limit 1000"))
    assert "using the cached build" in log
    # An Azure name the notebooks use runs on the same build, with Keras 2 as tf.keras.
    yml = tmp_path / "azure.yml"
    yml.write_text("command: python -c \"import tensorflow as tf; print('keras', tf.keras.__name__)\"\n"
                   f"code: {ROOT / 'examples/tf_mnist/src'}\n"
                   "environment: azureml:AzureML-TensorFlow-2.0-GPU@latest\ncompute: local\n")
    _, log, _ = run_job(tf_server, yml)
    assert "using the cached build" in log and "keras tf_keras" in log, log[-2000:]


@pytest.mark.skipif(not Path(DATA, "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)")
def test_tensorflow_walkthrough(tf_server, tmp_path):
    (tmp_path / ".gantry").mkdir()
    (tmp_path / ".gantry" / "config.json").write_text(json.dumps(
        {"server": tf_server.url, "workspace_name": "default", "token": tf_server.token}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    env.pop("GANTRY_URL", None)
    cmd = ["/usr/bin/python3", str(ROOT / "examples/tf_mnist/walkthrough.py"), "--epochs", "1",
           "--limit", "2000", "--model-dir", str(tmp_path / "model")]
    p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-6000:] + p.stderr[-3000:]
    for expected in ["AzureML-TensorFlow-2.2-GPU: TensorFlow 2.2 does not install",
                     "Creating a new compute target", "] Running", "epoch 1:", "] Completed",
                     "Registered model tf-mnist version 1",
                     "Service tensorflow-web-service is Healthy at ",
                     "The web service scored 2000 test images"]:
        assert expected in p.stdout, expected + "\n" + p.stdout[-6000:]
    assert "saved_model.pb" in os.listdir(tmp_path / "model")
    assert (tmp_path / "AzureML-TensorFlow-2.2-GPU" / "azureml_environment.json").exists()


SCORE_PY = '''
import json
import os

import numpy as np
import tensorflow as tf
from azureml.core.model import Model  # as the notebook's score.py imports it


def init():
    global model
    model = tf.saved_model.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model"))


def run(raw_data):
    data = np.array(json.loads(raw_data)["data"], dtype=np.float32)
    out = model.signatures["serving_default"](images=tf.constant(data))
    return np.argmax(out["logits"].numpy(), axis=1).tolist()
'''


def test_notebook_deployment_pin_fails_clearly_then_serves_with_a_current_pin(tf_server, tmp_path, monkeypatch):
    """The notebook's entry-script deployment: a conda environment made with
    CondaDependencies asking for tensorflow==2.0.0 (which no current Python installs) and
    azureml-defaults. Verbatim it ends Failed naming the pin; with the pin changed to the
    current tensorflow-cpu it serves score.py's predictions."""
    for k in [k for k in os.environ if k.startswith("GANTRY_")]:
        monkeypatch.delenv(k)
    sys.path.insert(0, str(ROOT / "python"))
    from azureml.core import Environment, Experiment, ScriptRunConfig, Workspace
    from azureml.core.conda_dependencies import CondaDependencies
    from azureml.core.model import InferenceConfig, Model
    from azureml.core.webservice import AciWebservice
    from azureml.exceptions import WebserviceException

    ws = Workspace(tf_server.url, token=tf_server.token)
    src = ScriptRunConfig(source_directory=str(ROOT / "examples/tf_mnist/src"), script="tf_mnist.py",
                          arguments=["--data-folder", DATA, "--epochs", 1, "--limit", 2000],
                          environment=Environment.get(ws, TF_ENV))
    run = Experiment(ws, "tf-notebook").submit(src)
    run.wait_for_completion()
    assert run.get_status() == "Completed"
    model = run.register_model(model_name="tf-dnn-mnist", model_path="outputs/model")

    (tmp_path / "score.py").write_text(SCORE_PY)
    aciconfig = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1,
                                                   tags={"name": "mnist", "framework": "TensorFlow DNN"},
                                                   description="Tensorflow DNN on MNIST")
    for pin, works in [("tensorflow==2.0.0", False), ("tensorflow-cpu==2.21.0", True)]:
        cd = CondaDependencies.create()
        cd.add_conda_package("numpy")
        cd.add_pip_package(pin)
        cd.add_pip_package("azureml-defaults")
        cd.save_to_file(base_directory=str(tmp_path), conda_file_path="myenv.yml")
        myenv = Environment.from_conda_specification(name="myenv", file_path=str(tmp_path / "myenv.yml"))
        inference_config = InferenceConfig(entry_script=str(tmp_path / "score.py"), environment=myenv)
        service = Model.deploy(workspace=ws, name="tf-mnist-svc", models=[model],
                               inference_config=inference_config, deployment_config=aciconfig,
                               overwrite=True)
        if not works:
            with pytest.raises(WebserviceException):
                service.wait_for_deployment(True)
            assert service.state == "Failed"
            logs = service.get_logs()
            assert "tensorflow==2.0.0" in logs and "change the pin" in logs, logs[-3000:]
            assert "azureml-defaults: satisfied by Gantry's own SDK" in logs, logs[-3000:]
            continue
        service.wait_for_deployment(True)
        assert service.state == "Healthy"
        import gzip
        import numpy as np
        with gzip.open(f"{DATA}/t10k-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:200] / 255.0
        predicted = service.run(json.dumps({"data": images.tolist()}))
        assert len(predicted) == 200 and set(predicted) <= set(range(10))
        # The ACI default: no key needed, as in Azure.
        status, body = tf_server.request("POST", "/endpoints/tf-mnist-svc/score",
                                         {"data": images[:3].tolist()}, token="")
        assert status == 200 and body == predicted[:3], body
        service.delete()
