"""`gantry serve --backend tensorflow`: SavedModels that the test builds with the real
TensorFlow of the test venv (scripts/install-test-venv.sh), served in process through
TensorFlow's C API, through every protocol (Open Inference v2, also with the real
tritonclient; TensorFlow Serving REST; /score), with dynamic batching, with each protocol's
errors, the load failures, and a no-code deployment of a model registered as TensorFlow.

Nothing here skips: without the venv these tests fail, saying how to make it."""
import json
import signal
import struct
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from conftest import GANTRY, python_of_test_venv

BUILD_MODELS = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf

out = sys.argv[1]
expected = {}

class Basic(tf.Module):
    def __init__(self):
        self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        return {"y": tf.matmul(x, self.w)}
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def classify(self, x):
        return {"cls": tf.argmax(tf.matmul(x, self.w), axis=1)}
basic = Basic()
tf.saved_model.save(basic, out + "/basic", signatures={"serving_default": basic.serve,
                                                       "classify": basic.classify})
x = np.array([[1, 2, 3], [0.5, 0, -1]], np.float32)
expected["basic"] = {"x": x.tolist(), "y": basic.serve(x)["y"].numpy().tolist(),
                     "cls": basic.classify(x)["cls"].numpy().tolist()}

class Multi(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32, name="a"),
                                  tf.TensorSpec([None], tf.int64, name="b")])
    def serve(self, a, b):
        return {"total": tf.reduce_sum(a, axis=1) + tf.cast(b, tf.float32), "twice": a * 2.0}
multi = Multi()
tf.saved_model.save(multi, out + "/multi", signatures={"serving_default": multi.serve})
a = np.array([[1, 2], [3, 4]], np.float32)
b = np.array([10, 20], np.int64)
r = multi.serve(a, b)
expected["multi"] = {"a": a.tolist(), "b": b.tolist(), "total": r["total"].numpy().tolist(),
                     "twice": r["twice"].numpy().tolist()}

# One input of rows, two outputs of different types: the shape of the walkthrough's MNIST
# SavedModel (classes and logits).
class Classifier(tf.Module):
    def __init__(self):
        self.w = tf.Variable([[1.0, -1.0], [0.5, 2.0], [-3.0, 0.25]])
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serve(self, x):
        logits = tf.matmul(x, self.w) / 3.0
        return {"classes": tf.argmax(logits, axis=1), "logits": logits}
classifier = Classifier()
tf.saved_model.save(classifier, out + "/classifier", signatures={"serving_default": classifier.serve})
r = classifier.serve(x)
expected["classifier"] = {"x": x.tolist(), "classes": r["classes"].numpy().tolist(),
                          "logits": r["logits"].numpy().tolist()}

class AnyShape(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    def serve(self, x):
        return {"doubled": x * 2.0}
any_shape = AnyShape()
tf.saved_model.save(any_shape, out + "/any_shape", signatures={"serving_default": any_shape.serve})

import keras
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,), name="pixels"), keras.layers.Dense(3, activation="softmax")])
model.export(out + "/keras", verbose=False)
k = np.array([[0.1, 0.2, 0.3, 0.4]], np.float32)
expected["keras"] = {"x": k.tolist(), "y": model.predict(k, verbose=0).tolist()}
print(json.dumps(expected))
'''

# Keras 2 (tf-keras with TF_USE_LEGACY_KERAS=1, what 2020-era scripts such as the seed's use)
# saved with tf.saved_model.save: the signature Keras writes itself.
BUILD_LEGACY_KERAS = r'''
import json, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import numpy as np
import tensorflow as tf
tf.random.set_seed(0)
model = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="relu", input_shape=(6,)),
                             tf.keras.layers.Dense(3, activation="softmax")])
tf.saved_model.save(model, sys.argv[1] + "/legacy_keras")
x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 6)
print(json.dumps({"x": x.tolist(), "y": model.predict(x, verbose=0).tolist()}))
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf_models")
    expected = {}
    for script in (BUILD_MODELS, BUILD_LEGACY_KERAS):
        p = subprocess.run([str(python_of_test_venv()), "-c", script, str(root)], capture_output=True,
                           text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        built = json.loads(p.stdout.strip().splitlines()[-1])
        expected.update(built if script is BUILD_MODELS else {"legacy_keras": built})
    return root, expected


class Served:
    def __init__(self, model_dir, *args):
        self.proc = subprocess.Popen(
            [GANTRY, "serve", "--backend", "tensorflow", "--model", str(model_dir), "--port", "0",
             "--python", str(python_of_test_venv()), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert "Serving model" in line, line + self.proc.stderr.read()
        self.url = line.strip().split()[-1]
        # Drain stderr (TensorFlow's log) so that a full pipe never blocks the server.
        self.log = []
        self.reader = threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True)
        self.reader.start()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0


@pytest.fixture(scope="module", params=[[], ["--max-batch-size", "8"]], ids=["unbatched", "batched"])
def basic(models, request):
    root, expected = models
    s = Served(root / "basic", *request.param)
    yield s.url, expected["basic"]
    s.stop()


def call(url, method="GET", body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            return r.status, (json.loads(text) if r.headers.get_content_type() == "application/json" else text.decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def close(a, b, tol=1e-5):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return abs(a - b) <= tol


def flat(rows):
    return [v for row in rows for v in row]


def test_open_inference_v2_uses_the_signature(basic):
    url, ex = basic
    assert call(url + "/v2/health/ready")[0] == 200
    assert call(url + "/v2/models/basic/ready")[0] == 200
    status, meta = call(url + "/v2/models/basic")
    assert status == 200 and meta["platform"] == "tensorflow_savedmodel"
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}]
    assert meta["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [-1, 2]}]
    status, out = call(url + "/v2/models/basic/versions/1/infer", "POST", {
        "id": "r1", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": ex["x"]}],
        "outputs": [{"name": "y"}]})
    assert status == 200 and out["id"] == "r1", out
    assert out["outputs"][0]["name"] == "y" and out["outputs"][0]["shape"] == [2, 2]
    assert close(out["outputs"][0]["data"], flat(ex["y"]))
    for body, needles in [
        ({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]},
         ["input 'x'", "[1, 4]", "[-1, 3]"]),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "INT64", "data": [1, 2, 3]}]},
         ["input 'x'", "INT64", "FP32"]),
        ({"inputs": [{"name": "pixels", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]},
         ["no input 'pixels'", "'x'"]),
        ({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}],
          "outputs": [{"name": "logits"}]}, ["no output 'logits'"]),
    ]:
        status, err = call(url + "/v2/models/basic/infer", "POST", body)
        assert status == 400 and all(n in err["error"] for n in needles), err
    assert call(url + "/v2/models/other/infer", "POST", {"inputs": []})[0] == 404


TRITON_CLIENT = r'''
import json, sys
import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException
client = httpclient.InferenceServerClient(url=sys.argv[1])
result = {"live": client.is_server_live(), "ready": client.is_model_ready("basic"),
          "metadata": client.get_model_metadata("basic")}
x = np.array(json.loads(sys.argv[2]), dtype=np.float32)
inp = httpclient.InferInput("x", list(x.shape), "FP32")
inp.set_data_from_numpy(x, binary_data=False)
answer = client.infer("basic", [inp], outputs=[httpclient.InferRequestedOutput("y", binary_data=False)])
result["y"] = answer.as_numpy("y").tolist()
# tritonclient's defaults: inputs and outputs as raw bytes (the binary tensor data extension).
raw = httpclient.InferInput("x", list(x.shape), "FP32")
raw.set_data_from_numpy(x)
answer = client.infer("basic", [raw], request_id="r7")
result["binary_y"] = answer.as_numpy("y").tolist()
result["binary_id"] = answer.get_response()["id"]
answer = client.infer("basic", [raw], outputs=[httpclient.InferRequestedOutput("y")])
result["binary_y_asked"] = answer.as_numpy("y").tolist()
bad = httpclient.InferInput("x", [1, 2], "FP32")
bad.set_data_from_numpy(np.zeros((1, 2), np.float32), binary_data=False)
try:
    client.infer("basic", [bad])
    result["error"] = None
except InferenceServerException as e:
    result["error"] = str(e)
print(json.dumps(result))
'''


def test_tritonclient_drives_open_inference_v2(basic):
    url, ex = basic
    p = subprocess.run([str(python_of_test_venv()), "-c", TRITON_CLIENT, url.removeprefix("http://"),
                        json.dumps(ex["x"])], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["live"] and r["ready"]
    assert r["metadata"]["inputs"][0]["name"] == "x" and r["metadata"]["outputs"][0]["name"] == "y"
    assert close(r["y"], ex["y"])
    assert close(r["binary_y"], ex["y"]) and r["binary_id"] == "r7"
    assert close(r["binary_y_asked"], ex["y"])
    assert r["error"] and "[1, 2]" in r["error"] and "[-1, 3]" in r["error"]


def test_binary_tensor_data_refusals(basic):
    url, _ = basic

    def post(header, body, length):
        req = urllib.request.Request(url + "/v2/models/basic/infer", data=header + body, method="POST",
                                     headers={"Inference-Header-Content-Length": str(length)})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.headers.get("Inference-Header-Content-Length"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, None, json.loads(e.read())

    def header(size, binary_output=True):
        h = {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32",
                         "parameters": {"binary_data_size": size}}]}
        if binary_output:
            h["parameters"] = {"binary_data_output": True}
        return json.dumps(h).encode()

    import struct
    values = struct.pack("<3f", 1, 2, 3)
    status, length, body = post(header(12), values, len(header(12)))
    assert status == 200 and length is not None, body
    y = struct.unpack("<2f", body[int(length):])
    assert y == (22.0, 28.0)
    for head, tail, length, needle in [
        (header(12), values, 10_000, "Inference-Header-Content-Length"),
        (header(16), values, len(header(16)), "binary_data_size"),
        (header(8), values[:8], len(header(8)), "shape holds 3 values but 'data' has 2"),
        (header(12), values + b"\0" * 4, len(header(12)), "4 bytes of binary data"),
        (header(10), values[:10], len(header(10)), "10 bytes are not a whole number of FP32"),
    ]:
        status, _, err = post(head, tail, length)
        assert status == 400 and needle in err["error"], err


def test_tensorflow_serving_rest(basic):
    url, ex = basic
    status, state = call(url + "/v1/models/basic")
    assert status == 200 and state["model_version_status"][0]["state"] == "AVAILABLE"
    status, meta = call(url + "/v1/models/basic/versions/1/metadata")
    assert status == 200 and meta["model_spec"]["name"] == "basic"
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["method_name"] == "tensorflow/serving/predict"
    assert sig["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in sig["inputs"]["x"]["tensor_shape"]["dim"]] == ["-1", "3"]
    assert sig["outputs"]["y"]["dtype"] == "DT_FLOAT"
    # Row format, plain and with the signature named; one instance without its batch.
    for body in [{"instances": ex["x"]}, {"instances": ex["x"], "signature_name": "serving_default"},
                 {"instances": [{"x": row} for row in ex["x"]]}]:
        status, out = call(url + "/v1/models/basic:predict", "POST", body)
        assert status == 200 and close(out["predictions"], ex["y"]), (body, out)
    status, out = call(url + "/v1/models/basic/versions/1:predict", "POST", {"instances": ex["x"][0]})
    assert status == 200 and close(out["predictions"], ex["y"][:1])
    # Columnar format.
    for body in [{"inputs": ex["x"]}, {"inputs": {"x": ex["x"]}}]:
        status, out = call(url + "/v1/models/basic:predict", "POST", body)
        assert status == 200 and close(out["outputs"], ex["y"]), out
    for body, needles in [
        ({"instances": ex["x"], "signature_name": "classify"}, ["no signature 'classify'", "serving_default"]),
        ({"instances": [[1, 2]]}, ["input 'x'", "[1, 2]", "[-1, 3]"]),
        ({"inputs": {"z": ex["x"]}}, ["no input 'z'"]),
        ({"instances": ex["x"], "inputs": ex["x"]}, ["exactly one of"]),
        ({"instances": [[1, 2, 3], [4, 5]]}, ["different lengths"]),
    ]:
        status, err = call(url + "/v1/models/basic:predict", "POST", body)
        assert status == 400 and all(n in err["error"] for n in needles), (body, err)
    status, err = call(url + "/v1/models/nope:predict", "POST", {"instances": ex["x"]})
    assert status == 404 and "Servable not found" in err["error"]


def test_score(basic):
    url, ex = basic
    for body in [{"data": ex["x"]}, ex["x"]]:
        status, out = call(url + "/score", "POST", body)
        assert status == 200 and close(out, ex["y"]), out
    status, err = call(url + "/score", "POST", {"data": [[1, 2, 3, 4]]})
    assert status == 400 and "[1, 4]" in err["error"]


def test_concurrent_requests_each_get_their_own_answer(basic):
    url, ex = basic
    rows = [[float(i), 1.0, -float(i)] for i in range(16)]
    answers = [None] * len(rows)
    start = threading.Barrier(len(rows))

    def one(i):
        start.wait()
        answers[i] = call(url + "/v1/models/basic:predict", "POST", {"instances": [rows[i]]})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(rows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for row, (status, out) in zip(rows, answers):
        want = [row[0] * 1 + row[1] * 3 + row[2] * 5, row[0] * 2 + row[1] * 4 + row[2] * 6]
        assert status == 200 and close(out["predictions"], [want]), out
    metrics = call(url + "/metrics")[1]
    if "batches_total" in metrics:  # the batched server counts what went through batches
        batched = [ln for ln in metrics.splitlines() if ln.startswith("gantry_serve_batched_requests_total")]
        assert int(batched[0].split()[-1]) >= len(rows)


def test_another_signature_with_integer_outputs(models):
    root, expected = models
    ex = expected["basic"]
    s = Served(root / "basic", "--signature", "classify")
    try:
        status, meta = call(s.url + "/v2/models/basic")
        assert meta["outputs"] == [{"name": "cls", "datatype": "INT64", "shape": [-1]}]
        status, out = call(s.url + "/v2/models/basic/infer", "POST", {
            "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": ex["x"]}]})
        assert status == 200 and out["outputs"][0]["data"] == ex["cls"], out
        assert out["outputs"][0]["datatype"] == "INT64"
        status, out = call(s.url + "/v1/models/basic:predict", "POST",
                           {"instances": ex["x"], "signature_name": "classify"})
        assert status == 200 and out == {"predictions": ex["cls"]}, out
        status, err = call(s.url + "/v1/models/basic:predict", "POST",
                           {"instances": ex["x"], "signature_name": "serving_default"})
        assert status == 400 and "'serving_default'" in err["error"] and "'classify'" in err["error"]
        assert call(s.url + "/score", "POST", {"data": ex["x"]}) == (200, ex["cls"])
    finally:
        s.stop()


def test_several_inputs_and_outputs(models):
    root, expected = models
    ex = expected["multi"]
    s = Served(root / "multi", "--max-batch-size", "4")
    try:
        status, meta = call(s.url + "/v2/models/multi")
        assert [(i["name"], i["datatype"], i["shape"]) for i in meta["inputs"]] == [
            ("a", "FP32", [-1, 2]), ("b", "INT64", [-1])]
        assert [o["name"] for o in meta["outputs"]] == ["total", "twice"]
        status, out = call(s.url + "/v2/models/multi/infer", "POST", {"inputs": [
            {"name": "b", "shape": [2], "datatype": "INT64", "data": ex["b"]},
            {"name": "a", "shape": [2, 2], "datatype": "FP32", "data": ex["a"]}]})
        assert status == 200, out
        by_name = {o["name"]: o for o in out["outputs"]}
        assert close(by_name["total"]["data"], ex["total"]) and by_name["twice"]["shape"] == [2, 2]
        # TF Serving rows of named inputs give rows of named outputs; columnar, one column each.
        status, out = call(s.url + "/v1/models/multi:predict", "POST", {
            "instances": [{"a": a, "b": b} for a, b in zip(ex["a"], ex["b"])]})
        assert status == 200, out
        assert [p["total"] for p in out["predictions"]] == ex["total"]
        assert [p["twice"] for p in out["predictions"]] == ex["twice"]
        status, out = call(s.url + "/v1/models/multi:predict", "POST", {"inputs": {"a": ex["a"], "b": ex["b"]}})
        assert status == 200 and out["outputs"] == {"total": ex["total"], "twice": ex["twice"]}, out
        status, out = call(s.url + "/score", "POST", {"data": {"a": ex["a"], "b": ex["b"]}})
        assert status == 200 and out == {"total": ex["total"], "twice": ex["twice"]}, out
        for url, body, needle in [
            ("/v1/models/multi:predict", {"inputs": {"a": ex["a"], "b": [1.5, 2]}}, "input 'b' holds 1.5"),
            ("/v1/models/multi:predict", {"inputs": {"a": ex["a"], "b": [1e30, 2]}}, "not a value of its integer type"),
        ]:
            status, err = call(s.url + url, "POST", body)
            assert status == 400 and needle in err["error"], err
        for url, body in [
            ("/v1/models/multi:predict", {"inputs": {"a": ex["a"]}}),
            ("/v2/models/multi/infer", {"inputs": [{"name": "a", "shape": [2, 2], "datatype": "FP32",
                                                    "data": ex["a"]}]}),
        ]:
            status, err = call(s.url + url, "POST", body)
            assert status == 400 and "needs input 'b'" in err["error"], err
    finally:
        s.stop()


def as_f32(v):
    """Every float of a JSON answer rounded to float32: the answers written straight from the
    outputs give a float32's shortest digits, the general ones its double's; both are the
    same float32."""
    if isinstance(v, dict):
        return {k: as_f32(x) for k, x in v.items()}
    if isinstance(v, list):
        return [as_f32(x) for x in v]
    if isinstance(v, float):
        return struct.unpack("f", struct.pack("f", v))[0]
    return v


@pytest.mark.parametrize("args", [[], ["--max-batch-size", "8"]], ids=["unbatched", "batched"])
def test_the_common_requests_of_a_two_output_model_answer_as_the_general_ones(models, args):
    """The MNIST shape (rows in; classes and logits out) in every protocol: the common request
    (read and answered on the fast path) gives the document the general path gives for the
    same rows asked another way (an explicit signature, a named input, an output selection)."""
    root, expected = models
    ex = expected["classifier"]
    s = Served(root / "classifier", *args)
    try:
        rows = [{"classes": c, "logits": lg} for c, lg in zip(ex["classes"], ex["logits"])]
        status, fast = call(s.url + "/v1/models/classifier:predict", "POST", {"instances": ex["x"]})
        assert status == 200 and [p["classes"] for p in fast["predictions"]] == ex["classes"], fast
        assert close([p["logits"] for p in fast["predictions"]], ex["logits"])
        status, general = call(s.url + "/v1/models/classifier:predict", "POST",
                               {"instances": ex["x"], "signature_name": "serving_default"})
        assert status == 200 and as_f32(fast) == as_f32(general) == as_f32({"predictions": rows})

        status, fast = call(s.url + "/score", "POST", {"data": ex["x"]})
        assert status == 200 and fast["classes"] == ex["classes"] and close(fast["logits"], ex["logits"])
        status, general = call(s.url + "/score", "POST", {"data": {"x": ex["x"]}})
        assert status == 200 and as_f32(fast) == as_f32(general)

        request = {"id": "q1", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
                                           "data": flat(ex["x"])}]}
        status, fast = call(s.url + "/v2/models/classifier/infer", "POST", request)
        assert status == 200 and fast["id"] == "q1", fast
        by_name = {o["name"]: o for o in fast["outputs"]}
        assert by_name["classes"] == {"name": "classes", "datatype": "INT64", "shape": [2],
                                      "data": ex["classes"]}
        assert by_name["logits"]["shape"] == [2, 2] and close(by_name["logits"]["data"], flat(ex["logits"]))
        status, general = call(s.url + "/v2/models/classifier/versions/1/infer", "POST",
                               {**request, "outputs": [{"name": "classes"}, {"name": "logits"}]})
        assert status == 200 and as_f32(fast) == as_f32(general)
        # The backend's refusals keep their protocol's shape on the fast path too.
        status, err = call(s.url + "/v2/models/classifier/infer", "POST", {"inputs": [
            {"name": "y", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})
        assert status == 400 and "has no input 'y'" in err["error"], err
        status, err = call(s.url + "/v1/models/classifier:predict", "POST", {"instances": [[1, 2]]})
        assert status == 400 and "[1,2]" in err["error"].replace(" ", ""), err
    finally:
        s.stop()


@pytest.mark.parametrize("name,width", [("keras", 4), ("legacy_keras", 6)])
def test_keras_models(models, name, width):
    root, expected = models
    ex = expected[name]
    s = Served(root / name)
    try:
        status, meta = call(s.url + f"/v2/models/{name}")
        assert status == 200 and len(meta["inputs"]) == 1 and meta["inputs"][0]["shape"] == [-1, width], meta
        status, out = call(s.url + f"/v1/models/{name}:predict", "POST", {"instances": ex["x"]})
        assert status == 200 and close(out["predictions"], ex["y"], 1e-5), out
        status, out = call(s.url + "/score", "POST", {"data": ex["x"]})
        assert status == 200 and close(out, ex["y"], 1e-5), out
    finally:
        s.stop()


def test_a_signature_of_unknown_rank_takes_any_shape_but_no_overflowing_one(models):
    root, _ = models
    s = Served(root / "any_shape")
    try:
        status, meta = call(s.url + "/v2/models/any_shape")
        assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1]}], meta
        status, out = call(s.url + "/v2/models/any_shape/infer", "POST", {"inputs": [
            {"name": "x", "shape": [1, 2, 2], "datatype": "FP32", "data": [1, 2, 3, 4]}]})
        assert status == 200 and out["outputs"][0]["shape"] == [1, 2, 2]
        assert out["outputs"][0]["data"] == [2, 4, 6, 8]
        status, out = call(s.url + "/v1/models/any_shape:predict", "POST", {"inputs": 3})
        assert status == 200 and out == {"outputs": 6.0}, out
        # Dimensions whose product overflows (TensorFlow would abort on them): refused.
        status, err = call(s.url + "/v2/models/any_shape/infer", "POST", {"inputs": [
            {"name": "x", "shape": [4294967296, 4294967296, 0], "datatype": "FP32", "data": []}]})
        assert status == 400 and "does not hold" in err["error"], err
        assert call(s.url + "/v2/health/live")[0] == 200
    finally:
        s.stop()


def serve_fails(tmp_path, model, *args):
    port_file = tmp_path / "port"
    p = subprocess.run([GANTRY, "serve", "--backend", "tensorflow", "--model", str(model), "--port", "0",
                        "--port-file", str(port_file), *args], capture_output=True, text=True, timeout=120)
    assert not port_file.exists()
    return p.returncode, p.stderr


def test_what_cannot_be_served_stops_serve_with_the_reason(models, tmp_path):
    root, _ = models
    python = str(python_of_test_venv())
    code, err = serve_fails(tmp_path, root / "basic", "--python", python, "--signature", "predict")
    assert code == 3 and "no signature 'predict'" in err and "'classify', 'serving_default'" in err, err
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff garbage, not a SavedModel")
    code, err = serve_fails(tmp_path, corrupt, "--python", python)
    assert code == 2 and "cannot load the TensorFlow SavedModel" in err and str(corrupt) in err, err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = serve_fails(tmp_path, empty, "--python", python)
    assert code == 3 and "no TensorFlow SavedModel" in err, err
    # An environment without TensorFlow: Debian's python3 has none.
    code, err = serve_fails(tmp_path, root / "basic", "--python", "/usr/bin/python3")
    assert code == 5 and "TensorFlow is not installed" in err and "/usr/bin/python3" in err, err
    code, err = serve_fails(tmp_path, root / "basic", "--tensorflow-lib", str(empty))
    assert code == 5 and "libtensorflow_cc.so.2" in err, err


def test_no_code_deployment_of_a_tensorflow_model(server, models, tmp_path):
    root, expected = models
    ex = expected["basic"]
    server.cli("model", "create", "--name", "tf-basic", "--path", str(root / "basic"),
               "--framework", "TensorFlow", check=True)
    server.cli("environment", "create", "--name", "tf-env", "--python", str(python_of_test_venv()),
               "--user-managed", check=True)
    server.cli("online-endpoint", "create", "--name", "tf-ep", check=True)
    yml = tmp_path / "blue.yml"
    yml.write_text("name: blue\nendpoint_name: tf-ep\nmodel: azureml:tf-basic:1\n"
                   "environment: azureml:tf-env:1\ninstance_count: 1\n")
    p = server.cli("online-deployment", "create", "--file", str(yml), "--all-traffic")
    assert p.returncode == 0 and "Succeeded" in p.stdout, p.stdout + p.stderr
    key = json.loads(server.cli("online-endpoint", "get-credentials", "--name", "tf-ep",
                                check=True).stdout)["primaryKey"]
    base = server.request("GET", "/api/v1/endpoints/tf-ep")[1]["scoring_uri"].rsplit("/score", 1)[0]

    def scored(path, body):
        req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + key,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    assert close(scored("/score", {"data": ex["x"]}), ex["y"])
    assert close(scored("/v1/models/tf-basic:predict", {"instances": ex["x"]})["predictions"], ex["y"])
    v2 = scored("/v2/models/tf-basic/infer", {"inputs": [{"name": "x", "shape": [2, 3],
                                                          "datatype": "FP32", "data": ex["x"]}]})
    assert close(v2["outputs"][0]["data"], flat(ex["y"]))
    # The binary tensor data extension goes through the endpoint too (its length header is
    # forwarded both ways).
    import struct
    head = json.dumps({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
                                   "parameters": {"binary_data_size": 24}}],
                       "parameters": {"binary_data_output": True}}).encode()
    req = urllib.request.Request(base + "/v2/models/tf-basic/infer", method="POST",
                                 data=head + struct.pack("<6f", *flat(ex["x"])),
                                 headers={"Authorization": "Bearer " + key,
                                          "Inference-Header-Content-Length": str(len(head))})
    with urllib.request.urlopen(req, timeout=60) as r:
        length = int(r.headers["Inference-Header-Content-Length"])
        answer = r.read()
    assert json.loads(answer[:length])["outputs"][0]["parameters"]["binary_data_size"] == 16
    assert close(list(struct.unpack("<4f", answer[length:])), flat(ex["y"]))
    # In an environment without TensorFlow (Debian's python3), the deployment fails, saying so.
    yml.write_text("name: green\nendpoint_name: tf-ep\nmodel: azureml:tf-basic:1\n"
                   "environment: azureml:Gantry-Python3@latest\ninstance_count: 1\n")
    p = server.cli("online-deployment", "create", "--file", str(yml))
    assert p.returncode != 0 and "TensorFlow is not installed" in p.stderr, p.stderr
    status, d = server.request("GET", "/api/v1/endpoints/tf-ep/deployments/green")
    assert d["provisioning_state"] == "Failed" and "TensorFlow is not installed" in d["error"]
    logs = server.cli("online-deployment", "get-logs", "--name", "green", "--endpoint-name", "tf-ep",
                      check=True).stdout
    assert "TensorFlow is not installed" in logs and "state Failed" in logs
