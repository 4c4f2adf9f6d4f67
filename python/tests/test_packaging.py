"""The in-tree build backend produces an installable pure-Python wheel and an sdist."""

import os
import sys
import tarfile
import zipfile

import gantry

PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(PYTHON_DIR, "build_backend"))

import gantry_backend  # noqa: E402


def test_wheel_contents(tmp_path):
    assert gantry_backend.get_requires_for_build_wheel() == []
    name = gantry_backend.build_wheel(str(tmp_path))
    assert name == "gantry-%s-py3-none-any.whl" % gantry.__version__
    with zipfile.ZipFile(str(tmp_path / name)) as zf:
        names = set(zf.namelist())
        metadata = zf.read("gantry-%s.dist-info/METADATA" % gantry.__version__).decode()
        record = zf.read("gantry-%s.dist-info/RECORD" % gantry.__version__).decode()
    for module in ("__init__", "errors", "_http", "run", "workspace", "experiment",
                   "script_run_config", "script_run", "_snapshot", "_ignore", "_trees",
                   "dataset", "compute", "model", "resource_configuration", "distributed"):
        assert "gantry/%s.py" % module in names
    for module in ("__init__", "exceptions", "core/__init__", "core/run", "core/experiment",
                   "core/workspace", "core/script_run_config", "core/compute",
                   "core/compute_target", "core/dataset", "core/model",
                   "core/resource_configuration", "core/runconfig", "data/__init__",
                   "data/file_dataset"):
        assert "azureml/%s.py" % module in names
    assert not any("__pycache__" in n for n in names)
    assert "Name: gantry\n" in metadata and "Version: %s\n" % gantry.__version__ in metadata
    assert "Requires-Python: >=3.9\n" in metadata
    assert len(record.splitlines()) == len(names)


def test_sdist_and_editable(tmp_path):
    sdist = gantry_backend.build_sdist(str(tmp_path))
    with tarfile.open(str(tmp_path / sdist)) as tf:
        names = tf.getnames()
    base = "gantry-%s/" % gantry.__version__
    assert base + "pyproject.toml" in names and base + "gantry/run.py" in names
    assert base + "azureml/core/__init__.py" in names
    assert base + "build_backend/gantry_backend.py" in names and base + "PKG-INFO" in names
    editable = gantry_backend.build_editable(str(tmp_path))
    with zipfile.ZipFile(str(tmp_path / editable)) as zf:
        pth = [n for n in zf.namelist() if n.endswith(".pth")]
        assert zf.read(pth[0]).decode().strip() == PYTHON_DIR
