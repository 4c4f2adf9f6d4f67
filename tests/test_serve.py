"""`gantry serve --model DIR` (step 3, first part): the same TorchScript model through the
Open Inference Protocol v2, TensorFlow Serving REST and Azure-style /score, with each
protocol's error shape."""
import json
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import GANTRY

MAKE_MODEL = r'''
import json, sys, torch
torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)
    def forward(self, x):
        return self.fc(x)
net = Net().eval()
out = sys.argv[1]
torch.jit.script(net).save(out + "/model.pt")
json.dump({"inputs": [{"name": "input", "shape": [-1, 4]}], "outputs": [{"name": "logits", "shape": [-1, 3]}]},
          open(out + "/model.json", "w"))
x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0]])
print(json.dumps(net(x).tolist()))
'''


@pytest.fixture(params=[[], ["--max-batch-size", "8", "--max-queue-delay-us", "2000"]],
                ids=["unbatched", "batched"])
def served(tmp_path, request):
    model = tmp_path / "tiny"
    model.mkdir()
    script = tmp_path / "make_model.py"  # TorchScript reads the source, so not `-c`
    script.write_text(MAKE_MODEL)
    expected = json.loads(subprocess.run(["/usr/bin/python3", str(script), str(model)], check=True,
                                         capture_output=True, text=True).stdout)
    proc = subprocess.Popen([GANTRY, "serve", "--model", str(model), "--port", "0", *request.param],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "Serving model 'tiny'" in line, line + proc.stderr.read()
    url = line.strip().split()[-1]
    yield url, expected
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def call(url, method="GET", body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, (json.loads(text) if r.headers.get_content_type() == "application/json" else text.decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def close(a, b):
    return all(abs(x - y) < 1e-5 for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def test_open_inference_protocol_v2(served):
    url, expected = served
    assert call(url + "/v2/health/live")[0] == 200
    assert call(url + "/v2/health/ready")[0] == 200
    assert call(url + "/v2/models/tiny/ready")[0] == 200
    status, meta = call(url + "/v2/models/tiny")
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"][0]["name"] == "logits" and meta["platform"] == "pytorch_torchscript"
    # A single-input model accepts its input under any name.
    status, out = call(url + "/v2/models/tiny/versions/1/infer", "POST", {
        "id": "req-1", "inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32",
                                    "data": [1, 2, 3, 4, 0.5, 0, -1, 2]}]})
    assert status == 200 and out["id"] == "req-1" and out["outputs"][0]["shape"] == [2, 3]
    data = out["outputs"][0]["data"]
    assert close([data[:3], data[3:]], expected)
    for body, needle in [
        ({"inputs": [{"name": "x", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}, "[1, 5]"),
        ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]}, "INT64"),
        ({"inputs": [{"name": "x", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}, "8 values"),
    ]:
        status, err = call(url + "/v2/models/tiny/infer", "POST", body)
        assert status == 400 and needle in err["error"], err
    assert call(url + "/v2/models/tiny/infer", "POST", raw=b"{oops")[0] == 400
    assert call(url + "/v2/models/nope/infer", "POST", {"inputs": []})[0] == 404
    assert call(url + "/v2/models/tiny/versions/7")[0] == 404


def test_tensorflow_serving_rest_and_score(served, request):
    url, expected = served
    rows = [[1, 2, 3, 4], [0.5, 0, -1, 2]]
    status, out = call(url + "/v1/models/tiny:predict", "POST", {"instances": rows})
    assert status == 200 and close(out["predictions"], expected)
    status, out = call(url + "/v1/models/tiny/versions/1:predict", "POST", {"inputs": {"input": rows}})
    assert status == 200 and close(out["outputs"], expected)
    status, err = call(url + "/v1/models/tiny:predict", "POST", {"instances": rows, "inputs": rows})
    assert status == 400 and "exactly one" in err["error"]
    status, err = call(url + "/v1/models/other:predict", "POST", {"instances": rows})
    assert status == 404 and "other" in err["error"]
    status, state = call(url + "/v1/models/tiny")
    assert state["model_version_status"][0]["state"] == "AVAILABLE"
    status, out = call(url + "/score", "POST", {"data": rows})
    assert status == 200 and close(out, expected)
    assert call(url + "/")[0] == 200
    status, err = call(url + "/score", "POST", {"data": [[1, 2], [3]]})
    assert status == 400 and "different lengths" in err["error"]
    status, metrics = call(url + "/metrics")
    assert 'gantry_serve_requests_total{model="tiny"}' in metrics
    assert "gantry_serve_latency_seconds_bucket" in metrics
    if request.node.callspec.id == "batched":
        # Batch sizes (requests over batches) and the queue depth, for the batched server.
        batches = int(metrics.split('gantry_serve_batches_total{model="tiny"} ')[1].split()[0])
        batched = int(metrics.split('gantry_serve_batched_requests_total{model="tiny"} ')[1].split()[0])
        assert 0 < batches <= batched
        assert 'gantry_serve_queue_depth{model="tiny"} 0' in metrics
    status, err = call(url + "/score", "POST", raw=b"[" + b"0," * (9 << 20) + b"0]")
    assert status == 413


def test_concurrent_requests_each_get_their_own_answer(served):
    from concurrent.futures import ThreadPoolExecutor
    url, expected = served
    rows = [[1, 2, 3, 4], [0.5, 0, -1, 2]]

    def one(i):
        status, out = call(url + "/v1/models/tiny:predict", "POST", {"instances": [rows[i % 2]]})
        return i, status, out

    with ThreadPoolExecutor(max_workers=8) as pool:
        for i, status, out in pool.map(one, range(32)):
            assert status == 200 and close(out["predictions"], [expected[i % 2]]), (i, out)


def test_a_model_that_fails_to_load_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.pt").write_bytes(b"not a torchscript archive")
    p = subprocess.run([GANTRY, "serve", "--model", str(bad)], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "cannot load TorchScript model" in p.stderr
    p = subprocess.run([GANTRY, "serve", "--model", str(tmp_path / "missing")], capture_output=True, text=True)
    assert p.returncode == 3 and "does not exist" in p.stderr
