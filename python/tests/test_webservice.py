"""Web services without a server: deployment configurations map to the endpoint and
deployment bodies, deployment states map to Azure's service states, InferenceConfig checks its
arguments, scoring bodies and errors, and wait_for_deployment's loop under a fake clock."""

import io
import json
import os
import warnings

import pytest

import gantry
from gantry import (AciWebservice, AksWebservice, Environment, InferenceConfig, LocalWebservice,
                    Model, Webservice, WebserviceException, Workspace)
from gantry.errors import (AlreadyExistsError, DeadlineExceededError, FailedPreconditionError,
                           GantryError, InvalidArgumentError, NotFoundError,
                           UnauthenticatedError, UnavailableError, in_family)
from gantry.webservice import (COMPUTE_TYPE_TAG, _bad_response, _main_deployment, _request_body,
                               _wait, service_state)


def deployment(state, *replica_states, **extra):
    d = {"name": "default", "provisioning_state": state,
         "replicas": [{"index": i, "state": s} for i, s in enumerate(replica_states)]}
    d.update(extra)
    return d


@pytest.mark.parametrize("d, expected", [
    (deployment("Creating"), "Transitioning"),
    (deployment("Updating", "Ready"), "Transitioning"),
    (deployment("Deleting", "Ready"), "Transitioning"),
    (deployment("Succeeded", "Ready", "Restarting"), "Healthy"),
    (deployment("Succeeded", "Restarting", "Starting"), "Unhealthy"),
    (deployment("Succeeded"), "Unhealthy"),
    (deployment("Failed", "Stopped"), "Failed"),
    (None, "Unhealthy"),
])
def test_service_state_follows_azure(d, expected):
    assert service_state(d) == expected


def test_the_service_follows_the_deployment_with_most_traffic():
    deps = [{"name": "blue"}, {"name": "default"}, {"name": "green"}]
    assert _main_deployment({"deployments": deps, "traffic": {"blue": 10, "green": 90}}) == "green"
    assert _main_deployment({"deployments": deps, "traffic": {}}) == "default"
    assert _main_deployment({"deployments": deps[:1] + deps[2:], "traffic": {}}) == "blue"
    assert _main_deployment({"deployments": [], "traffic": {}}) is None


def test_aci_configuration_maps_auth_tags_and_description():
    config = AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1, tags={"team": "cv", "n": 3},
                                                properties={"p": "1"}, description="digits",
                                                location="westeurope", enable_app_insights=True)
    assert config.compute_type == "ACI" and config.properties == {"p": "1"}
    # Azure's ACI default: no key.
    assert config._endpoint_body("svc") == {
        "name": "svc", "description": "digits", "auth_mode": "none",
        "tags": {"team": "cv", "n": "3", COMPUTE_TYPE_TAG: "ACI"}}
    assert config._deployment_fields() == {"instance_count": 1}
    on = AciWebservice.deploy_configuration(auth_enabled=True)
    assert on.auth_enabled and on._endpoint_body("svc")["auth_mode"] == "key"
    off = AciWebservice.deploy_configuration(auth_enabled=False)
    assert off._endpoint_body("svc", description="from the inference config")["auth_mode"] == "none"
    assert off._endpoint_body("svc", "from the inference config")["description"] == \
        "from the inference config"


@pytest.mark.parametrize("kwargs, words", [
    ({"ssl_enabled": True}, "ssl"),
    ({"ssl_cert_pem_file": "cert.pem"}, "ssl"),
    ({"primary_key": "mine"}, "generates keys"),
])
def test_aci_refuses_what_gantry_cannot_do(kwargs, words):
    with pytest.raises(WebserviceException) as e:
        AciWebservice.deploy_configuration(**kwargs)
    assert isinstance(e.value, InvalidArgumentError) and words in str(e.value)


def test_aks_configuration_maps_replicas_and_request_settings():
    config = AksWebservice.deploy_configuration(num_replicas=3, scoring_timeout_ms=5000,
                                                replica_max_concurrent_requests=4, cpu_cores=2,
                                                auth_enabled=False, tags={"a": "b"})
    assert config._deployment_fields() == {
        "instance_count": 3,
        "request_settings": {"request_timeout_ms": 5000, "max_concurrent_requests_per_instance": 4}}
    assert config._endpoint_body("svc")["auth_mode"] == "none"
    assert config._endpoint_body("svc")["tags"] == {"a": "b", COMPUTE_TYPE_TAG: "AKS"}
    assert AksWebservice.deploy_configuration()._endpoint_body("svc")["auth_mode"] == "key"
    with pytest.warns(UserWarning, match="does not autoscale"):
        scaled = AksWebservice.deploy_configuration(autoscale_enabled=True, autoscale_min_replicas=2,
                                                    autoscale_max_replicas=5)
    assert scaled._deployment_fields() == {"instance_count": 2}


@pytest.mark.parametrize("kwargs", [
    {"num_replicas": 0}, {"num_replicas": 1.5}, {"num_replicas": True},
    {"scoring_timeout_ms": -1}, {"replica_max_concurrent_requests": "2"},
    {"autoscale_enabled": True, "num_replicas": 2}, {"token_auth_enabled": True},
    {"secondary_key": "mine"},
])
def test_aks_refuses_bad_values(kwargs):
    with pytest.raises(WebserviceException) as e:
        AksWebservice.deploy_configuration(**kwargs)
    assert isinstance(e.value, InvalidArgumentError)


def test_local_configuration_has_no_auth_and_warns_about_its_port():
    config = LocalWebservice.deploy_configuration()
    assert config._endpoint_body("svc")["auth_mode"] == "none"
    assert config._endpoint_body("svc")["tags"] == {COMPUTE_TYPE_TAG: "Local"}
    with pytest.warns(UserWarning, match="port is ignored"):
        LocalWebservice.deploy_configuration(port=6789)


def test_inference_config_locates_the_entry_script(tmp_path, monkeypatch):
    (tmp_path / "svc" / "app").mkdir(parents=True)
    (tmp_path / "svc" / "app" / "score.py").write_text("def init(): pass\n")
    config = InferenceConfig(entry_script="app/score.py", source_directory=str(tmp_path / "svc"),
                             runtime="python", description="d")
    assert config._code_location() == (str(tmp_path / "svc"), "app/score.py")
    monkeypatch.chdir(tmp_path / "svc")
    alone = InferenceConfig(entry_script="app/score.py")   # its folder is the source directory
    assert alone._code_location() == (str(tmp_path / "svc" / "app"), "score.py")

    with pytest.raises(WebserviceException) as missing:
        InferenceConfig(entry_script="nope.py", source_directory=str(tmp_path / "svc"))
    assert isinstance(missing.value, NotFoundError) and "nope.py" in str(missing.value)
    with pytest.raises(NotFoundError):
        InferenceConfig(entry_script="score.py", source_directory=str(tmp_path / "absent"))
    (tmp_path / "outside.py").write_text("")
    with pytest.raises(InvalidArgumentError, match="outside"):
        InferenceConfig(entry_script="../outside.py", source_directory=str(tmp_path / "svc"))


@pytest.mark.parametrize("kwargs, words", [
    ({"conda_file": "env.yml"}, "conda_file"),
    ({"base_image": "mcr.microsoft.com/x"}, "base_image"),
    ({"extra_docker_file_steps": "steps"}, "extra_docker_file_steps"),
    ({"cuda_version": "11.0"}, "cuda_version"),
    ({"enable_gpu": True}, "enable_gpu"),
    ({"runtime": "spark-py"}, "runtime"),
    ({"entry_script": None}, "entry_script"),
])
def test_inference_config_refuses_what_gantry_cannot_honour(tmp_path, kwargs, words):
    (tmp_path / "score.py").write_text("")
    kwargs = dict({"entry_script": str(tmp_path / "score.py")}, **kwargs)
    with pytest.raises(WebserviceException) as e:
        InferenceConfig(**kwargs)
    assert isinstance(e.value, InvalidArgumentError) and words in str(e.value)


def test_inference_config_environment_references(tmp_path):
    (tmp_path / "score.py").write_text("")
    script = str(tmp_path / "score.py")
    assert InferenceConfig(entry_script=script)._environment_reference(None) == ""
    assert InferenceConfig(entry_script=script, environment="torch:2")._environment_reference(None) == "torch:2"
    env = Environment("mine")
    env.version = 4
    assert InferenceConfig(entry_script=script, environment=env)._environment_reference(None) == \
        "azureml:mine:4"
    with pytest.raises(TypeError):
        InferenceConfig(entry_script=script, environment=42)


def test_request_bodies():
    assert _request_body('{"data": [[1]]}') == b'{"data": [[1]]}'
    assert _request_body(b"\x00raw") == b"\x00raw"
    assert json.loads(_request_body({"data": [[1.5, 2]]})) == {"data": [[1.5, 2]]}
    assert json.loads(_request_body([[1, 2]])) == [[1, 2]]
    with pytest.raises(TypeError):
        _request_body(3.5)


def test_bad_scoring_answers_name_the_status_and_the_service_message():
    e = _bad_response(400, b'{"error": "input has shape [1, 3]"}', "svc")
    assert isinstance(e, WebserviceException) and isinstance(e, InvalidArgumentError)
    assert "HTTP 400" in str(e) and "input has shape [1, 3]" in str(e) and e.status_code == 400
    e = _bad_response(401, b'{"error": {"code": "Unauthenticated", "message": "needs a key"}}', "svc")
    assert isinstance(e, UnauthenticatedError) and "needs a key" in str(e)
    e = _bad_response(503, b"no replica is ready", "svc")
    assert isinstance(e, UnavailableError) and "no replica is ready" in str(e)
    e = _bad_response(500, b"Traceback: boom", "svc")
    assert isinstance(e, GantryError) and "HTTP 500" in str(e) and "boom" in str(e)


def test_in_family_keeps_both_classes():
    wrapped = in_family(WebserviceException, AlreadyExistsError("taken"))
    assert isinstance(wrapped, WebserviceException) and isinstance(wrapped, AlreadyExistsError)
    assert type(wrapped).__name__ == "WebserviceAlreadyExistsException" and wrapped.message == "taken"
    assert type(in_family(WebserviceException, AlreadyExistsError("x"))) is type(wrapped)
    unreachable = UnavailableError("down")
    assert in_family(WebserviceException, unreachable) is unreachable
    assert issubclass(WebserviceException, GantryError)


class Scripted(Webservice):
    """A service whose every fetch gives the next deployment of a script."""

    def _refresh(self):
        self._set(self.workspace, self._endpoint, self.script.pop(0))


def scripted(*deployments):
    service = object.__new__(Scripted)
    service._set(None, {"name": "svc", "tags": {COMPUTE_TYPE_TAG: "ACI"}}, deployments[0])
    service.script = list(deployments)
    return service


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_wait_prints_each_state_change_until_the_deployment_settles():
    service = scripted(deployment("Creating"), deployment("Creating", "Starting"),
                       deployment("Succeeded", "Ready"))
    clock, out = FakeClock(), io.StringIO()
    _wait(service, 60, lambda: clock.now, clock.sleep, out)
    lines = out.getvalue().splitlines()
    assert [line.split()[-1] for line in lines[:2]] == ["Transitioning", "Healthy"]
    assert lines[2] == 'ACI service creation operation finished, operation "Succeeded"'
    assert service.state == "Healthy" and len(clock.slept) == 2


def test_wait_raises_with_the_error_when_the_deployment_fails():
    service = scripted(deployment("Creating"), deployment(
        "Failed", "Stopped", error="the model server exited with code 2 before it was ready"))
    clock = FakeClock()
    with pytest.raises(WebserviceException) as e:
        _wait(service, 60, lambda: clock.now, clock.sleep, None)
    assert "exited with code 2" in str(e.value) and "get_logs()" in str(e.value)
    assert service.state == "Failed"


def test_wait_is_bounded():
    service = scripted(*[deployment("Creating") for _ in range(100)])
    clock = FakeClock()
    with pytest.raises(WebserviceException) as e:
        _wait(service, 5, lambda: clock.now, clock.sleep, None)
    assert isinstance(e.value, DeadlineExceededError) and "Transitioning" in str(e.value)
    assert clock.now == pytest.approx(5)


def test_deploy_checks_its_arguments_before_calling_the_server():
    ws = object.__new__(Workspace)   # never reached: every case fails first
    model = Model._from_json(ws, {"name": "m", "version": 1})
    with pytest.raises(WebserviceException) as none:
        Model.deploy(ws, "svc", [])
    assert isinstance(none.value, InvalidArgumentError) and "exactly one model" in str(none.value)
    with pytest.raises(InvalidArgumentError, match="got 2"):
        Model.deploy(ws, "svc", [model, model])
    with pytest.raises(TypeError):
        Model.deploy(ws, "svc", [model], deployment_config={"cpu_cores": 1})
    with pytest.raises(TypeError):
        Model.deploy("not a workspace", "svc", [model])


def test_azureml_names():
    from azureml.core import Webservice as W
    from azureml.core.model import InferenceConfig as IC
    from azureml.core.webservice import AciWebservice as A, AksWebservice as K, LocalWebservice as L
    from azureml.core.webservice.aci import AciServiceDeploymentConfiguration
    from azureml.exceptions import WebserviceException as WE

    assert W is Webservice is gantry.Webservice and IC is InferenceConfig
    assert (A, K, L) == (AciWebservice, AksWebservice, LocalWebservice)
    assert isinstance(A.deploy_configuration(), AciServiceDeploymentConfiguration)
    assert WE is WebserviceException and issubclass(W, object)
    assert not isinstance(FailedPreconditionError("x"), WebserviceException)
    assert os.path.basename(gantry.webservice.__file__) == "webservice.py"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AciWebservice.deploy_configuration(cpu_cores=1, memory_gb=1)   # ignored without noise
