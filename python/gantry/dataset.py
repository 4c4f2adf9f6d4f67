"""File datasets (azureml.core v1's ``Dataset.File``): versioned sets of files pinned by content.

::

    from gantry import Dataset

    web_paths = ["https://example.org/mnist/train-images-idx3-ubyte.gz", ...]
    dataset = Dataset.File.from_files(path=web_paths)           # unregistered: nothing sent yet
    dataset = dataset.register(workspace=ws, name="mnist-dataset",
                               description="training and test dataset", create_new_version=True)
    dataset.to_path()        # ['/t10k-images-idx3-ubyte.gz', ...]
    args = ["--data-folder", dataset.as_mount()]                # ScriptRunConfig arguments

``path`` is a string or a list of them: ``http://``, ``https://`` and ``file://`` URLs, which
the *server* fetches when the dataset is registered (each file named after the URL's last
segment), and local files, folders and globs, which are uploaded as one tree (only files the
server lacks are sent). Local paths follow ``gantry data create``: files keep their names; a
single folder given alone lands at the dataset's root; several folders keep their names.

A version pins its files: registering the same content again returns the existing version;
changed content needs ``create_new_version=True`` (else ``AlreadyExistsError``).

In a job, ``dataset.as_mount()`` and ``dataset.as_download()`` become the input
``{"type": "uri_folder", "path": "azureml:NAME:VERSION", "mode": "ro_mount" | "download"}``
named after the dataset (``mnist-dataset`` -> ``mnist_dataset``), and the argument becomes
the local folder the runner puts the files in. ``ro_mount`` is a read-only copy, ``download``
a private writable one. ``as_named_input(name)`` picks the input's name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _paths
from ._names import check_name
from ._snapshot import expand_local_paths, snapshot_local_paths, upload_snapshot
from ._trees import download_tree, tree_entries
from ._workspace_base import check_workspace
from .errors import FailedPreconditionError, InvalidArgumentError, UnimplementedError

__all__ = ["Dataset", "FileDataset", "DatasetConsumptionConfig"]

_URL_SCHEMES = ("http://", "https://", "file://")
_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _is_url(path: str) -> bool:
    return path.lower().startswith(_URL_SCHEMES)


def _input_name_for(dataset_name: str) -> str:
    """A job input name ([A-Za-z_][A-Za-z0-9_]*) made from a dataset name."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", dataset_name)
    if not name or name[0].isdigit():
        name = "_" + name
    return name


def _parse_version(version: Any) -> Optional[int]:
    """None for 'latest'; else a positive int (InvalidArgumentError otherwise)."""
    if version is None or (isinstance(version, str) and version.strip().lower() == "latest"):
        return None
    if isinstance(version, bool):
        raise InvalidArgumentError("version must be 'latest' or a positive int, got %r" % (version,))
    try:
        n = int(version)
    except (TypeError, ValueError):
        raise InvalidArgumentError("version must be 'latest' or a positive int, got %r"
                                   % (version,)) from None
    if n <= 0 or (isinstance(version, float) and version != n):
        raise InvalidArgumentError("version must be 'latest' or a positive int, got %r" % (version,))
    return n


class _FileDatasetFactory:
    """``Dataset.File``: makes file datasets."""

    @staticmethod
    def from_files(path: Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]]],
                   validate: bool = True, partition_format: Optional[str] = None,
                   is_file: bool = False) -> "FileDataset":
        """An unregistered :class:`FileDataset` of ``path``: a string or a list of them, each
        an http(s):// or file:// URL or a local file, folder or glob.

        With ``validate`` (the default) local paths must exist and globs must match now
        (NotFoundError); URLs are checked by the server when the dataset is registered.
        ``is_file=True`` makes a single-file (``uri_file``) dataset. Datastore paths and
        ``partition_format`` are not supported.
        """
        if partition_format is not None:
            raise UnimplementedError("partition_format is not supported by Gantry datasets")
        items = [path] if isinstance(path, (str, os.PathLike)) else path
        if not isinstance(items, (list, tuple)):
            raise TypeError("path must be a str or a list of str, got %s" % type(path).__name__)
        paths: List[str] = []
        for item in items:
            if isinstance(item, os.PathLike):
                item = os.fspath(item)
            if not isinstance(item, str):
                raise TypeError(
                    "each path must be a URL or a local path (str), got %s; datastore paths are "
                    "not supported in Gantry: pass local paths or http(s)/file URLs"
                    % type(item).__name__)
            if not item.strip():
                raise InvalidArgumentError("a dataset path must not be empty")
            paths.append(item)
        if not paths:
            raise InvalidArgumentError("give at least one path or URL")
        if validate:
            expand_local_paths([p for p in paths if not _is_url(p)])
        return FileDataset._unregistered(paths, "uri_file" if is_file else "uri_folder")


class _TabularDatasetFactory:
    """``Dataset.Tabular``: not available in Gantry."""

    def __getattr__(self, name: str) -> Any:
        raise UnimplementedError(
            "tabular datasets are not supported by Gantry; use Dataset.File.from_files(...) "
            "and read the files in the script")


class Dataset:
    """The dataset API's entry point: ``Dataset.File.from_files(...)``,
    ``Dataset.get_by_name(ws, name)``. Registered datasets are :class:`FileDataset`."""

    File = _FileDatasetFactory()
    Tabular = _TabularDatasetFactory()

    def __init__(self) -> None:
        raise TypeError("create datasets with Dataset.File.from_files(...) or find them with "
                        "Dataset.get_by_name(workspace, name)")

    @staticmethod
    def get_by_name(workspace: Any, name: str, version: Union[str, int] = "latest") -> "FileDataset":
        """The registered dataset ``name``: its latest version, or ``version`` (an int).
        NotFoundError when there is none."""
        check_workspace(workspace)
        check_name("dataset name", name)
        data = workspace._client().get(_paths.dataset(name, _parse_version(version))) or {}
        return FileDataset._registered(workspace, data)

    @staticmethod
    def get_by_id(workspace: Any, id: str) -> "FileDataset":
        """The registered dataset version with id ``"NAME:VERSION"`` (``dataset.id``)."""
        if not isinstance(id, str) or ":" not in id:
            raise InvalidArgumentError("a dataset id looks like 'NAME:VERSION', got %r" % (id,))
        name, _, version = id.rpartition(":")
        return Dataset.get_by_name(workspace, name, version)

    @staticmethod
    def get_all(workspace: Any) -> Dict[str, "FileDataset"]:
        """``{name: latest version}`` of every registered dataset."""
        return {d.name: d for d in Dataset.list(workspace)}

    @staticmethod
    def list(workspace: Any) -> List["FileDataset"]:
        """The latest version of every registered dataset, by name."""
        check_workspace(workspace)
        body = workspace._client().get(_paths.datasets()) or {}
        latest: Dict[str, Dict[str, Any]] = {}
        for d in body.get("datasets") or []:
            if d.get("name") not in latest or d.get("version", 0) > latest[d["name"]].get("version", 0):
                latest[d["name"]] = d
        return [FileDataset._registered(workspace, latest[n]) for n in sorted(latest)]


class FileDataset(Dataset):
    """A set of files: unregistered (from ``Dataset.File.from_files``) or a registered version.

    Registered ones have ``name``, ``version``, ``id`` (``"NAME:VERSION"``), ``description``,
    ``tags``, ``sources`` and ``tree_id``; for an unregistered one these are None (``sources``
    lists the paths given).
    """

    def __init__(self) -> None:  # noqa: D401 - azureml users never construct one directly
        raise TypeError("create datasets with Dataset.File.from_files(...) or find them with "
                        "Dataset.get_by_name(workspace, name)")

    @classmethod
    def _unregistered(cls, paths: List[str], kind: str) -> "FileDataset":
        self = object.__new__(cls)
        self._workspace = None
        self._data = None
        self._paths = list(paths)
        self._type = kind
        return self

    @classmethod
    def _registered(cls, workspace: Any, data: Dict[str, Any]) -> "FileDataset":
        if not isinstance(data, dict) or not data.get("name") or not data.get("tree_id"):
            raise InvalidArgumentError("the server answered without a dataset: %r" % (data,))
        self = object.__new__(cls)
        self._workspace = workspace
        self._data = data
        self._paths = list(data.get("sources") or [])
        self._type = data.get("type") or "uri_folder"
        return self

    # -- identity

    @property
    def is_registered(self) -> bool:
        return self._data is not None

    @property
    def name(self) -> Optional[str]:
        return self._data["name"] if self._data else None

    @property
    def version(self) -> Optional[int]:
        return self._data.get("version") if self._data else None

    @property
    def id(self) -> Optional[str]:
        """``"NAME:VERSION"`` for a registered dataset, else None."""
        if not self._data:
            return None
        return self._data.get("id") or "%s:%s" % (self.name, self.version)

    @property
    def description(self) -> Optional[str]:
        return self._data.get("description") if self._data else None

    @property
    def tags(self) -> Dict[str, str]:
        return dict(self._data.get("tags") or {}) if self._data else {}

    @property
    def sources(self) -> List[str]:
        """The URLs and local paths the dataset was made from."""
        return list(self._paths)

    @property
    def tree_id(self) -> Optional[str]:
        """The id of the tree that pins the files (registered datasets)."""
        return self._data.get("tree_id") if self._data else None

    @property
    def workspace(self) -> Any:
        return self._workspace

    @property
    def data_changed_time(self) -> Optional[str]:
        return self._data.get("created_at") if self._data else None

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, FileDataset):
            return NotImplemented
        if self._data or other._data:
            return bool(self._data and other._data) and (self._workspace, self.id, self.tree_id) == (
                other._workspace, other.id, other.tree_id)
        return (self._paths, self._type) == (other._paths, other._type)

    def __hash__(self) -> int:
        return hash((self.id, self.tree_id) if self._data else tuple(self._paths))

    def __repr__(self) -> str:
        out: Dict[str, Any] = {"source": self._paths, "definition": ["GetFiles"]}
        if self._data:
            out["registration"] = {"id": self.id, "name": self.name, "version": self.version,
                                   "description": self.description or "",
                                   "workspace": repr(self._workspace)}
            if self.tags:
                out["registration"]["tags"] = self.tags
        return "FileDataset\n" + json.dumps(out, indent=2)

    # -- registering

    def register(self, workspace: Any, name: str, description: Optional[str] = None,
                 tags: Optional[Dict[str, Any]] = None, create_new_version: bool = False) -> "FileDataset":
        """Registers the files under ``name`` and returns the registered version.

        Local files are uploaded first (only those the server lacks); URLs are fetched by the
        server (NotFoundError or UnavailableError naming a URL that fails; nothing is
        registered then). Same content as the latest version gives that version back;
        changed content needs ``create_new_version=True``, else AlreadyExistsError.
        """
        check_workspace(workspace)
        check_name("dataset name", name)
        if description is not None and not isinstance(description, str):
            raise TypeError("description must be a str, got %s" % type(description).__name__)
        if not isinstance(create_new_version, bool):
            raise TypeError("create_new_version must be True or False")
        body: Dict[str, Any] = {
            "name": name, "description": description or "", "type": self._type,
            "tags": {str(k): "" if v is None else str(v) for k, v in (tags or {}).items()},
            "create_new_version": create_new_version,
        }
        client = workspace._client(timeout=600)  # the server fetches URLs before answering
        if self._data:
            # Already registered (maybe in another name): the same pinned files.
            body["tree_id"] = self._data["tree_id"]
            body["sources"] = list(self._paths)
        else:
            urls = [p for p in self._paths if _is_url(p)]
            local = [p for p in self._paths if not _is_url(p)]
            body["urls"] = urls
            body["sources"] = [p if _is_url(p) else os.path.normpath(os.path.abspath(p))
                               for p in self._paths]
            if local:
                body["tree_id"] = upload_snapshot(client, snapshot_local_paths(local, True))
        data = client.post(_paths.datasets(), body) or {}
        return FileDataset._registered(workspace, data)

    # -- files

    def _require_registered(self, what: str) -> None:
        if not self._data:
            raise FailedPreconditionError(
                "this dataset is not registered: register it first, e.g. "
                "dataset = dataset.register(workspace=ws, name='my-dataset'), then use %s" % what)

    def to_path(self) -> List[str]:
        """The dataset's files as paths from its root: ``['/a.csv', '/sub/b.csv']``.

        For an unregistered dataset, computed locally: URL files are named after the URL's
        last segment, local files as they would be uploaded.
        """
        if self._data:
            return ["/" + e["path"] for e in tree_entries(self._workspace._client(), self.tree_id)]
        names = []
        local = [p for p in self._paths if not _is_url(p)]
        if local:
            names += [e.path for e in snapshot_local_paths(local, True).entries]
        for url in self._paths:
            if _is_url(url):  # named as the server names it: the last segment, as written
                rest = re.split(r"[?#]", url, maxsplit=1)[0].split("://", 1)[-1]
                names.append(rest.rsplit("/", 1)[-1] if "/" in rest else "")
        return ["/" + n for n in sorted(names, key=lambda n: n.encode("utf-8"))]

    def download(self, target_path: Optional[str] = None, overwrite: bool = False,
                 ignore_not_found: bool = False) -> List[str]:
        """Downloads the files below ``target_path`` (default: a new temporary folder) and
        returns their local paths. Each file is checked against its SHA-256. Without
        ``overwrite``, AlreadyExistsError before anything is written when a file exists."""
        self._require_registered("download()")
        if target_path is None:
            target_path = tempfile.mkdtemp(prefix="gantry-dataset-")
        return download_tree(self._workspace._client(timeout=600), self.tree_id,
                             os.fspath(target_path), overwrite)

    # -- job inputs

    def as_named_input(self, name: str) -> "DatasetConsumptionConfig":
        """This dataset as the job input ``name`` (letters, digits and ``_``, not starting with
        a digit); call ``.as_mount()`` or ``.as_download()`` on the result to pick the mode.
        An unregistered dataset is registered when the run is submitted (see
        :meth:`DatasetConsumptionConfig._gantry_input`)."""
        return DatasetConsumptionConfig(name, self)

    def as_mount(self, path_on_compute: Optional[str] = None) -> "DatasetConsumptionConfig":
        """A read-only copy of the files as a job input: put it in ScriptRunConfig's
        ``arguments`` and the script gets the folder's path."""
        return DatasetConsumptionConfig(self._input_name(), self).as_mount(path_on_compute)

    def as_download(self, path_on_compute: Optional[str] = None) -> "DatasetConsumptionConfig":
        """A private, writable copy of the files as a job input (see :meth:`as_mount`)."""
        return DatasetConsumptionConfig(self._input_name(), self).as_download(path_on_compute)

    def _input_name(self) -> str:
        # Azure names an unnamed input "input__" plus a short id; "input" is plainer.
        return _input_name_for(self.name) if self._data else "input"

    def _implicit_name(self) -> str:
        """The name an unregistered dataset is registered under when a run uses it:
        ``anonymous-`` and 16 hex digits of the hash of its type and sources (local paths
        made absolute), so the same sources always land in the same dataset."""
        sources = [p if _is_url(p) else os.path.normpath(os.path.abspath(p)) for p in self._paths]
        digest = hashlib.sha256(json.dumps([self._type, sources]).encode("utf-8")).hexdigest()
        return "anonymous-" + digest[:16]

    def _registered_in(self, workspace: Any) -> "FileDataset":
        """This dataset as registered in ``workspace``: itself when registered; else registered
        now under :meth:`_implicit_name` (a new version when its files changed; the same
        version when not), once per dataset object and workspace."""
        if self._data:
            return self
        implicit = self.__dict__.setdefault("_implicit", {})
        if workspace not in implicit:
            implicit[workspace] = self.register(
                workspace, self._implicit_name(), create_new_version=True,
                description="registered by Gantry when a run used this unregistered dataset "
                            "as an input; sources: " + ", ".join(self._paths)[:2000])
        return implicit[workspace]


class DatasetConsumptionConfig:
    """How a run consumes a registered dataset: the input's ``name``, the ``dataset`` and the
    ``mode`` (``"mount"``, ``"download"`` or ``"direct"``, which Gantry treats as a
    read-only copy). ScriptRunConfig turns it into the job input ``inputs.NAME``."""

    _MODES = {"mount": "ro_mount", "download": "download", "direct": None}

    def __init__(self, name: str, dataset: FileDataset, mode: str = "direct",
                 path_on_compute: Optional[str] = None):
        if not isinstance(name, str) or not _INPUT_NAME.match(name):
            raise InvalidArgumentError(
                "input name %r is not valid: use letters, digits and '_', not starting with a "
                "digit" % (name,))
        if not isinstance(dataset, FileDataset):
            raise TypeError("dataset must be a FileDataset, got %s" % type(dataset).__name__)
        if mode not in self._MODES:
            raise InvalidArgumentError("mode must be mount, download or direct, got %r" % (mode,))
        if path_on_compute is not None:
            warnings.warn("path_on_compute is ignored by Gantry: the runner picks the folder and "
                          "passes its path in the argument", stacklevel=3)
        self.name = name
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = path_on_compute

    def as_mount(self, path_on_compute: Optional[str] = None) -> "DatasetConsumptionConfig":
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def as_download(self, path_on_compute: Optional[str] = None) -> "DatasetConsumptionConfig":
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    def _gantry_input(self, workspace: Any = None):
        """ScriptRunConfig's hook: ``(input name, job input, None)``; the server resolves
        the ``azureml:NAME:VERSION`` reference to the version's files. An unregistered
        dataset is registered in ``workspace`` first, as Azure does with the datasets a run
        uses, under the name ``anonymous-<hash of its sources>`` (see
        :meth:`FileDataset._implicit_name`); without a workspace (a spec built before
        submit) its path reads ``(registered at submit)``."""
        dataset = self.dataset
        if not dataset.is_registered and workspace is not None:
            dataset = dataset._registered_in(workspace)
        if dataset.is_registered:
            path = "azureml:%s:%d" % (dataset.name, dataset.version)
        else:
            path = "(registered at submit)"
        spec: Dict[str, Any] = {"type": dataset._type, "path": path}
        mode = self._MODES[self.mode]
        if mode:
            spec["mode"] = mode
        return self.name, spec, None

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, DatasetConsumptionConfig) and (
            self.name, self.dataset, self.mode) == (other.name, other.dataset, other.mode)

    def __hash__(self) -> int:
        return hash((self.name, self.mode))

    def __repr__(self) -> str:
        return "DatasetConsumptionConfig(name=%r, dataset=%r, mode=%r)" % (
            self.name, self.dataset.id, self.mode)
