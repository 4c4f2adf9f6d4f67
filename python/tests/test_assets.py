"""Datasets, compute targets and models: the parts that need no server."""

import os

import pytest

from gantry import (AmlCompute, ComputeTargetException, Dataset, DatasetConsumptionConfig,
                    FileDataset, Model, ResourceConfiguration, ScriptRunConfig)
from gantry import _snapshot
from gantry._convert import filter_matches as _filter_matches, run_relative as _run_relative
from gantry.compute import _wrap
from gantry.errors import (AlreadyExistsError, FailedPreconditionError, GantryError,
                           InvalidArgumentError, NotFoundError, UnavailableError,
                           UnimplementedError)
from gantry.model import _dataset_refs, _registration_body


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def write(folder, files):
    for rel, content in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content)
    return folder


def registered(name="mnist-dataset", version=3, kind="uri_folder"):
    return FileDataset._registered(object(), {"name": name, "version": version,
                                              "id": "%s:%d" % (name, version), "type": kind,
                                              "tree_id": "t" * 64, "sources": ["x"]})


# ----------------------------------------------------------------------------- local paths

def test_local_paths_follow_the_cli_rules(tmp_path):
    a = write(tmp_path / "a", {"x.txt": "1", "sub/y.txt": "2"})
    b = write(tmp_path / "b", {"z.txt": "3"})
    write(tmp_path, {"f.csv": "4", "g.csv": "5", "h.txt": "6"})

    def paths(*given, root=True):
        return [e.path for e in _snapshot.snapshot_local_paths([str(p) for p in given], root).entries]

    assert paths(a) == ["sub/y.txt", "x.txt"]                     # one folder alone: at the root
    assert paths(str(a) + "/") == ["sub/y.txt", "x.txt"]
    assert paths(a, root=False) == ["a/sub/y.txt", "a/x.txt"]
    assert paths(a, b) == ["a/sub/y.txt", "a/x.txt", "b/z.txt"]   # several: named folders
    assert paths(a, tmp_path / "h.txt") == ["a/sub/y.txt", "a/x.txt", "h.txt"]
    assert paths(tmp_path / "*.csv") == ["f.csv", "g.csv"]        # files keep their names
    assert paths(tmp_path / "[ab]") == ["a/sub/y.txt", "a/x.txt", "b/z.txt"]
    with pytest.raises(NotFoundError, match="matches no file"):
        paths(tmp_path / "*.nope")
    with pytest.raises(NotFoundError, match="does not exist"):
        paths(tmp_path / "missing")
    write(tmp_path / "c", {"h.txt": "other"})
    with pytest.raises(InvalidArgumentError, match="both upload 'h.txt'"):
        paths(tmp_path / "h.txt", tmp_path / "c" / "h.txt")


def test_named_snapshots_keep_the_folder_name(tmp_path):
    folder = write(tmp_path / "my_model", {"w.bin": "w", "cfg/c.json": "{}"})
    os.chmod(folder / "w.bin", 0o755)
    snap = _snapshot.snapshot_named(str(folder))
    assert [(e.path, e.mode) for e in snap.entries] == [("my_model/cfg/c.json", 0o644),
                                                         ("my_model/w.bin", 0o755)]
    assert [e.path for e in _snapshot.snapshot_named(str(folder), "outputs/model").entries] == [
        "outputs/model/cfg/c.json", "outputs/model/w.bin"]
    single = _snapshot.snapshot_named(str(folder / "w.bin"))
    assert [e.path for e in single.entries] == ["w.bin"] and len(single.blob_sources) == 1
    with pytest.raises(NotFoundError):
        _snapshot.snapshot_named(str(tmp_path / "nope"))


# ----------------------------------------------------------------------------- datasets

def test_from_files_checks_paths_and_lists_files(tmp_path):
    write(tmp_path / "d", {"a.txt": "1"})
    urls = ["http://h/exdb/mnist/train.gz?x=1", "https://h/t10k.gz", "file:///srv/labels.gz"]
    ds = Dataset.File.from_files(path=urls + [str(tmp_path / "d")])
    assert isinstance(ds, FileDataset) and not ds.is_registered
    assert (ds.name, ds.version, ds.id) == (None, None, None)
    assert ds.to_path() == ["/a.txt", "/labels.gz", "/t10k.gz", "/train.gz"]
    assert Dataset.File.from_files(urls[0]).sources == [urls[0]]
    with pytest.raises(NotFoundError, match="missing"):
        Dataset.File.from_files([urls[0], str(tmp_path / "missing")])
    Dataset.File.from_files(str(tmp_path / "missing"), validate=False)  # checked at register
    with pytest.raises(TypeError, match="datastore"):
        Dataset.File.from_files([("datastore", "path")])
    with pytest.raises(InvalidArgumentError):
        Dataset.File.from_files([])
    with pytest.raises(UnimplementedError, match="tabular"):
        Dataset.Tabular.from_delimited_files("x.csv")
    with pytest.raises(TypeError):
        Dataset()


def test_unregistered_datasets_must_be_registered_to_be_downloaded(tmp_path):
    ds = Dataset.File.from_files("http://h/a.gz")
    with pytest.raises(FailedPreconditionError, match="register it first"):
        ds.download()


def test_unregistered_datasets_are_inputs_registered_at_submit():
    ds = Dataset.File.from_files("http://h/a.gz")
    # Before submit there is no workspace to register it in: the spec says so.
    assert ds.as_named_input("mnist").as_mount()._gantry_input() == (
        "mnist", {"type": "uri_folder", "path": "(registered at submit)", "mode": "ro_mount"}, None)
    assert ds.as_download()._gantry_input()[0] == "input"
    # The implicit name depends on the sources only.
    assert ds._implicit_name() == Dataset.File.from_files("http://h/a.gz")._implicit_name()
    assert ds._implicit_name() != Dataset.File.from_files("http://h/b.gz")._implicit_name()
    assert ds._implicit_name().startswith("anonymous-")


def test_registered_datasets_become_job_inputs():
    ds = registered()
    assert ds.id == "mnist-dataset:3" and ds.version == 3
    mount = ds.as_mount()
    assert mount._gantry_input() == ("mnist_dataset", {
        "type": "uri_folder", "path": "azureml:mnist-dataset:3", "mode": "ro_mount"}, None)
    assert ds.as_download()._gantry_input()[1]["mode"] == "download"
    named = ds.as_named_input("train")
    assert isinstance(named, DatasetConsumptionConfig) and named.mode == "direct"
    assert named._gantry_input() == ("train", {"type": "uri_folder",
                                               "path": "azureml:mnist-dataset:3"}, None)
    assert named.as_mount()._gantry_input()[0] == "train"
    assert registered("9lives", 1).as_mount().name == "_9lives"
    with pytest.raises(InvalidArgumentError, match="input name"):
        ds.as_named_input("bad-name")
    with pytest.warns(UserWarning, match="path_on_compute"):
        ds.as_mount(path_on_compute="/tmp/data")

    src = ScriptRunConfig("src", "train.py", arguments=["--data-folder", mount, "--batch-size", 64,
                                                        "--again", ds.as_mount()])
    spec, trees = src._job_spec("exp")
    assert spec["command"] == ("python train.py --data-folder ${{inputs.mnist_dataset}} "
                               "--batch-size 64 --again ${{inputs.mnist_dataset}}")
    assert spec["inputs"] == {"mnist_dataset": {"type": "uri_folder", "mode": "ro_mount",
                                                "path": "azureml:mnist-dataset:3"}}
    assert trees == {}
    clash = ScriptRunConfig("src", "t.py", arguments=[mount, ds.as_download()])
    with pytest.raises(InvalidArgumentError, match="two different inputs"):
        clash._job_spec()


# ----------------------------------------------------------------------------- compute

def test_provisioning_configuration():
    config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=4)
    assert config._gantry_body() == {"type": "amlcompute", "vm_size": "STANDARD_NC6", "min_nodes": 0,
                                     "max_nodes": 4, "idle_seconds_before_scaledown": 1800}
    assert "vm_size" not in AmlCompute.provisioning_configuration()._gantry_body()
    AmlCompute.provisioning_configuration(vm_priority="lowpriority", vnet_name="ignored")
    for bad in ({"max_nodes": 0}, {"min_nodes": 5, "max_nodes": 2}, {"vm_priority": "spot"},
                {"idle_seconds_before_scaledown": -1}, {"max_nodes": 1.5}):
        with pytest.raises(InvalidArgumentError):
            AmlCompute.provisioning_configuration(**bad)


def test_compute_errors_are_both_kinds():
    missing = _wrap(NotFoundError("compute target 'gpu-cluster' not found"))
    assert isinstance(missing, ComputeTargetException) and isinstance(missing, NotFoundError)
    assert missing.code == "NotFound" and "gpu-cluster" in str(missing)
    taken = _wrap(AlreadyExistsError("taken"))
    assert isinstance(taken, ComputeTargetException) and isinstance(taken, AlreadyExistsError)
    assert type(_wrap(NotFoundError("x"))) is type(missing)
    away = UnavailableError("down")
    assert _wrap(away) is away
    assert issubclass(ComputeTargetException, GantryError)


# ----------------------------------------------------------------------------- models

def test_resource_configuration():
    rc = ResourceConfiguration(cpu=1, memory_in_gb=0.5)
    assert rc.serialize() == {"cpu": 1, "memory_in_gb": 0.5, "gpu": None}
    assert ResourceConfiguration.deserialize(rc.serialize()) == rc
    assert ResourceConfiguration.deserialize({"cpu": 2, "memoryInGB": 4, "gpu": 1}).serialize() == {
        "cpu": 2, "memory_in_gb": 4, "gpu": 1}
    assert ResourceConfiguration.deserialize(None) is None
    for bad in ({"cpu": 0}, {"memory_in_gb": -1}, {"gpu": 0.5}, {"cpu": "one"}, {"gpu": True}):
        with pytest.raises(InvalidArgumentError):
            ResourceConfiguration(**bad)


def test_registration_body_and_helpers():
    ds = registered()
    body = _registration_body("tf-mnist", {"a": 1}, {"acc": 0.9}, None, Model.Framework.PYTORCH,
                              "1.13", ResourceConfiguration(cpu=1, memory_in_gb=0.5),
                              [("training", ds)], sample_input_dataset=registered("other", 1))
    assert body == {"name": "tf-mnist", "description": "", "framework": "PyTorch",
                    "framework_version": "1.13", "tags": {"a": "1"}, "properties": {"acc": "0.9"},
                    "resource_configuration": {"cpu": 1, "memory_in_gb": 0.5, "gpu": None},
                    "datasets": [{"name": "mnist-dataset", "version": 3},
                                 {"name": "other", "version": 1}]}
    assert _registration_body("m", None, None, None, None, None, None, None)["framework"] == "Custom"
    assert _dataset_refs([ds, ds.as_mount(), "x:2"]) == [{"name": "mnist-dataset", "version": 3},
                                                          {"name": "x", "version": 2}]
    with pytest.raises(FailedPreconditionError):
        _dataset_refs([Dataset.File.from_files("http://h/a.gz")])
    assert [_run_relative(p) for p in ("outputs/model", "./outputs/model/", "m.pkl")] == [
        "outputs/model", "outputs/model", "m.pkl"]
    for bad in ("", "/abs", "../up", "a/../b"):
        with pytest.raises(InvalidArgumentError):
            _run_relative(bad)
    tags = {"stage": "dev", "team": "cv"}
    assert _filter_matches(tags, ["stage", ["team", "cv"]]) and _filter_matches(tags, None)
    assert not _filter_matches(tags, [["stage", "prod"]]) and not _filter_matches(tags, ["owner"])
    assert _filter_matches(tags, {"stage": "dev"})
    assert (Model.Framework.TENSORFLOW, Model.Framework.SCIKITLEARN, Model.Framework.ONNX,
            Model.Framework.CUSTOM) == ("TensorFlow", "ScikitLearn", "Onnx", "Custom")
    with pytest.raises(TypeError, match="Workspace"):   # deploying: see test_webservice.py
        Model.deploy(None, "svc", [])


def test_offline_run_cannot_register_models():
    from gantry import Run
    from gantry.run import _reset_context
    _reset_context()
    env = {k: os.environ.pop(k) for k in ("GANTRY_RUN_ID", "GANTRY_METRICS_FILE") if k in os.environ}
    try:
        with pytest.raises(FailedPreconditionError, match="Model.register"):
            Run.get_context().register_model("m", "outputs/m.pkl")
    finally:
        os.environ.update(env)
        _reset_context()
