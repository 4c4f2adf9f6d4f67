"""The Python SDK's datasets, compute targets and models against a real server, starting with
the seed walkthrough (train-tensorflow-at-scale) as written, only the workspace config and
the environment changed.

URL datasets come from a local HTTP server of the test's own, under the seed's URL paths.
Waiting is always on the run itself (wait_for_completion's long poll).
"""
import gzip
import hashlib
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import serve_bytes, submitted_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

import azureml  # noqa: E402
from azureml.core import Experiment, Run, ScriptRunConfig  # noqa: E402
from azureml.core import Model  # noqa: E402
from azureml.core.compute import AmlCompute, ComputeTarget  # noqa: E402
from azureml.core.compute_target import ComputeTargetException  # noqa: E402
from azureml.core.dataset import Dataset  # noqa: E402
from azureml.core.resource_configuration import ResourceConfiguration  # noqa: E402
from azureml.exceptions import WebserviceException  # noqa: E402
from gantry.errors import AlreadyExistsError, FailedPreconditionError, NotFoundError  # noqa: E402

PYTHON = "python:" + sys.executable
FILES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


pytestmark = pytest.mark.usefixtures("sdk_isolated")


@pytest.fixture
def ws(project_ws):
    return project_ws


@pytest.fixture
def web():
    """Serves the four MNIST files under /exdb/mnist/, as yann.lecun.com did."""
    content = {f"/exdb/mnist/{name}": gzip.compress(name.encode() * 100) for name in FILES}
    with serve_bytes(content) as url:
        yield url + "/exdb/mnist/", content


def make_source(folder: Path, files: dict) -> Path:
    for rel, content in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(content))
    return folder


TF_MNIST = """
    import argparse, hashlib, os
    from azureml.core import Run

    parser = argparse.ArgumentParser()
    parser.add_argument("--data-folder", type=str, dest="data_folder")
    parser.add_argument("--batch-size", type=int, dest="batch_size", default=50)
    parser.add_argument("--first-layer-neurons", type=int, dest="n_hidden_1", default=100)
    parser.add_argument("--second-layer-neurons", type=int, dest="n_hidden_2", default=100)
    parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=0.01)
    args = parser.parse_args()

    files = sorted(os.listdir(args.data_folder))
    print("data files:", " ".join(files), flush=True)
    print("node", os.environ.get("GANTRY_VM_SIZE"), "batch", args.batch_size, "lr", args.learning_rate)
    digest = hashlib.sha256()
    for name in files:
        digest.update(open(os.path.join(args.data_folder, name), "rb").read())
    run = Run.get_context()
    run.log("accuracy", 0.97)
    os.makedirs("outputs/model/variables", exist_ok=True)
    open("outputs/model/saved_model.pb", "w").write(digest.hexdigest())
    open("outputs/model/variables/variables.data", "w").write("weights %d" % args.n_hidden_1)
"""


def test_seed_walkthrough(ws, server, web, tmp_path, capsys):
    base, content = web
    # -- create a file dataset
    web_paths = [base + name for name in FILES]
    dataset = Dataset.File.from_files(path=web_paths)
    dataset = dataset.register(workspace=ws,
                               name='mnist-dataset',
                               description='training and test dataset',
                               create_new_version=True)
    assert (dataset.name, dataset.version, dataset.id) == ("mnist-dataset", 1, "mnist-dataset:1")
    assert dataset.description == "training and test dataset" and dataset.sources == web_paths
    assert sorted(dataset.to_path()) == sorted("/" + name for name in FILES)
    again = Dataset.File.from_files(path=web_paths).register(
        workspace=ws, name='mnist-dataset', description='training and test dataset',
        create_new_version=True)
    assert again.version == 1 and again == dataset        # same bytes: the same version
    assert Dataset.get_by_name(ws, "mnist-dataset").id == "mnist-dataset:1"

    # -- create a compute target, exactly as the walkthrough does
    cluster_name = "gpu-cluster"
    try:
        compute_target = ComputeTarget(workspace=ws, name=cluster_name)
        print('Found existing compute target')
    except ComputeTargetException:
        print('Creating a new compute target...')
        compute_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_NC6',
                                                               max_nodes=4)
        compute_target = ComputeTarget.create(ws, cluster_name, compute_config)
        compute_target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
    out = capsys.readouterr().out
    assert "Creating a new compute target..." in out
    assert 'Provisioning operation finished, operation "Succeeded"' in out
    assert isinstance(compute_target, AmlCompute)
    assert (compute_target.name, compute_target.vm_size, compute_target.provisioning_state) == (
        "gpu-cluster", "STANDARD_NC6", "Succeeded")
    assert compute_target.scale_settings.maximum_node_count == 4
    found = ComputeTarget(workspace=ws, name=cluster_name)
    assert isinstance(found, AmlCompute) and found == compute_target

    # -- configure and submit the training run
    script_folder = make_source(tmp_path / "tf-mnist", {"tf_mnist.py": TF_MNIST})
    args = ['--data-folder', dataset.as_mount(),
            '--batch-size', 64,
            '--first-layer-neurons', 256,
            '--second-layer-neurons', 128,
            '--learning-rate', 0.01]
    src = ScriptRunConfig(source_directory=str(script_folder),
                          script='tf_mnist.py',
                          arguments=args,
                          compute_target=compute_target,
                          environment=PYTHON)
    run = Experiment(workspace=ws, name='Tutorial-TF-Mnist').submit(src)
    details = run.wait_for_completion(show_output=True)
    out = capsys.readouterr().out
    assert details["status"] == "Completed" and details["target"] == "gpu-cluster"
    assert "data files: " + " ".join(sorted(FILES)) in out
    assert "node STANDARD_NC6 batch 64 lr 0.01" in out
    spec = details["runDefinition"]
    assert spec["inputs"]["mnist_dataset"] == {"type": "uri_folder", "mode": "ro_mount",
                                               "path": "azureml:mnist-dataset:1"}
    assert "--data-folder ${{inputs.mnist_dataset}}" in spec["command"]
    assert run.get_metrics() == {"accuracy": 0.97}
    assert server.run(run.id)["datasets"] == [{"input": "mnist_dataset", "name": "mnist-dataset",
                                               "version": 1}]
    expected_digest = hashlib.sha256(b"".join(content["/exdb/mnist/" + n] for n in sorted(FILES)))

    # -- register and download the model
    model = run.register_model(model_name='tf-mnist',
                               model_path='outputs/model',
                               model_framework=Model.Framework.PYTORCH,
                               model_framework_version='1.13',
                               resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5),
                               datasets=[("training", dataset)])
    assert (model.name, model.version, model.id) == ("tf-mnist", 1, "tf-mnist:1")
    assert (model.framework, model.framework_version) == ("PyTorch", "1.13")
    assert model.model_framework == "PyTorch" and model.run_id == run.id
    assert model.resource_configuration == ResourceConfiguration(cpu=1, memory_in_gb=0.5)
    assert model.datasets == [{"name": "mnist-dataset", "version": 1}]
    assert model.run.id == run.id and model.experiment_name == "Tutorial-TF-Mnist"
    second = run.register_model(model_name='tf-mnist', model_path='outputs/model',
                                model_framework=Model.Framework.TENSORFLOW,
                                model_framework_version='2.0',
                                resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5))
    assert second.version == 2 and second.tree_id == model.tree_id

    latest = Model(ws, 'tf-mnist')
    assert (latest.version, latest.framework) == (2, "TensorFlow")
    assert Model(ws, 'tf-mnist', version=1).framework == "PyTorch"
    assert Model(ws, id='tf-mnist:1') == model
    assert latest.get_file_names() == ["model/saved_model.pb", "model/variables/variables.data"]
    dl = tmp_path / "dl"
    root = latest.download(target_dir=str(dl))
    assert root == str(dl / "model")
    assert (dl / "model" / "saved_model.pb").read_text() == expected_digest.hexdigest()
    assert (dl / "model" / "variables" / "variables.data").read_text() == "weights 256"
    with pytest.raises(AlreadyExistsError, match="exist_ok"):
        latest.download(target_dir=str(dl))
    assert latest.download(target_dir=str(dl), exist_ok=True) == root

    os.makedirs('./model', exist_ok=True)
    run.download_files(prefix='outputs/model', output_directory='./model', append_prefix=False)
    assert Path("model/saved_model.pb").read_text() == expected_digest.hexdigest()
    assert Path("model/variables/variables.data").read_text() == "weights 256"

    # Tags change; properties are added but never changed.
    latest.add_tags({"stage": "dev", "owner": "me"})
    latest.remove_tags(["owner"])
    latest.add_properties({"accuracy": 0.97})
    latest.add_properties({"accuracy": "0.97", "epochs": 3})    # same value again is fine
    assert latest.tags == {"stage": "dev"} and latest.properties == {"accuracy": "0.97", "epochs": "3"}
    with pytest.raises(FailedPreconditionError, match="accuracy"):
        latest.add_properties({"accuracy": "0.5"})
    assert Model(ws, "tf-mnist").properties == {"accuracy": "0.97", "epochs": "3"}
    assert [m.version for m in Model.list(ws, name="tf-mnist")] == [2, 1]
    assert [m.id for m in Model.list(ws, latest=True)] == ["tf-mnist:2"]
    assert [m.version for m in Model.list(ws, tags=[["stage", "dev"]])] == [2]
    assert [m.version for m in Model.list(ws, dataset_id="mnist-dataset:1")] == [1]
    assert Model(ws, "tf-mnist", tags=["stage"]).version == 2
    assert Model(ws, "tf-mnist", model_framework="PyTorch").version == 1
    with pytest.raises(NotFoundError):
        Model(ws, "tf-mnist", tags=[["stage", "prod"]])
    # The seed's no-code deployment of a TensorFlow model goes to the tensorflow backend; these
    # files are no real SavedModel and the default environment has no TensorFlow here, so the
    # deployment fails, saying why (tests/test_serve_tensorflow.py deploys a real one).
    service = Model.deploy(ws, "tensorflow-web-service", [latest])
    with pytest.raises(WebserviceException, match="TensorFlow"):
        service.wait_for_deployment()
    service.delete()
    assert server.request("GET", "/api/v1/endpoints/tensorflow-web-service")[0] == 404
    assert set(ws.models) == {"tf-mnist"} and ws.models["tf-mnist"].version == 2
    assert set(ws.datasets) == {"mnist-dataset"} and "gpu-cluster" in ws.compute_targets


def test_local_datasets_versions_and_downloads(ws, server, tmp_path):
    data = make_source(tmp_path / "data", {"a.txt": "one", "sub/b.txt": "two"})
    other = make_source(tmp_path / "other", {"c.txt": "three"})
    first = Dataset.File.from_files(str(data)).register(ws, "local-ds", tags={"kind": "text"})
    assert first.version == 1 and first.tags == {"kind": "text"}
    assert first.to_path() == ["/a.txt", "/sub/b.txt"]     # a single folder lands at the root
    assert first.sources == [str(data)]
    # The CLI gives the same tree for the same paths.
    server.cli("data", "create", "--name", "cli-ds", "--path", str(data), check=True)
    assert Dataset.get_by_name(ws, "cli-ds").tree_id == first.tree_id

    (data / "a.txt").write_text("changed")
    with pytest.raises(AlreadyExistsError, match="create_new_version"):
        Dataset.File.from_files(str(data)).register(ws, "local-ds")
    second = Dataset.File.from_files(str(data)).register(ws, "local-ds", create_new_version=True)
    assert second.version == 2 and Dataset.get_by_name(ws, "local-ds").version == 2
    assert Dataset.get_by_name(ws, "local-ds", version=1).tree_id == first.tree_id
    assert Dataset.get_by_id(ws, "local-ds:1") == first

    both = Dataset.File.from_files([str(data), str(other), str(tmp_path / "data" / "*.txt")])
    several = both.register(ws, "several")
    expected = ["/a.txt", "/data/a.txt", "/data/sub/b.txt", "/other/c.txt"]
    assert several.to_path() == expected == both.to_path()
    server.cli("data", "create", "--name", "several-cli", "--path", str(data), "--path", str(other),
               "--path", str(tmp_path / "data" / "*.txt"), check=True)
    assert Dataset.get_by_name(ws, "several-cli").tree_id == several.tree_id

    # file:// URLs are fetched by the server, next to uploaded local files.
    mixed = Dataset.File.from_files(["file://" + str(other / "c.txt"), str(data / "sub")])
    assert mixed.to_path() == ["/b.txt", "/c.txt"]
    mixed = mixed.register(ws, "mixed", description="url and folder")
    assert mixed.to_path() == ["/b.txt", "/c.txt"] and mixed.description == "url and folder"
    assert mixed.sources == ["file://" + str(other / "c.txt"), str(data / "sub")]

    target = tmp_path / "dl"
    paths = several.download(target_path=str(target))
    assert paths == [str(target / p.lstrip("/")) for p in expected]
    assert (target / "data" / "a.txt").read_text() == "changed"
    with pytest.raises(AlreadyExistsError):
        several.download(target_path=str(target))
    assert several.download(target_path=str(target), overwrite=True) == paths
    temp = first.download()
    assert [Path(p).read_text() for p in temp] == ["one", "two"]
    assert [d.name for d in Dataset.list(ws)] == ["cli-ds", "local-ds", "mixed", "several",
                                                   "several-cli"]
    with pytest.raises(NotFoundError):
        Dataset.get_by_name(ws, "no-such-dataset")


def test_failing_url_registers_nothing(ws, web):
    base, _ = web
    with pytest.raises(NotFoundError, match="nope.gz"):
        Dataset.File.from_files([base + FILES[0], base + "nope.gz"]).register(ws, "broken")
    with pytest.raises(NotFoundError):
        Dataset.get_by_name(ws, "broken")


def test_download_inputs_and_named_inputs(ws, tmp_path):
    data = make_source(tmp_path / "data", {"a.txt": "one"})
    dataset = Dataset.File.from_files(str(data)).register(ws, "9-inputs")
    src = make_source(tmp_path / "src", {"check.py": """
        import os, sys
        for folder in sys.argv[1:]:
            path = os.path.join(folder, "a.txt")
            writable = os.access(path, os.W_OK) and os.getuid() != 0
            print(os.path.basename(folder) != "", open(path).read(), "rw" if writable else "ro")
    """})
    config = ScriptRunConfig(str(src), "check.py", environment=PYTHON,
                             arguments=[dataset.as_download(), dataset.as_named_input("train").as_mount()])
    run = Experiment(ws, "inputs").submit(config)
    run.wait_for_completion()
    spec = run.get_details()["runDefinition"]
    assert spec["inputs"] == {
        "_9_inputs": {"type": "uri_folder", "path": "azureml:9-inputs:1", "mode": "download"},
        "train": {"type": "uri_folder", "path": "azureml:9-inputs:1", "mode": "ro_mount"}}
    log = Path(run.download_file("user_logs/std_log.txt", str(tmp_path))).read_text()
    lines = [line for line in log.splitlines() if line.startswith("True")]
    assert lines[0] == "True one rw" or os.getuid() == 0
    assert lines[1] == "True one ro"


def test_compute_targets_list_status_and_delete(ws):
    config = AmlCompute.provisioning_configuration(vm_size="standard_d2_v2", max_nodes=2)
    cluster = ComputeTarget.create(ws, "cpu-cluster", config)
    assert cluster.vm_size == "STANDARD_D2_V2" and cluster.type == "AmlCompute"
    with pytest.raises(ComputeTargetException) as info:
        ComputeTarget.create(ws, "cpu-cluster", config)
    assert isinstance(info.value, AlreadyExistsError)
    with pytest.raises(ComputeTargetException) as info:
        ComputeTarget.create(ws, "x", AmlCompute.provisioning_configuration(vm_size="STANDARD_BOGUS"))
    assert isinstance(info.value, NotFoundError) and "STANDARD_BOGUS" in str(info.value)
    targets = ComputeTarget.list(ws)
    assert [t.name for t in targets] == ["local", "cpu-cluster"]
    assert type(targets[0]) is ComputeTarget and isinstance(targets[1], AmlCompute)
    with pytest.raises(ComputeTargetException, match="local"):
        AmlCompute(ws, "local")
    status = cluster.get_status()
    assert status.provisioning_state == "Succeeded" and status.current_node_count == 0
    assert status.serialize()["scaleSettings"]["maxNodeCount"] == 2
    cluster.wait_for_completion(show_output=False)
    cluster.delete()
    with pytest.raises(NotFoundError):
        ComputeTarget(ws, "cpu-cluster")


def test_model_register_from_local_files(ws, server, tmp_path, capsys):
    folder = make_source(tmp_path / "my_model", {"weights.bin": "w", "cfg/config.json": "{}",
                                                 "extra/notes.txt": "n"})
    model = Model.register(workspace=ws, model_path=str(folder), model_name="local-model",
                           tags={"area": "mnist"}, properties={"accuracy": 0.9},
                           description="from a folder", model_framework=Model.Framework.SCIKITLEARN)
    assert "Registering model local-model" in capsys.readouterr().out
    assert (model.version, model.run_id, model.description) == (1, None, "from a folder")
    assert model.tags == {"area": "mnist"} and model.properties == {"accuracy": "0.9"}
    assert model.get_file_names() == ["my_model/cfg/config.json", "my_model/extra/notes.txt",
                                      "my_model/weights.bin"]
    server.cli("model", "create", "--name", "cli-model", "--path", str(folder), check=True)
    assert Model(ws, "cli-model").tree_id == model.tree_id      # the CLI's tree exactly

    single = Model.register(ws, str(folder / "weights.bin"), "local-model")
    assert single.version == 2 and single.get_file_names() == ["weights.bin"]
    assert single.download(str(tmp_path / "one")) == str(tmp_path / "one" / "weights.bin")
    assert single.framework == "Custom"
    some = Model.register(ws, str(folder), "local-model", child_paths=["cfg", "weights.bin"])
    assert some.get_file_names() == ["my_model/cfg/config.json", "my_model/weights.bin"]
    with pytest.raises(NotFoundError):
        Model.register(ws, str(tmp_path / "nope"), "local-model")
    with pytest.raises(NotFoundError, match="no_such"):
        Model(ws, "no_such")


def test_register_model_inside_the_run(ws, tmp_path):
    src = make_source(tmp_path / "src", {"train.py": """
        import os
        from azureml.core import Model, Run
        from azureml.core.resource_configuration import ResourceConfiguration
        run = Run.get_context()
        os.makedirs("outputs/model", exist_ok=True)
        open("outputs/model/model.pt", "w").write("trained")
        model = run.register_model(model_name="in-run", model_path="outputs/model",
                                   model_framework=Model.Framework.PYTORCH,
                                   resource_configuration=ResourceConfiguration(gpu=1))
        print("registered", model.id, model.run_id == run.id, model.get_file_names(), flush=True)
        open("outputs/model/model.pt", "w").write("changed after registering")
    """})
    run = Experiment(ws, "in-run").submit(ScriptRunConfig(str(src), "train.py", environment=PYTHON))
    run.wait_for_completion()
    log = Path(run.download_file("user_logs/std_log.txt", str(tmp_path))).read_text()
    assert "registered in-run:1 True ['model/model.pt']" in log
    model = Model(ws, "in-run")
    assert model.run_id == run.id and model.resource_configuration.gpu == 1
    path = model.download(str(tmp_path / "dl"))
    assert Path(path, "model.pt").read_text() == "trained"            # pinned when registered
    assert run.get_file_names().count("outputs/model/model.pt") == 1
    run.download_file("outputs/model/model.pt", str(tmp_path / "final.pt"))
    assert (tmp_path / "final.pt").read_text() == "changed after registering"
    with pytest.raises(NotFoundError, match="outputs/nothing"):
        run.register_model("other", "outputs/nothing")


def test_azureml_namespace_is_gantry():
    import gantry
    assert azureml.core.Dataset is gantry.Dataset and azureml.core.Model is gantry.Model
    assert azureml.core.ComputeTarget is gantry.ComputeTarget
    assert azureml.core.Environment is gantry.Environment
    with pytest.raises(ImportError, match="Datastore"):
        exec("from azureml.core import Datastore", {})
    assert Run is gantry.Run
    assert submitted_name  # conftest helpers stay importable next to the SDK


def test_environments(ws, tmp_path, capsys):
    from azureml.core import Environment
    from gantry.errors import PermissionDeniedError

    curated = Environment.get(workspace=ws, name="Gantry-PyTorch-Debian")
    assert curated.version == 1 and curated.python.interpreter_path == "/usr/bin/python3"
    with pytest.raises(NotFoundError, match="Gantry-PyTorch-Debian"):
        Environment.get(ws, "AzureML-No-Such-Environment")
    # The notebook's Azure name: the local TensorFlow stands in, and one line says so.
    tf = Environment.get(ws, "AzureML-TensorFlow-2.2-GPU")
    assert tf.name == "AzureML-TensorFlow-2.2-GPU" and tf.version == 1
    assert tf.stand_in["environment"] == "Gantry-TensorFlow-2.21-CPU"
    assert tf.pip_packages == ["tensorflow-cpu==2.21.0", "tf-keras==2.21.0"]
    assert tf.environment_variables == {"TF_USE_LEGACY_KERAS": "1"}
    assert "TensorFlow 2.2 does not install" in capsys.readouterr().out
    curated.save_to_directory(path=str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "azureml_environment.json").read_text())
    assert saved["spec"]["requires_modules"] == ["torch", "numpy"]
    with pytest.raises(PermissionDeniedError, match="reserved"):
        curated.register(ws)  # a curated name cannot be registered over
    mine = curated.clone(new_name="my-torch")
    mine.environment_variables["TEAM"] = "vision"
    v1 = mine.register(ws)
    assert (v1.name, v1.version) == ("my-torch", 1)
    assert mine.register(ws).version == 1  # same spec, same version
    mine.environment_variables["TEAM"] = "nlp"
    assert mine.register(ws).version == 2

    conda = tmp_path / "conda_dependencies.yml"
    conda.write_text("channels:\n- conda-forge\ndependencies:\n- python=3.6.2\n- pip:\n  - azureml-defaults\n")
    tf_env = Environment.from_conda_specification(name="tensorflow-2.2-gpu", file_path=str(conda))
    tf_env.save_to_directory(path=str(tmp_path / "tf"))
    assert "python=3.6.2" in (tmp_path / "tf" / "conda_dependencies.yml").read_text()
    registered = tf_env.register(ws)
    assert registered.python.conda_dependencies["dependencies"][0] == "python=3.6.2"
    assert "tensorflow-2.2-gpu" in Environment.list(ws)

    # An unregistered environment is registered when a run is submitted with it.
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    (src_dir / "hello.py").write_text("import os; print('team', os.environ['TEAM'])\n")
    fresh = Environment("fresh-env")
    fresh.python.interpreter_path = sys.executable
    fresh.python.user_managed_dependencies = True
    fresh.environment_variables["TEAM"] = "ops"
    run = Experiment(ws, "envs").submit(ScriptRunConfig(source_directory=str(src_dir), script="hello.py",
                                                        environment=fresh))
    run.wait_for_completion(show_output=False)
    assert run.get_status() == "Completed"
    assert fresh.version == 1 and Environment.get(ws, "fresh-env").version == 1
