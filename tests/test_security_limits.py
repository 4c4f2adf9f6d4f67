"""Step 5: no single request can hurt the server. Bodies nested too deep, numbers out of
range, YAML alias bombs and files that are not UTF-8 are refused with a message naming the
limit or the field, and the server keeps answering."""
import json
import signal
import subprocess

import pytest

from conftest import GANTRY

DEPTH = 100_000
DEEP_ARRAY = ("[" * DEPTH + "]" * DEPTH).encode()
DEEP_OBJECT = ('{"a":' * DEPTH + "1" + "}" * DEPTH).encode()
JSON = {"Content-Type": "application/json"}


def error_message(body):
    err = body["error"]
    return err["message"] if isinstance(err, dict) else err


def test_a_deep_json_body_gets_400_naming_the_limit_and_the_server_keeps_answering(server,
                                                                                   live_run):
    name, token = live_run
    for path, raw, who in [("/api/v1/runs", DEEP_ARRAY, None),
                           ("/api/v1/computes", DEEP_OBJECT, None),
                           (f"/api/v1/runs/{name}/metrics", b'{"metrics":' + DEEP_ARRAY + b"}",
                            token)]:
        status, body = server.request("POST", path, raw=raw, headers=JSON, token=who)
        assert status == 400, (path, body)
        assert body["error"]["code"] == "InvalidArgument"
        assert "JSON nesting deeper than 64 levels" in error_message(body), body
    status, body = server.request("GET", "/api/v1/computes")
    assert status == 200, body


@pytest.mark.parametrize("metric,field", [
    ('{"key": "loss", "value": 1e400}', "metrics[0].value"),
    ('{"key": "loss", "value": 1, "step": 1e400}', "metrics[0].step"),
    ('{"key": "loss", "value": -1e400, "step": 1}', "metrics[0].value"),
])
def test_a_metric_number_out_of_range_gets_400_naming_it(server, live_run, metric, field):
    name, token = live_run
    raw = ('{"metrics": [' + metric + "]}").encode()
    status, body = server.request("POST", f"/api/v1/runs/{name}/metrics", raw=raw, headers=JSON,
                                  token=token)
    assert status == 400, body
    assert "number out of range" in error_message(body) and field in error_message(body), body


def test_a_step_beyond_int64_gets_400_naming_it(server, live_run):
    name, token = live_run
    raw = b'{"metrics": [{"key": "loss", "value": 1, "step": 18446744073709551615}]}'
    status, body = server.request("POST", f"/api/v1/runs/{name}/metrics", raw=raw, headers=JSON,
                                  token=token)
    assert status == 400, body
    assert "'step'" in error_message(body), body


@pytest.mark.parametrize("raw,field", [
    (b'{"name": "c1", "max_nodes": 1e400}', "max_nodes"),
    (b'{"name": "c1", "max_nodes": 100000000000000000000}', "'max_nodes' is out of range"),
    (b'{"name": "c1", "min_nodes": 9223372036854775808}', "'min_nodes' is out of range"),
])
def test_other_numeric_fields_out_of_range_get_400_naming_them(server, raw, field):
    status, body = server.request("POST", "/api/v1/computes", raw=raw, headers=JSON)
    assert status == 400, body
    assert field in error_message(body), body


def test_instance_count_beyond_int64_gets_400(server):
    status, body = server.request("PUT", "/api/v1/endpoints/e1/deployments/blue",
                                  raw=b'{"model": "m:1", "instance_count": 18446744073709551615}',
                                  headers=JSON)
    assert status == 400, body
    assert "'instance_count' is out of range" in error_message(body), body


def test_a_query_parameter_beyond_int64_gets_400_naming_it(server, live_run):
    name, token = live_run
    status, body = server.request("POST",
                                  f"/api/v1/runs/{name}/metrics?through=99999999999999999999",
                                  raw=b'{"metrics": []}', headers=JSON, token=token)
    assert status == 400, body
    assert "'through'" in error_message(body), body


# --- gantry serve --------------------------------------------------------------------------

@pytest.fixture
def served_model(tmp_path):
    from test_serve import MAKE_MODEL
    model = tmp_path / "tiny"
    model.mkdir()
    script = tmp_path / "make_model.py"
    script.write_text(MAKE_MODEL)
    subprocess.run(["/usr/bin/python3", str(script), str(model)], check=True, capture_output=True)
    proc = subprocess.Popen([GANTRY, "serve", "--model", str(model), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "Serving model 'tiny'" in line, line + proc.stderr.read()
    yield line.strip().split()[-1]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def call(url, method="GET", raw=None):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=raw, method=method, headers=JSON)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("path,raw", [
    ("/v2/models/tiny/infer", DEEP_ARRAY),
    ("/v2/models/tiny/infer", b'{"inputs": [{"name": "x", "shape": [1], "data": ' + DEEP_ARRAY + b"}]}"),
    ("/score", DEEP_ARRAY),
    ("/score", b'{"data": ' + DEEP_ARRAY + b"}"),
    ("/v1/models/tiny:predict", b'{"instances": ' + DEEP_ARRAY + b"}"),
], ids=["v2-bare", "v2-inputs", "score-bare", "score-data", "tfserving"])
def test_serve_refuses_a_deep_json_body_and_keeps_serving(served_model, path, raw):
    status, body = call(served_model + path, "POST", raw)
    assert status == 400, body
    assert "JSON nesting deeper than 64 levels" in json.dumps(body), body
    status, _ = call(served_model + "/score", "POST", b"[[1, 2, 3, 4]]")
    assert status == 200


# --- CLI: job files -------------------------------------------------------------------------

def alias_bomb():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "command: echo hi\n" + "\n".join(lines) + "\n"


def test_job_create_refuses_an_alias_bomb_with_exit_2(server, tmp_path):
    yml = tmp_path / "bomb.yml"
    yml.write_text(alias_bomb())
    assert yml.stat().st_size < 1024
    p = server.cli("job", "create", "--file", str(yml), timeout=60)
    assert p.returncode == 2, p.stderr
    assert "more than 100000 nodes" in p.stderr and "bomb.yml" in p.stderr, p.stderr


def test_job_create_refuses_a_file_that_is_not_utf8_naming_file_and_offset(server, tmp_path):
    yml = tmp_path / "utf16.yml"
    yml.write_bytes("command: echo hi\n".encode("utf-16"))  # starts with 0xff 0xfe
    p = server.cli("job", "create", "--file", str(yml), timeout=60)
    assert p.returncode == 2, p.stderr
    assert "utf16.yml: not UTF-8: byte 0xff at offset 0" in p.stderr, p.stderr
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes(b"command: echo caf\xe9\n")
    p = server.cli("job", "create", "--file", str(latin1), timeout=60)
    assert p.returncode == 2, p.stderr
    assert "latin1.yml: not UTF-8: byte 0xe9 at offset 17" in p.stderr, p.stderr
