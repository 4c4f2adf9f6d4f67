"""The main job: the seed walkthrough (examples/mnist/walkthrough.py) against a real server,
with few epochs and images. A second run registers model version 2 and reuses the cached
environment and snapshot."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not Path(DATA, "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)")
def test_walkthrough_runs_twice(server, tmp_path):
    (tmp_path / ".gantry").mkdir()
    (tmp_path / ".gantry" / "config.json").write_text(
        '{"server": "%s", "workspace_name": "default", "token": "%s"}' % (server.url, server.token))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    env.pop("GANTRY_URL", None)
    cmd = ["/usr/bin/python3", str(ROOT / "examples/mnist/walkthrough.py"), "--epochs", "1",
           "--limit", "2000", "--model-dir", str(tmp_path / "model")]
    first = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    for expected in ["Registered dataset mnist-dataset version 1", "Creating a new compute target",
                     "] Preparing", "] Running", "epoch  1/1", "] Completed",
                     "Registered model pytorch-mnist version 1",
                     "Service pytorch-web-service is Healthy at ",
                     "The web service scored 2000 test images"]:
        assert expected in out, expected + "\n" + out
    assert sorted(os.listdir(tmp_path / "model")) == ["model.json", "model.pt", "state_dict.pt"]
    assert (tmp_path / "Gantry-PyTorch-Debian" / "azureml_environment.json").exists()

    second = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Found existing compute target" in second.stdout
    assert "Registered dataset mnist-dataset version 1" in second.stdout
    assert "using the cached build" in second.stdout
    assert "Registered model pytorch-mnist version 2" in second.stdout
    # The service was updated to version 2 and still scores what training measured (the
    # walkthrough exits non-zero when the two accuracies differ).
    assert "Service pytorch-web-service is Healthy at " in second.stdout
    status, deployment = server.request("GET", "/api/v1/endpoints/pytorch-web-service/deployments/default")
    assert status == 200 and deployment["model"] == "pytorch-mnist:2", deployment
