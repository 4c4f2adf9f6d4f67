"""The MNIST DNN (examples/mnist/src/train.py) trained with PyTorch DDP as a Gantry job of
2 instances x 2 processes (gloo, CPU) reaches the single-process accuracy."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import submitted_name, write_job

ROOT = Path(__file__).resolve().parents[1]
DATA = "/usr/share/datasets/fashion-mnist"
# A subset, so that 4 ranks on 2 cores train in seconds; enough for ~0.8 test accuracy.
TRAIN = f"python train.py --data-folder {DATA} --limit 10000 --epochs 3"
# train.py keeps the global batch and the learning rate under DDP, so its steps are the
# single process's up to floating-point summation order (measured: equal to 4 decimals).
# One percentage point leaves room for a few test images to flip.
TOLERANCE = 0.01
WORLD = 4


def submit(server, folder, extra=""):
    yml = write_job(folder, TRAIN, extra=extra)
    shutil.copy(ROOT / "examples/mnist/src/train.py", folder / "src" / "train.py")
    return submitted_name(server.cli("job", "create", "--file", str(yml), check=True))


def final_accuracy(server, name):
    status, metrics = server.request("GET", f"/api/v1/runs/{name}/metrics")
    assert status == 200, metrics
    values = [m["value"] for m in metrics["metrics"]["final_accuracy"]]
    assert len(values) == 1, values  # under DDP too: rank 0 alone logs
    assert len(metrics["metrics"]["accuracy"]) == 3  # one per epoch
    return values[0]


def model_json(server, name, folder):
    server.cli("job", "download", "-n", name, "--download-path", str(folder), check=True)
    return json.loads((folder / "artifacts/outputs/model/model.json").read_text())


def rank_log(server, name, rank):
    status, body = server.request("GET", f"/api/v1/runs/{name}/logs/std_log_process_{rank}.txt")
    assert status == 200, body
    return body.decode()


@pytest.mark.skipif(not Path(DATA, "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian's dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)")
def test_ddp_over_two_instances_of_two_reaches_the_single_process_accuracy(server, tmp_path):
    single = submit(server, tmp_path / "single")
    ddp = submit(server, tmp_path / "ddp", extra="""
        resources:
          instance_count: 2
        distribution:
          type: pytorch
          process_count_per_instance: 2
    """)
    runs = {name: server.wait_terminal(name) for name in (single, ddp)}
    for name, run in runs.items():
        assert run["status"] == "Completed", f"{name}: {run['error']}"

    single_acc, ddp_acc = final_accuracy(server, single), final_accuracy(server, ddp)
    print(f"test accuracy: single process {single_acc}, DDP 2x2 {ddp_acc}")
    assert single_acc > 0.7, single_acc  # a trained model, so that matching it means something
    assert abs(ddp_acc - single_acc) <= TOLERANCE, (single_acc, ddp_acc)

    # outputs/model.json was written once, by rank 0, for the whole DDP job.
    single_info = model_json(server, single, tmp_path / "dl-single")
    ddp_info = model_json(server, ddp, tmp_path / "dl-ddp")
    assert single_info["test_accuracy"] == single_acc and "world_size" not in single_info
    assert ddp_info["test_accuracy"] == ddp_acc and ddp_info["world_size"] == WORLD
    assert ddp_info["hyperparameters"] == single_info["hyperparameters"]

    # Every rank trained, on its quarter of each global batch of 64.
    for rank in range(WORLD):
        text = rank_log(server, ddp, rank)
        assert f"DDP: rank {rank} of {WORLD} (gloo), 16 of every global batch of 64" in text, text
        assert ("Test accuracy:" in text) == (rank == 0), text
