"""Azure ML v1 web services on Gantry's online endpoints, through the Python SDK against a
real server and real model servers: Model.deploy, wait_for_deployment, run, keys, overwrite,
entry scripts, logs and delete.

Waiting is wait_for_deployment's bounded polling of the deployment's state; nothing sleeps.
"""
import json
import random
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import GANTRY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from azureml.core import Environment, Workspace  # noqa: E402
from azureml.core.model import InferenceConfig, Model  # noqa: E402
from azureml.core.webservice import (AciWebservice, AksWebservice, LocalWebservice,  # noqa: E402
                                     Webservice)
from azureml.exceptions import WebserviceException  # noqa: E402
from gantry.errors import (AlreadyExistsError, FailedPreconditionError,  # noqa: E402
                           InvalidArgumentError, NotFoundError)

# A TorchScript DNN of the walkthrough's shape (784 pixels in, 10 scores out), made by the
# test session itself: a clean checkout has no trained model.
MNIST_MODEL = None
MAKE_DNN = r"""
import json, sys, torch
torch.manual_seed(0)
class DNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 64)
        self.fc2 = torch.nn.Linear(64, 10)
    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(input)))
torch.jit.script(DNN().eval()).save(sys.argv[1] + "/model.pt")
json.dump({"inputs": [{"name": "input", "shape": [-1, 784]}],
           "outputs": [{"name": "logits", "shape": [-1, 10]}]}, open(sys.argv[1] + "/model.json", "w"))
"""


@pytest.fixture(scope="session", autouse=True)
def mnist_model_dir(tmp_path_factory):
    global MNIST_MODEL
    folder = tmp_path_factory.mktemp("mnist") / "model"
    folder.mkdir()
    script = folder.parent / "make_dnn.py"  # TorchScript reads the source, so not `-c`
    script.write_text(MAKE_DNN)
    subprocess.run(["/usr/bin/python3", str(script), str(folder)], check=True)
    MNIST_MODEL = folder
    return folder
WAIT_S = 300  # a bound on each wait, far above a model server's start


pytestmark = pytest.mark.usefixtures("sdk_isolated")


@pytest.fixture
def ws(server):
    return Workspace(server.url, token=server.token)


@pytest.fixture
def mnist(ws):
    return Model.register(ws, model_path=str(MNIST_MODEL), model_name="mnist",
                          model_framework=Model.Framework.PYTORCH, model_framework_version="1.13")


def rows(n, seed=7):
    rng = random.Random(seed)
    return [[rng.random() for _ in range(784)] for _ in range(n)]


def raw_score(uri, key=None, body=b'{"data": [[0.0]]}'):
    """POSTs to the scoring URI with urllib; returns the HTTP status."""
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    req = urllib.request.Request(uri, data=body, method="POST", headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        e.close()
        return e.code


def python_backend_available():
    help_text = subprocess.run([GANTRY, "serve", "--help"], capture_output=True, text=True).stdout
    return "--entry-script" in help_text


def test_no_code_deployment_scores_like_the_model_then_is_deleted(ws, mnist):
    torch = pytest.importorskip("torch")
    config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, tags={"team": "vision"},
                                                description="digits", auth_enabled=True)
    service = Model.deploy(ws, "mnist-svc", [mnist], deployment_config=config)
    assert isinstance(service, AciWebservice) and service.name == "mnist-svc"
    service.wait_for_deployment(show_output=True, timeout_sec=WAIT_S)
    assert service.state == "Healthy"
    assert service.compute_type == "ACI" and service.auth_enabled and service.swagger_uri is None
    assert service.scoring_uri == ws.url + "/endpoints/mnist-svc/score"
    assert service.tags == {"team": "vision"} and service.description == "digits"
    assert service.model_ids == ["mnist:1"] and service.deployment_name == "default"

    data = rows(3)
    answer = service.run({"data": data})
    assert len(answer) == 3 and all(len(row) == 10 for row in answer)
    expected = torch.jit.load(str(MNIST_MODEL / "model.pt"))(torch.tensor(data, dtype=torch.float32))
    assert torch.allclose(torch.tensor(answer), expected, rtol=1e-5, atol=1e-5)
    assert service.run(json.dumps({"data": data[:1]})) == answer[:1]   # a str goes as it is
    assert service.run(json.dumps(data[:1]).encode()) == answer[:1]   # bytes; a bare list

    with pytest.raises(WebserviceException) as bad:
        service.run({"data": [[0.5] * 3]})
    assert isinstance(bad.value, InvalidArgumentError)
    assert "HTTP 400" in str(bad.value) and "784" in str(bad.value)

    fetched = Webservice(ws, "mnist-svc")
    assert isinstance(fetched, AciWebservice) and fetched.state == "Healthy"
    assert [s.name for s in Webservice.list(ws)] == ["mnist-svc"]
    assert [s.name for s in Webservice.list(ws, model_name="mnist")] == ["mnist-svc"]
    assert Webservice.list(ws, compute_type="AKS") == [] and Webservice.list(ws, model_id="mnist:2") == []
    assert "Serving model 'mnist'" in service.get_logs()   # the model server's own output

    service.delete()
    with pytest.raises(WebserviceException) as gone:
        Webservice(ws, "mnist-svc")
    assert isinstance(gone.value, NotFoundError) and "mnist-svc" in str(gone.value)
    assert raw_score(service.scoring_uri) == 404
    with pytest.raises(NotFoundError):
        service.delete()


def test_keys_regenerate_and_local_services_have_no_auth(ws, mnist):
    service = Model.deploy(ws, "keyed", [mnist])   # default: ACI, key auth on
    service.wait_for_deployment(timeout_sec=WAIT_S)
    primary, secondary = service.get_keys()
    assert primary and secondary and primary != secondary
    assert raw_score(service.scoring_uri) == 401
    body = json.dumps({"data": rows(1)}).encode()
    assert raw_score(service.scoring_uri, primary, body) == 200
    stale = Webservice(ws, "keyed")
    assert len(stale.run({"data": rows(1)})) == 1   # remembers the primary key

    service.regen_key("Primary")
    new_primary, same_secondary = service.get_keys()
    assert new_primary != primary and same_secondary == secondary
    assert raw_score(service.scoring_uri, primary, body) == 401
    assert raw_score(service.scoring_uri, new_primary, body) == 200
    assert raw_score(service.scoring_uri, secondary, body) == 200
    assert len(stale.run({"data": rows(1)})) == 1   # refused once, then fetches the new key
    service.regen_key("secondary")
    assert raw_score(service.scoring_uri, secondary, body) == 401
    with pytest.raises(WebserviceException) as bad:
        service.regen_key("Tertiary")
    assert isinstance(bad.value, InvalidArgumentError)

    local = Model.deploy(ws, "open-svc", [mnist],
                         deployment_config=LocalWebservice.deploy_configuration())
    local.wait_for_deployment(timeout_sec=WAIT_S)
    assert isinstance(local, LocalWebservice) and local.compute_type == "Local"
    assert not local.auth_enabled and raw_score(local.scoring_uri, body=body) == 200
    assert len(local.run({"data": rows(2)})) == 2
    with pytest.raises(WebserviceException):
        local.get_keys()


def test_existing_service_is_refused_or_updated_in_place(ws, mnist):
    service = Model.deploy(ws, "twice", [mnist])
    service.wait_for_deployment(timeout_sec=WAIT_S)
    keys = service.get_keys()

    with pytest.raises(WebserviceException) as taken:
        Model.deploy(ws, "twice", [mnist])
    assert isinstance(taken.value, AlreadyExistsError) and "already exists" in str(taken.value)
    with pytest.raises(WebserviceException) as auth:
        Model.deploy(ws, "twice", [mnist], overwrite=True,
                     deployment_config=LocalWebservice.deploy_configuration())
    assert isinstance(auth.value, FailedPreconditionError)

    v2 = Model.register(ws, model_path=str(MNIST_MODEL), model_name="mnist",
                        model_framework=Model.Framework.PYTORCH)
    config = AksWebservice.deploy_configuration(num_replicas=2, scoring_timeout_ms=5000)
    updated = Model.deploy(ws, "twice", [v2], deployment_config=config, overwrite=True)
    assert updated.generation == 2 and updated.model_ids == ["mnist:2"]
    updated.wait_for_deployment(timeout_sec=WAIT_S)
    assert updated.state == "Healthy" and isinstance(updated, AksWebservice)
    assert updated.get_keys() == keys and updated.scoring_uri == service.scoring_uri
    deployment = updated._deployment
    assert deployment["instance_count"] == 2
    assert deployment["request_settings"] == {"request_timeout_ms": 5000}
    assert len(updated.run({"data": rows(2)})) == 2

    service.update(tags={"stage": "prod"}, num_replicas=1)
    service.wait_for_deployment(timeout_sec=WAIT_S)
    assert service.generation == 3 and service.tags == {"stage": "prod"}
    assert service.model_ids == ["mnist:2"] and service._deployment["instance_count"] == 1
    assert service.compute_type == "AKS" and service.state == "Healthy"


def test_models_the_server_cannot_serve_without_code_give_clear_errors(ws, tmp_path, mnist):
    folder = tmp_path / "sk"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"not really a pickle")
    sk = Model.register(ws, model_path=str(folder), model_name="sk-model",
                        model_framework=Model.Framework.SCIKITLEARN)
    with pytest.raises(WebserviceException) as refused:
        Model.deploy(ws, "sk-svc", [sk])
    assert isinstance(refused.value, InvalidArgumentError)
    assert "ScikitLearn" in str(refused.value) and "InferenceConfig" in str(refused.value)
    with pytest.raises(NotFoundError):   # nothing half-made is left behind
        Webservice(ws, "sk-svc")

    with pytest.raises(WebserviceException) as several:
        Model.deploy(ws, "two-svc", [mnist, sk])
    assert "exactly one model" in str(several.value)
    assert Webservice.list(ws) == []


@pytest.mark.skipif(not python_backend_available(),
                    reason="`gantry serve` has no --entry-script yet: the python backend that runs "
                           "entry scripts is still being merged")
def test_entry_script_reads_the_model_and_answers_through_run(ws, tmp_path):
    model_dir = tmp_path / "greeting"
    model_dir.mkdir()
    (model_dir / "greeting.txt").write_text("hello")
    model = Model.register(ws, model_path=str(model_dir), model_name="greeter")
    src = tmp_path / "service"
    (src / "app").mkdir(parents=True)
    (src / "app" / "helpers.py").write_text("def shout(s):\n    return s.upper()\n")
    (src / "app" / "score.py").write_text(textwrap.dedent("""\
        import json, os, sys
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from helpers import shout
        greeting = None

        def init():
            global greeting
            path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "greeting", "greeting.txt")
            with open(path) as f:
                greeting = f.read()
            print("init read", path, flush=True)

        def run(raw):
            return {"greeting": shout(greeting), "echo": json.loads(raw)["x"]}
        """))
    config = InferenceConfig(entry_script="app/score.py", source_directory=str(src),
                             environment=Environment.get(ws, "Gantry-Python3"))
    service = Model.deploy(ws, "greeter-svc", [model], inference_config=config)
    service.wait_for_deployment(show_output=True, timeout_sec=WAIT_S)
    assert service.state == "Healthy", service.get_logs()
    assert service.run({"x": 41}) == {"greeting": "HELLO", "echo": 41}
    assert service._deployment["scoring_script"] == "app/score.py"
    assert service._deployment["backend"] == "python"
    assert "init read" in service.get_logs()
