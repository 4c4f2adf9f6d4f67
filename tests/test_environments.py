"""Environments: curated Debian PyTorch, pip venvs built once into a cache shared by
concurrent runs, and clear failures when a spec needs a tool this machine lacks."""
import base64
import hashlib
import os
import shutil
import zipfile

import pytest

from conftest import Server, submitted_name, write_job


def make_wheel(folder, name="demo_pkg", version="1.0"):
    """A minimal pure-Python wheel, so pip can install offline from a local folder."""
    files = {f"{name}/__init__.py": f"VALUE = 'hello from {name} {version}'\n",
             f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    return wheel


@pytest.fixture
def wheel_server(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels)
    # Runners inherit the server's environment: pip installs from this folder only.
    monkeypatch.setenv("GANTRY_PIP_FIND_LINKS", str(wheels))
    s = Server(tmp_path / "ws", slots=2).start()
    yield s
    s.stop()


def test_curated_pytorch_environment(server, tmp_path):
    listing = server.cli("environment", "list", check=True).stdout
    assert "Gantry-PyTorch-Debian" in listing and "Gantry-Python3" in listing
    reserved = server.cli("environment", "create", "--name", "AzureML-Mine", "--pip", "x")
    assert reserved.returncode != 0 and "reserved" in reserved.stderr
    yml = write_job(tmp_path, "python -c 'import torch, os; print(\"torch\", torch.__version__, os.environ[\"OMP_NUM_THREADS\"])'")
    yml.write_text(yml.read_text().replace(f"environment: python:", "# ").replace("\ncompute", "\nenvironment: azureml:Gantry-PyTorch-Debian@latest\ncompute"))
    first = server.cli("job", "create", "--file", str(yml), "--stream")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "found python module torch" in first.stdout and "torch 1." in first.stdout
    second = server.cli("job", "create", "--file", str(yml), "--stream", check=True)
    assert "using the cached build" in second.stdout
    run = server.run(submitted_name(second))
    assert run["environment"]["name"] == "Gantry-PyTorch-Debian"


def test_pip_environment_is_built_once_for_concurrent_runs(wheel_server, tmp_path):
    server = wheel_server
    created = server.cli("environment", "create", "--name", "demo-env", "--pip", "demo_pkg==1.0",
                         "--python", "/usr/bin/python3", "--env", "GREETING=hi", check=True)
    assert "version 1" in created.stdout
    again = server.cli("environment", "create", "--name", "demo-env", "--pip", "demo_pkg==1.0",
                       "--python", "/usr/bin/python3", "--env", "GREETING=hi", check=True)
    assert "version 1" in again.stdout  # same spec, same version
    yml = write_job(tmp_path, "python -c 'import demo_pkg, os, sys; print(demo_pkg.VALUE, os.environ[\"GREETING\"], sys.prefix)'")
    yml.write_text(yml.read_text().replace("environment: python:", "# ").replace("\ncompute", "\nenvironment: azureml:demo-env:1\ncompute"))
    names = [submitted_name(server.cli("job", "create", "--file", str(yml), check=True)) for _ in range(2)]
    logs = []
    for n in names:
        run, log = server.wait_for(n, lambda r, log: r["status"] in ("Completed", "Failed", "Canceled"))
        assert run["status"] == "Completed", run["error"] + log
        logs.append(server.request("GET", f"/api/v1/runs/{n}/logs/std_log.txt")[1].decode())
    assert all("hello from demo_pkg 1.0 hi" in log for log in logs)
    builds = sum(log.count("building ") for log in logs)
    cached = sum(log.count("using the cached build") for log in logs)
    assert (builds, cached) == (1, 1), logs
    env_dirs = [p for p in (server.workspace / "envs").iterdir() if p.is_dir()]
    assert len(env_dirs) == 1


def test_missing_tools_fail_in_preparing(server, tmp_path):
    conda = tmp_path / "conda.yml"
    conda.write_text("channels:\n- conda-forge\ndependencies:\n- python=3.6.2\n- pip:\n  - azureml-defaults\n")
    server.cli("environment", "create", "--name", "tf-env", "--conda-file", str(conda), check=True)
    server.cli("environment", "create", "--name", "img-env", "--image",
               "mcr.microsoft.com/azureml/openmpi3.1.2-cuda10.1-cudnn7-ubuntu18.04", check=True)
    has_conda = any(shutil.which(t) for t in ("micromamba", "mamba", "conda"))
    for env_name, needle in [("tf-env", "micromamba, mamba or conda"), ("img-env", "docker nor podman")]:
        if env_name == "tf-env" and has_conda:
            continue
        yml = write_job(tmp_path, "python -c 'print(1)'", name=f"{env_name}.yml")
        yml.write_text(yml.read_text().replace("environment: python:", "# ").replace("\ncompute", f"\nenvironment: azureml:{env_name}@latest\ncompute"))
        p = server.cli("job", "create", "--file", str(yml), "--stream")
        assert p.returncode == 1
        run = server.run(submitted_name(p))
        assert run["status"] == "Failed" and needle in run["error"], run["error"]
        assert "Running" not in [e["status"] for e in run["status_history"]]
    bad = tmp_path / "bad.yml"
    bad.write_text("dependencies: [python=3.6\n")
    p = server.cli("environment", "create", "--name", "bad", "--conda-file", str(bad))
    assert p.returncode == 2 and "bad.yml:" in p.stderr


FAKE_ENGINE = r'''#!/usr/bin/python3
"""A stand-in container engine: records its calls and runs `run`'s command on the host with
the options it was given (env file, working folder), so the runner's wiring can be checked on
machines without a container daemon."""
import os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ENGINE_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
if args[0] == "info":
    sys.exit(0)
if args[0] in ("pull", "build", "rm"):
    print(args[0], "done")
    sys.exit(0)
if args[0] == "run":
    i, env, cwd = 1, {}, None
    while args[i].startswith("-"):
        if args[i] in ("--rm", "--init"):
            i += 1
            continue
        opt, val = args[i], args[i + 1]
        i += 2
        if opt == "--env-file":
            env.update(l.split("=", 1) for l in open(val).read().splitlines() if "=" in l)
        elif opt == "-w":
            cwd = val
    env["FAKE_IMAGE"], env["PATH"] = args[i], "/usr/bin:/bin"
    os.chdir(cwd)
    os.execvpe(args[i + 1], args[i + 1:], env)
sys.exit(2)
'''


def test_container_environment_runs_the_command_through_the_engine(tmp_path, monkeypatch):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    engine = bin_dir / "docker"
    engine.write_text(FAKE_ENGINE)
    engine.chmod(0o755)
    calls = tmp_path / "engine.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ENGINE_LOG", str(calls))
    server = Server(tmp_path / "ws").start()
    try:
        server.cli("environment", "create", "--name", "img-env", "--image", "myorg/trainer:1",
                   "--env", "STAGE=container", check=True)
        yml = write_job(tmp_path, "python3 -c 'import os; print(os.environ[\"FAKE_IMAGE\"], "
                                  "os.environ[\"STAGE\"], os.environ[\"GANTRY_RUN_ID\"])'")
        yml.write_text(yml.read_text().replace("environment: python:", "# ").replace(
            "\ncompute", "\nenvironment: azureml:img-env@latest\ncompute"))
        first = server.cli("job", "create", "--file", str(yml), "--stream")
        assert first.returncode == 0, first.stdout + first.stderr
        name = submitted_name(first)
        assert f"myorg/trainer:1 container {name}" in first.stdout
        second = server.cli("job", "create", "--file", str(yml), "--stream", check=True)
        assert "using the cached image myorg/trainer:1" in second.stdout
        log = calls.read_text().splitlines()
        assert sum(1 for line in log if line.startswith("pull ")) == 1
        runs = [line for line in log if line.startswith("run ")]
        assert len(runs) == 2 and "--network host" in runs[0] and f"--name gantry-{name}" in runs[0]
        assert f"rm -f gantry-{name}" in log
    finally:
        server.stop()


FAKE_MICROMAMBA = r'''#!/usr/bin/python3
"""A stand-in micromamba: records its calls; `create -y -p DIR -f FILE` makes DIR a prefix
whose bin/python is this machine's python3 (a real micromamba would solve and install FILE)."""
import os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_CONDA_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
prefix = args[args.index("-p") + 1]
spec = open(args[args.index("-f") + 1]).read()
print("solving", spec.count("python="), "python pin")
os.makedirs(os.path.join(prefix, "bin"), exist_ok=True)
os.symlink("/usr/bin/python3", os.path.join(prefix, "bin", "python"))
'''


def test_conda_environment_is_built_with_the_conda_tool_once(tmp_path, monkeypatch):
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    tool = bin_dir / "micromamba"
    tool.write_text(FAKE_MICROMAMBA)
    tool.chmod(0o755)
    calls = tmp_path / "conda.log"
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_CONDA_LOG", str(calls))
    conda = tmp_path / "conda.yml"
    conda.write_text("channels:\n- conda-forge\ndependencies:\n- python=3.11\n- pip:\n  - numpy\n")
    server = Server(tmp_path / "ws").start()
    try:
        server.cli("environment", "create", "--name", "conda-env", "--conda-file", str(conda), check=True)
        yml = write_job(tmp_path, "python -c 'import sys; print(\"prefix\", sys.executable)'")
        yml.write_text(yml.read_text().replace("environment: python:", "# ").replace(
            "\ncompute", "\nenvironment: azureml:conda-env@latest\ncompute"))
        first = server.cli("job", "create", "--file", str(yml), "--stream")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "solving 1 python pin" in first.stdout
        assert "/envs/" in first.stdout  # the job ran the environment's own python
        second = server.cli("job", "create", "--file", str(yml), "--stream", check=True)
        assert "using the cached build" in second.stdout
        log = calls.read_text().splitlines()
        assert len(log) == 1 and log[0].startswith("create -y -p ")
    finally:
        server.stop()
