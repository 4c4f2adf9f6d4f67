"""Online endpoints (step 3): the workspace server's endpoint controller runs `gantry serve`
replicas for each deployment, routes each endpoint's scoring URI across deployments by
traffic weight, checks keys, restarts crashed model servers and brings everything back after
a server restart. Driven through the CLI (Azure CLI v2 verbs) and raw HTTP."""
import json
import os
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import Server, alive, wait_until
from test_serve import MAKE_MODEL


@pytest.fixture
def tiny_model(tmp_path):
    model = tmp_path / "tiny"
    model.mkdir()
    script = tmp_path / "make_model.py"
    script.write_text(MAKE_MODEL)
    expected = json.loads(subprocess.run(["/usr/bin/python3", str(script), str(model)], check=True,
                                         capture_output=True, text=True).stdout)
    return model, expected


ROWS = [[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0]]


def score(url, key=None, body=None, path="/score", deployment=None, method="POST"):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = "Bearer " + key
    if deployment:
        headers["azureml-model-deployment"] = deployment
    data = json.dumps(body if body is not None else {"data": ROWS}).encode() if method == "POST" else None
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read()), r.headers.get("azureml-model-deployment")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers.get("azureml-model-deployment")


def close(a, b, tol=1e-4):
    return all(abs(x - y) <= tol for ra, rb in zip(a, b) for x, y in zip(ra, rb)) and len(a) == len(b)


def deploy(server, tmp_path, endpoint, name, model="azureml:tiny:1", count=1, all_traffic=True,
           check=True, extra=""):
    yml = tmp_path / f"{endpoint}-{name}.yml"
    yml.write_text(f"name: {name}\nendpoint_name: {endpoint}\nmodel: {model}\n"
                   f"instance_type: Standard_DS2_v2\ninstance_count: {count}\n{extra}")
    args = ["online-deployment", "create", "--file", str(yml)] + (["--all-traffic"] if all_traffic else [])
    return server.cli(*args, check=check)


def deployment(server, endpoint, name):
    status, body = server.request("GET", f"/api/v1/endpoints/{endpoint}/deployments/{name}")
    assert status == 200, body
    return body


def keys(server, endpoint):
    return json.loads(server.cli("online-endpoint", "get-credentials", "--name", endpoint, check=True).stdout)


@pytest.fixture
def endpoint(server, tmp_path, tiny_model):
    """An endpoint 'tiny-ep' with deployment 'blue' (2 replicas) taking all traffic."""
    model, expected = tiny_model
    server.cli("model", "create", "--name", "tiny", "--path", str(model), "--framework", "PyTorch", check=True)
    out = server.cli("online-endpoint", "create", "--name", "tiny-ep", check=True).stdout
    assert "/endpoints/tiny-ep/score" in out
    created = deploy(server, tmp_path, "tiny-ep", "blue", count=2)
    assert "Succeeded" in created.stdout
    status, ep = server.request("GET", "/api/v1/endpoints/tiny-ep")
    return ep["scoring_uri"].rsplit("/score", 1)[0], expected


def test_no_code_deployment_answers_every_protocol_through_the_endpoint(server, endpoint, tmp_path):
    base, expected = endpoint
    key = keys(server, "tiny-ep")["primaryKey"]
    status, body, dep = score(base, key)
    assert status == 200 and dep == "blue"
    assert close(body, expected)
    # Open Inference v2 and TF Serving REST through the same scoring host.
    status, body, _ = score(base, key, path="/v2/models/tiny/infer",
                            body={"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",
                                              "data": [x for r in ROWS for x in r]}]})
    assert status == 200, body
    assert close([body["outputs"][0]["data"][:3], body["outputs"][0]["data"][3:]], expected)
    status, body, _ = score(base, key, path="/v1/models/tiny:predict", body={"instances": ROWS})
    assert status == 200 and close(body["predictions"], expected)
    # The protocol's own error shape comes back through the endpoint.
    status, body, _ = score(base, key, path="/v2/models/tiny/infer", body={"inputs": "nope"})
    assert status == 400 and "error" in body
    # The CLI invokes with the key itself.
    req = tmp_path / "req.json"
    req.write_text(json.dumps({"data": ROWS}))
    out = server.cli("online-endpoint", "invoke", "--name", "tiny-ep", "--request-file", str(req), check=True)
    assert close(json.loads(out.stdout), expected)
    # Two ready replicas, shown by the CLI.
    listing = server.cli("online-deployment", "list", "--endpoint-name", "tiny-ep", check=True).stdout
    assert "blue" in listing and "2/2" in listing


def test_keys_are_required_and_regenerable(server, endpoint):
    base, _ = endpoint
    k = keys(server, "tiny-ep")
    status, body, _ = score(base)
    assert status == 401 and "key" in body["error"]["message"]
    status, body, _ = score(base, "not-the-key")
    assert status == 401
    assert score(base, k["secondaryKey"])[0] == 200
    server.cli("online-endpoint", "regenerate-keys", "--name", "tiny-ep", "--key-type", "primary", check=True)
    k2 = keys(server, "tiny-ep")
    assert k2["primaryKey"] != k["primaryKey"] and k2["secondaryKey"] == k["secondaryKey"]
    assert score(base, k["primaryKey"])[0] == 401
    assert score(base, k2["primaryKey"])[0] == 200


def test_traffic_split_is_honoured(server, endpoint, tmp_path):
    base, expected = endpoint
    key = keys(server, "tiny-ep")["primaryKey"]
    assert "Succeeded" in deploy(server, tmp_path, "tiny-ep", "green", all_traffic=False).stdout
    # A deployment with no traffic is still reachable by name, as in Azure.
    status, body, dep = score(base, key, deployment="green")
    assert status == 200 and dep == "green" and close(body, expected)
    bad = server.cli("online-endpoint", "update", "--name", "tiny-ep", "--traffic", "blue=80 green=30")
    assert bad.returncode == 2 and "110" in bad.stderr
    server.cli("online-endpoint", "update", "--name", "tiny-ep", "--traffic", "blue=80 green=20", check=True)
    n = 400
    counts = {"blue": 0, "green": 0}
    for _ in range(n):
        status, _, dep = score(base, key)
        assert status == 200
        counts[dep] += 1
    # Binomial(400, 0.2): sd 8; allow +-28 (3.5 sd).
    assert abs(counts["green"] - 80) <= 28, counts
    # A deployment that has traffic cannot be deleted; at 0 it can.
    assert server.cli("online-deployment", "delete", "--name", "green", "--endpoint-name", "tiny-ep").returncode != 0
    server.cli("online-endpoint", "update", "--name", "tiny-ep", "--traffic", "blue=100 green=0", check=True)
    server.cli("online-deployment", "delete", "--name", "green", "--endpoint-name", "tiny-ep", check=True)
    assert score(base, key, deployment="green")[0] == 404


def test_a_crashed_model_server_is_restarted(server, endpoint):
    base, expected = endpoint
    key = keys(server, "tiny-ep")["primaryKey"]
    victim = deployment(server, "tiny-ep", "blue")["replicas"][0]
    os.kill(victim["pid"], signal.SIGKILL)

    def recovered():
        r = deployment(server, "tiny-ep", "blue")["replicas"][0]
        return r if r["restarts"] == 1 and r["state"] == "Ready" else None

    r = wait_until(recovered, "the killed replica to come back", polls=1200)
    assert r["pid"] != victim["pid"] and r["last_exit"] == "was killed by signal 9"
    status, body, _ = score(base, key)
    assert status == 200 and close(body, expected)
    logs = server.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "tiny-ep",
                      "--lines", "50", check=True).stdout
    assert f"replica 0 (pid {victim['pid']}) was killed by signal 9" in logs
    assert "restarting in" in logs
    # The deployment stayed Succeeded throughout.
    assert deployment(server, "tiny-ep", "blue")["provisioning_state"] == "Succeeded"


def test_a_model_that_fails_to_load_fails_the_deployment_with_its_error(server, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.pt").write_bytes(b"this is not a TorchScript archive")
    server.cli("model", "create", "--name", "broken", "--path", str(broken), "--framework", "PyTorch", check=True)
    server.cli("online-endpoint", "create", "--name", "broken-ep", check=True)
    p = deploy(server, tmp_path, "broken-ep", "blue", model="broken:1", check=False)
    assert p.returncode != 0
    assert "failed" in p.stderr and "model.pt" in p.stderr
    d = deployment(server, "broken-ep", "blue")
    assert d["provisioning_state"] == "Failed"
    assert "before it was ready" in d["error"]
    logs = server.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "broken-ep",
                      check=True).stdout
    assert "model.pt" in logs and "state Failed" in logs
    # Nothing is left running for it.
    assert all(r["pid"] == 0 for r in d["replicas"])


def test_bad_deployment_input_is_refused_with_the_reason(server, tmp_path, tiny_model):
    model, _ = tiny_model
    server.cli("model", "create", "--name", "tiny", "--path", str(model), "--framework", "PyTorch", check=True)
    server.cli("model", "create", "--name", "tfm", "--path", str(model), "--framework", "TensorFlow", check=True)
    server.cli("model", "create", "--name", "skm", "--path", str(model), "--framework", "ScikitLearn", check=True)
    server.cli("online-endpoint", "create", "--name", "bad-ep", check=True)
    p = deploy(server, tmp_path, "bad-ep", "blue", model="azureml:nosuch:1", check=False)
    assert p.returncode == 3 and "nosuch" in p.stderr
    p = deploy(server, tmp_path, "bad-ep", "blue", model="tfm:1", check=False)
    assert p.returncode == 2 and "saved_model.pb" in p.stderr
    p = deploy(server, tmp_path, "bad-ep", "blue", model="skm:1", check=False)
    assert p.returncode == 2 and "scoring script" in p.stderr
    p = deploy(server, tmp_path, "bad-ep", "blue", count="lots", check=False)
    assert p.returncode == 2 and "instance_count" in p.stderr
    p = deploy(server, tmp_path, "ghost-ep", "blue", check=False)
    assert p.returncode == 3 and "ghost-ep" in p.stderr
    assert server.request("GET", "/api/v1/endpoints/bad-ep/deployments")[1]["deployments"] == []
    # Scoring an endpoint that routes nowhere: 503 naming why.
    k = keys(server, "bad-ep")["primaryKey"]
    status, body, _ = score(server.url + "/endpoints/bad-ep", k)
    assert status == 503 and "no traffic" in body["error"]["message"]


def test_endpoints_come_back_after_a_server_restart(tmp_path, tiny_model):
    model, expected = tiny_model
    s = Server(tmp_path / "ws").start()
    try:
        s.cli("model", "create", "--name", "tiny", "--path", str(model), "--framework", "PyTorch", check=True)
        s.cli("online-endpoint", "create", "--name", "tiny-ep", check=True)
        deploy(s, tmp_path, "tiny-ep", "blue", count=1)
        k = keys(s, "tiny-ep")
        before = deployment(s, "tiny-ep", "blue")["replicas"][0]["pid"]

        # A kill -9 of the server takes its model servers with it ...
        s.kill9()
        wait_until(lambda: not os.path.exists(f"/proc/{before}") or
                   open(f"/proc/{before}/stat").read().split()[2] == "Z", "the old model server to exit")
        # ... and the next start (same port, from config.json) brings the endpoint back.
        s.start()
        d = wait_until(lambda: (lambda d: d if d["replicas"] and d["replicas"][0]["state"] == "Ready" else None)(
            deployment(s, "tiny-ep", "blue")), "the deployment to come back", polls=1200)
        assert d["provisioning_state"] == "Succeeded"
        assert keys(s, "tiny-ep") == k
        status, body, _ = score(s.url + "/endpoints/tiny-ep", k["primaryKey"])
        assert status == 200 and close(body, expected)

        # A clean stop too; and delete removes everything.
        s.stop()
        s.start()
        wait_until(lambda: (lambda r: r and r[0]["state"] == "Ready")(deployment(s, "tiny-ep", "blue")["replicas"]),
                   "the deployment to come back again", polls=1200)
        pid = deployment(s, "tiny-ep", "blue")["replicas"][0]["pid"]
        s.cli("online-endpoint", "delete", "--name", "tiny-ep", check=True)
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
        assert s.request("GET", "/api/v1/endpoints/tiny-ep")[0] == 404
        assert not (tmp_path / "ws" / "deployments" / "tiny-ep").exists()
    finally:
        s.stop()


SCORE_PY = '''
import json, os

def init():
    global labels
    # AZUREML_MODEL_DIR holds the registered model's files (its folder name kept, as in Azure).
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "labels", "labels.json")) as f:
        labels = json.load(f)
    print("init: loaded", len(labels), "labels", flush=True)

def run(raw_data):
    data = json.loads(raw_data)
    if data.get("crash"):
        os._exit(3)
    return {"labels": [labels[i] for i in data["data"]], "pid": os.getpid()}
'''


def test_a_code_deployment_runs_the_entry_script(server, tmp_path):
    model = tmp_path / "labels"
    model.mkdir()
    (model / "labels.json").write_text(json.dumps(["cat", "dog", "bird"]))
    code = tmp_path / "score"
    code.mkdir()
    (code / "score.py").write_text(SCORE_PY)
    server.cli("online-endpoint", "create", "--name", "code-ep", check=True)
    yml = tmp_path / "code.yml"
    yml.write_text("name: blue\nendpoint_name: code-ep\n"
                   "model: {path: ./labels, name: labels, framework: Custom}\n"
                   "code_configuration: {code: ./score, scoring_script: score.py}\n"
                   "environment: azureml:Gantry-PyTorch-Debian@latest\n"
                   "instance_count: 1\n"
                   "request_settings: {max_concurrent_requests_per_instance: 2}\n")
    out = server.cli("online-deployment", "create", "--file", str(yml), "--all-traffic", check=True).stdout
    assert "Registered model labels version 1" in out and "backend python" in out
    key = keys(server, "code-ep")["primaryKey"]
    base = server.url + "/endpoints/code-ep"
    status, body, dep = score(base, key, body={"data": [2, 0]})
    assert status == 200 and body["labels"] == ["bird", "cat"] and dep == "blue"
    # A worker that dies mid-request: a 500 naming the exit, then the next request is served.
    status, body, _ = score(base, key, body={"crash": True})
    assert status == 500 and "exit" in json.dumps(body)
    status, body, _ = score(base, key, body={"data": [1]})
    assert status == 200 and body["labels"] == ["dog"]
    logs = server.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "code-ep",
                      check=True).stdout
    assert "init: loaded 3 labels" in logs
    shown = json.loads(server.cli("online-deployment", "show", "--name", "blue", "--endpoint-name", "code-ep",
                                  check=True).stdout)
    assert shown["backend"] == "python" and shown["environment"].startswith("Gantry-PyTorch-Debian:")


def test_an_update_is_rolled_and_a_failed_one_leaves_the_old_model_serving(server, endpoint, tmp_path):
    base, expected = endpoint
    key = keys(server, "tiny-ep")["primaryKey"]
    old_pids = sorted(r["pid"] for r in deployment(server, "tiny-ep", "blue")["replicas"])
    # An update to a model that cannot load: the deployment says Failed with the loader's
    # error, and the generation that was serving goes on answering.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.pt").write_bytes(b"this is not a TorchScript archive")
    server.cli("model", "create", "--name", "broken", "--path", str(broken), "--framework", "PyTorch", check=True)
    yml = tmp_path / "blue-broken.yml"
    yml.write_text("name: blue\nendpoint_name: tiny-ep\nmodel: azureml:broken:1\ninstance_count: 2\n")
    p = server.cli("online-deployment", "update", "--file", str(yml))
    assert p.returncode != 0 and "model.pt" in p.stderr, p.stderr
    assert deployment(server, "tiny-ep", "blue")["provisioning_state"] == "Failed"
    for _ in range(4):
        status, body, dep = score(base, key)
        assert status == 200 and dep == "blue" and close(body, expected), body
    assert all(alive(pid) for pid in old_pids)
    # A good update completes, and only then is the old generation stopped.
    model2 = tmp_path / "tiny2"
    model2.mkdir()
    expected2 = json.loads(subprocess.run(["/usr/bin/python3", str(tmp_path / "make_model.py"), str(model2)],
                                          check=True, capture_output=True, text=True).stdout)
    server.cli("model", "create", "--name", "tiny", "--path", str(model2), "--framework", "PyTorch", check=True)
    yml.write_text("name: blue\nendpoint_name: tiny-ep\nmodel: azureml:tiny:2\ninstance_count: 2\n")
    server.cli("online-deployment", "update", "--file", str(yml), check=True)
    d = deployment(server, "tiny-ep", "blue")
    assert d["provisioning_state"] == "Succeeded"
    new_pids = sorted(r["pid"] for r in d["replicas"])
    assert not set(new_pids) & set(old_pids)
    status, body, _ = score(base, key)
    assert status == 200 and close(body, expected2), body
    wait_until(lambda: not any(alive(pid) for pid in old_pids), "the old generation's model servers gone")
    logs = server.cli("online-deployment", "get-logs", "--name", "blue", "--endpoint-name", "tiny-ep",
                      check=True).stdout
    assert "keep serving until the new ones are ready" in logs, logs
