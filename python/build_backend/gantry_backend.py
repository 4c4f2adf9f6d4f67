"""A minimal, standard-library-only PEP 517 / PEP 660 build backend for the gantry SDK.

Why not setuptools: pip builds in an isolated environment and would have to download
setuptools from an index, which offline machines cannot reach. This backend needs
nothing, so ``pip install ./python`` (and ``pip install -e ./python``) works offline on
any Python 3.9+. It packs the pure-Python packages ``gantry/`` and ``azureml/`` (the
azureml.core v1 compatibility layer over gantry) into one ``py3-none-any`` wheel; name,
version, description and requires-python come from pyproject.toml.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ["gantry", "azureml"]
SDIST_FILES = ["pyproject.toml", "README.md", "build_backend/gantry_backend.py"]


def _project():
    """Reads the string keys of pyproject.toml's [project] table."""
    fields, section = {}, None
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                section = line.strip("[] ")
            m = re.match(r'^([A-Za-z][\w-]*)\s*=\s*"([^"]*)"\s*$', line)
            if section == "project" and m:
                fields[m.group(1)] = m.group(2)
    return fields


def _metadata():
    p = _project()
    lines = ["Metadata-Version: 2.1", "Name: " + p["name"], "Version: " + p["version"],
             "Summary: " + p.get("description", "")]
    if "requires-python" in p:
        lines.append("Requires-Python: " + p["requires-python"])
    readme = os.path.join(ROOT, p.get("readme", "README.md"))
    body = ""
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = "\n" + f.read()
    return p["name"], p["version"], "\n".join(lines) + "\n" + body


def _package_files():
    for package in PACKAGES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, package)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if not name.endswith((".pyc", ".pyo")):
                    full = os.path.join(dirpath, name)
                    yield os.path.relpath(full, ROOT).replace(os.sep, "/"), full


def _write_wheel(wheel_directory, files):
    """files: list of (archive name, bytes). Adds dist-info and RECORD; returns the name."""
    name, version, metadata = _metadata()
    dist_info = "%s-%s.dist-info" % (name, version)
    wheel_meta = ("Wheel-Version: 1.0\nGenerator: gantry_backend\n"
                  "Root-Is-Purelib: true\nTag: py3-none-any\n")
    files = files + [(dist_info + "/METADATA", metadata.encode("utf-8")),
                     (dist_info + "/WHEEL", wheel_meta.encode("utf-8"))]
    record = []
    for arcname, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))
    record.append(dist_info + "/RECORD,,")
    files.append((dist_info + "/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    filename = "%s-%s-py3-none-any.whl" % (name, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for arcname, full in _package_files():
        with open(full, "rb") as f:
            files.append((arcname, f.read()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, _ = _metadata()
    pth = ("__editable__.%s-%s.pth" % (name, version), (ROOT + "\n").encode("utf-8"))
    return _write_wheel(wheel_directory, [pth])


def build_sdist(sdist_directory, config_settings=None):
    name, version, metadata = _metadata()
    base = "%s-%s" % (name, version)
    filename = base + ".tar.gz"
    paths = [(p, os.path.join(ROOT, p)) for p in SDIST_FILES if os.path.exists(os.path.join(ROOT, p))]
    paths += list(_package_files())
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        def add(arcname, data):
            info = tarfile.TarInfo(base + "/" + arcname)
            info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
            tf.addfile(info, io.BytesIO(data))
        add("PKG-INFO", metadata.encode("utf-8"))
        for arcname, full in paths:
            with open(full, "rb") as f:
                add(arcname, f.read())
    return filename
