"""Model registry through the CLI: register from a run or a local folder, versions, download."""
import json

from conftest import submitted_name, write_job


def test_register_from_run_and_folder_then_download(server, tmp_path):
    yml = write_job(tmp_path, "python -c \"import os; os.makedirs('outputs/model/sub'); "
                              "open('outputs/model/model.pt','wb').write(b'w1'); "
                              "open('outputs/model/sub/cfg.json','w').write('{}')\"")
    run = submitted_name(server.cli("job", "create", "--file", str(yml), "--stream", check=True))
    created = server.cli("model", "create", "--name", "fashion-dnn", "--path", f"runs:/{run}/outputs/model",
                         "--framework", "PyTorch", "--framework-version", "1.13",
                         "--property", "accuracy=0.88", "--tag", "stage=dev", check=True)
    assert "Registered model fashion-dnn version 1" in created.stdout
    again = server.cli("model", "create", "--name", "fashion-dnn",
                       "--path", f"azureml://jobs/{run}/outputs/artifacts/paths/outputs/model/", check=True)
    assert "version 2" in again.stdout
    local = tmp_path / "mymodel"
    local.mkdir()
    (local / "weights.bin").write_bytes(b"\x00\x01")
    assert "version 3" in server.cli("model", "create", "--name", "fashion-dnn", "--path", str(local), check=True).stdout

    shown = json.loads(server.cli("model", "show", "-n", "fashion-dnn", "-v", "1", check=True).stdout)
    assert shown["framework"] == "PyTorch" and shown["run"] == run
    assert shown["properties"] == {"accuracy": "0.88"} and shown["tags"] == {"stage": "dev"}
    assert json.loads(server.cli("model", "show", "-n", "fashion-dnn", check=True).stdout)["version"] == 3

    listing = server.cli("model", "list", check=True).stdout
    assert listing.count("fashion-dnn") == 3

    dest = tmp_path / "dl"
    server.cli("model", "download", "-n", "fashion-dnn", "-v", "1", "--download-path", str(dest), check=True)
    assert (dest / "model/model.pt").read_bytes() == b"w1"
    assert (dest / "model/sub/cfg.json").read_text() == "{}"
    dest3 = tmp_path / "dl3"
    server.cli("model", "download", "-n", "fashion-dnn", "--download-path", str(dest3), check=True)
    assert (dest3 / "mymodel/weights.bin").read_bytes() == b"\x00\x01"


def test_model_errors(server, tmp_path):
    missing = server.cli("model", "show", "-n", "nope")
    assert missing.returncode == 3 and "nope" in missing.stderr
    bad_path = server.cli("model", "create", "--name", "m", "--path", "runs:/no_such_run/outputs/model")
    assert bad_path.returncode == 3 and "no_such_run" in bad_path.stderr
    bad_name = server.cli("model", "create", "--name", "has space", "--path", str(tmp_path))
    assert bad_name.returncode == 2 and "has space" in bad_name.stderr
    status, body = server.request("POST", "/api/v1/models/m/versions/abc/tags", {"add": {}})
    assert status == 400
