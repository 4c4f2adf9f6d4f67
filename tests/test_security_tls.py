"""HTTPS: `gantry server --tls-cert F --tls-key F`, and every client that talks to it (the CLI,
the runners and the scripts of a run, the Python SDK) verifying its certificate against
--ca-file / GANTRY_CA_FILE / the CA file the config or a login names. Certificates are made
here with the openssl command."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import GANTRY, Server, submitted_name, write_job

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))


def make_cert(folder, name, names=("127.0.0.1", "localhost")):
    crt, key = folder / f"{name}.crt", folder / f"{name}.key"
    san = ",".join(("IP:" if n[0].isdigit() else "DNS:") + n for n in names)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "1",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True)
    return crt, key


@pytest.fixture
def tls_server(tmp_path):
    crt, key = make_cert(tmp_path, "server")
    s = Server(tmp_path / "ws", extra_args=["--tls-cert", str(crt), "--tls-key", str(key)])
    s.ca_file = str(crt)
    s.start()
    yield s
    s.stop()


def clean_env(tmp_path, **extra):
    """The environment of a user with no credential and no CA configured anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GANTRY_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env.update(extra)
    return env


def test_a_job_runs_over_https_with_runner_and_scripts_verifying(tls_server, tmp_path):
    assert tls_server.url.startswith("https://127.0.0.1:")
    config = json.loads((tls_server.workspace / "config.json").read_text())
    assert config["server"] == tls_server.url and config["ca_file"] == tls_server.ca_file
    # The script calls the server itself through the SDK, as a run's scripts do: GANTRY_URL is
    # the https URL and GANTRY_CA_FILE lets it verify.
    script = ("import os; from gantry._http import Client; "
              "c = Client(os.environ['GANTRY_URL'], os.environ['GANTRY_RUN_TOKEN']); "
              "print('ca', os.environ['GANTRY_CA_FILE']); "
              "print('seen as', c.get('/api/v1/runs/' + os.environ['GANTRY_RUN_ID'])['status'])")
    yml = write_job(tmp_path / "p", f"{sys.executable} -c \"{script}\"")
    name = submitted_name(tls_server.cli("job", "create", "--file", str(yml), check=True))
    run, log = tls_server.wait_for(
        name, lambda r, log: "seen as" in log or r["status"] in ("Failed", "Canceled"))
    assert "seen as Running" in log and f"ca {tls_server.ca_file}" in log, (run["error"], log)
    assert tls_server.wait_terminal(name)["status"] == "Completed"
    # The log reached the server (the runner shipped it over TLS).
    shown = tls_server.cli("job", "show", "-n", name, check=True)
    assert "Completed" in shown.stdout


def test_clients_without_the_ca_are_refused_and_told_why(tls_server, tmp_path):
    env = clean_env(tmp_path, GANTRY_TOKEN=tls_server.token)
    p = subprocess.run([GANTRY, "job", "list", "--server", tls_server.url], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60)
    assert p.returncode == 4, p.stderr
    assert "not trusted" in p.stderr and "GANTRY_CA_FILE" in p.stderr, p.stderr
    # Another certificate as the CA does not help either.
    other, _ = make_cert(tmp_path, "other")
    p = subprocess.run([GANTRY, "job", "list", "--server", tls_server.url, "--ca-file", str(other)],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert p.returncode == 4 and str(other) in p.stderr, p.stderr
    # With the right one, by flag or by variable.
    for extra_args, extra_env in [(["--ca-file", tls_server.ca_file], {}),
                                  ([], {"GANTRY_CA_FILE": tls_server.ca_file})]:
        p = subprocess.run([GANTRY, "job", "list", "--server", tls_server.url, *extra_args],
                           capture_output=True, text=True, env={**env, **extra_env}, cwd=tmp_path,
                           timeout=60)
        assert p.returncode == 0, p.stderr
    # A CA file that does not exist is bad input.
    p = subprocess.run([GANTRY, "job", "list", "--server", tls_server.url, "--ca-file",
                        str(tmp_path / "nope.pem")], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 2 and "nope.pem" in p.stderr, p.stderr


def test_sdk_verifies_and_finds_the_ca_in_the_config(tls_server, tmp_path, monkeypatch):
    for k in [k for k in os.environ if k.startswith("GANTRY_")]:
        monkeypatch.delenv(k)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    from gantry import Workspace
    from gantry.errors import InvalidArgumentError, UnavailableError

    with pytest.raises(UnavailableError) as e:
        Workspace(tls_server.url, token=tls_server.token)
    assert "not trusted" in str(e.value) and "GANTRY_CA_FILE" in str(e.value)
    ws = Workspace(tls_server.url, token=tls_server.token, ca_file=tls_server.ca_file)
    assert ws.name == "default" and ws.experiments == {}
    # The local config written by the server names its CA file: zero setup stays.
    ws = Workspace.from_config(str(tls_server.workspace / "config.json"))
    assert ws.url == tls_server.url and ws.experiments == {}
    monkeypatch.setenv("GANTRY_CA_FILE", tls_server.ca_file)
    assert Workspace(tls_server.url, token=tls_server.token).name == "default"
    with pytest.raises(InvalidArgumentError) as e:
        Workspace(tls_server.url, token=tls_server.token, ca_file=str(tmp_path / "missing.pem"))
    assert "missing.pem" in str(e.value)


def test_login_stores_the_ca_file_with_the_token(tls_server, tmp_path):
    env = clean_env(tmp_path)
    p = subprocess.run([GANTRY, "login", "--server", tls_server.url, "--ca-file", tls_server.ca_file,
                        "--token", tls_server.token], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr
    stored = json.loads((tmp_path / "xdg" / "gantry" / "credentials.json").read_text())
    assert stored["servers"][tls_server.url]["ca_file"] == tls_server.ca_file
    # Later commands need neither the token nor the CA file.
    p = subprocess.run([GANTRY, "job", "list", "--server", tls_server.url], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60)
    assert p.returncode == 0, p.stderr


def test_plain_http_to_the_https_port_is_told_to_use_https(tls_server):
    plain = tls_server.url.replace("https://", "http://")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(plain + "/api/v1/health", timeout=30)
    assert e.value.code == 400
    assert "https://" in json.loads(e.value.read())["error"]["message"]


def test_bad_tls_flags_stop_the_server_before_it_listens(tmp_path):
    crt, key = make_cert(tmp_path, "a")
    other_crt, other_key = make_cert(tmp_path, "b")
    cases = [(["--tls-cert", str(crt)], "--tls-cert needs --tls-key"),
             (["--tls-cert", str(crt), "--tls-key", str(other_key)], "does not belong"),
             (["--tls-cert", str(tmp_path / "none.crt"), "--tls-key", str(key)], "none.crt"),
             (["--ca-file", str(crt)], "--ca-file needs --tls-cert")]
    for args, message in cases:
        p = subprocess.run([GANTRY, "server", "--workspace", str(tmp_path / "ws"), "--port", "0", *args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 2, (args, p.stderr)
        assert message in p.stderr, (args, p.stderr)
    assert not (tmp_path / "ws" / "config.json").exists()


def test_beyond_loopback_the_notice_names_the_ca_or_warns_of_clear_text(tmp_path):
    crt, key = make_cert(tmp_path, "server")
    for name, args, expect, absent in [
            ("tls", ["--tls-cert", str(crt), "--tls-key", str(key)], f"--ca-file {crt}", "clear text"),
            ("plain", [], "clear text", "--ca-file")]:
        s = Server(tmp_path / name / "ws", extra_args=["--host", "0.0.0.0", *args])
        (tmp_path / name).mkdir()
        s.start()
        try:
            log = s.log()
            assert expect in log and absent not in log, log
        finally:
            s.stop()
