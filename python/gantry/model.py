"""The model registry (azureml.core v1's ``Model``): versioned, immutable sets of files.

::

    from gantry import Model, ResourceConfiguration

    # From a finished run's files (outputs/model/... becomes model/... in the model):
    model = run.register_model(model_name="tf-mnist", model_path="outputs/model",
                               model_framework=Model.Framework.TENSORFLOW,
                               model_framework_version="2.0",
                               resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5))
    # From local files (a folder keeps its name):
    model = Model.register(ws, model_path="./my_model", model_name="tf-mnist")

    model = Model(ws, "tf-mnist")                  # the latest version; version=1 for another
    path = model.download(target_dir="./dl")        # './dl/model'
    service = Model.deploy(ws, "tf-mnist-service", [model])   # a web service (gantry.webservice)

Each registration of a name makes its next version. Tags can be changed later
(``add_tags``, ``remove_tags``); properties can be added but never changed
(``FailedPreconditionError``).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from . import _paths
from ._convert import filter_matches, parse_time, run_relative, strings
from ._names import check_name
from ._snapshot import Snapshot, snapshot_named, upload_snapshot
from ._trees import download_tree, tree_entries
from ._workspace_base import check_workspace
from .dataset import DatasetConsumptionConfig, FileDataset
from .errors import InvalidArgumentError, NotFoundError
from .inference_config import InferenceConfig
from .resource_configuration import ResourceConfiguration

__all__ = ["Model", "InferenceConfig"]


def _version(version: Any) -> Optional[int]:
    if version is None:
        return None
    if isinstance(version, bool):
        raise InvalidArgumentError("version must be a positive int, got %r" % (version,))
    try:
        n = int(version)
    except (TypeError, ValueError):
        raise InvalidArgumentError("version must be a positive int, got %r" % (version,)) from None
    if n <= 0:
        raise InvalidArgumentError("version must be a positive int, got %r" % (version,))
    return n


def _dataset_refs(datasets: Any, extra: Sequence[Any] = ()) -> List[Dict[str, Any]]:
    """``[{"name", "version"}]`` from a list of datasets, ``(scenario, dataset)`` tuples
    (azureml's shape), consumption configs or ``"NAME:VERSION"`` ids."""
    items = list(datasets or []) + [d for d in extra if d is not None]
    refs: List[Dict[str, Any]] = []
    for item in items:
        ds = item[1] if isinstance(item, tuple) and len(item) == 2 else item
        if isinstance(ds, DatasetConsumptionConfig):
            ds = ds.dataset
        if isinstance(ds, FileDataset):
            ds._require_registered("it in a model's datasets")
            ref = {"name": ds.name, "version": ds.version}
        elif isinstance(ds, str) and ":" in ds:
            name, _, version = ds.rpartition(":")
            ref = {"name": name, "version": _version(version)}
        elif isinstance(ds, dict) and "name" in ds and "version" in ds:
            ref = {"name": str(ds["name"]), "version": _version(ds["version"])}
        else:
            raise TypeError("datasets must hold registered datasets or (scenario, dataset) "
                            "tuples, got %r" % (item,))
        if ref not in refs:
            refs.append(ref)
    return refs


def _registration_body(name: str, tags: Any, properties: Any, description: Optional[str],
                       model_framework: Optional[str], model_framework_version: Optional[str],
                       resource_configuration: Any, datasets: Any,
                       sample_input_dataset: Any = None, sample_output_dataset: Any = None
                       ) -> Dict[str, Any]:
    check_name("model name", name)
    for field, value in (("description", description), ("model_framework", model_framework),
                         ("model_framework_version", model_framework_version)):
        if value is not None and not isinstance(value, str):
            raise TypeError("%s must be a str, got %s" % (field, type(value).__name__))
    body: Dict[str, Any] = {"name": name, "description": description or "",
                            "framework": model_framework or Model.Framework.CUSTOM,
                            "framework_version": model_framework_version or "",
                            "tags": strings(tags, "tags"),
                            "properties": strings(properties, "properties")}
    if resource_configuration is not None:
        if isinstance(resource_configuration, dict):
            resource_configuration = ResourceConfiguration.deserialize(resource_configuration)
        if not isinstance(resource_configuration, ResourceConfiguration):
            raise TypeError("resource_configuration must be a ResourceConfiguration, got %s"
                            % type(resource_configuration).__name__)
        body["resource_configuration"] = resource_configuration.serialize()
    refs = _dataset_refs(datasets, (sample_input_dataset, sample_output_dataset))
    if refs:
        body["datasets"] = refs
    return body


class Model:
    """A registered model version: ``Model(workspace, name)`` (the latest), with
    ``version=N``, or ``id="NAME:N"``. ``tags``, ``properties``, ``run_id`` and
    ``model_framework`` filter the versions of ``name``: the latest that matches is taken.
    NotFoundError when none does.

    Attributes: ``name``, ``version``, ``id`` (``"NAME:VERSION"``), ``description``,
    ``model_framework`` and ``model_framework_version`` (also ``framework`` and
    ``framework_version``), ``tags``, ``properties``, ``resource_configuration`` (a
    :class:`ResourceConfiguration` or None), ``run_id`` (the run it came from, or None),
    ``datasets`` (``[{"name", "version"}]``), ``created_time``, ``tree_id``, ``workspace``.
    """

    class Framework:
        """Framework names for ``model_framework``."""

        CUSTOM = "Custom"
        MULTI = "Multi"
        ONNX = "Onnx"
        PYTORCH = "PyTorch"
        SCIKITLEARN = "ScikitLearn"
        TENSORFLOW = "TensorFlow"
        TFKERAS = "TfKeras"

    def __init__(self, workspace: Any, name: Optional[str] = None, id: Optional[str] = None,
                 tags: Any = None, properties: Any = None, version: Optional[int] = None,
                 run_id: Optional[str] = None, model_framework: Optional[str] = None,
                 expand: bool = True, **kwargs: Any):
        dto = kwargs.pop("_model_dto", None)
        if dto is None:
            check_workspace(workspace)
            dto = Model._find(workspace, name, id, tags, properties, version, run_id, model_framework)
        self._set(workspace, dto)

    @classmethod
    def _from_json(cls, workspace: Any, data: Dict[str, Any]) -> "Model":
        return cls(workspace, _model_dto=data)

    def _set(self, workspace: Any, data: Dict[str, Any]) -> None:
        if not isinstance(data, dict) or not data.get("name"):
            raise InvalidArgumentError("the server answered without a model: %r" % (data,))
        self.workspace = workspace
        self._data = dict(data)
        self.name: str = data["name"]
        self.version: int = data.get("version")
        self.id: str = data.get("id") or "%s:%s" % (self.name, self.version)
        self.description: str = data.get("description") or ""
        self.model_framework: str = data.get("framework") or ""
        self.model_framework_version: str = data.get("framework_version") or ""
        self.tags: Dict[str, str] = dict(data.get("tags") or {})
        self.properties: Dict[str, str] = dict(data.get("properties") or {})
        self.resource_configuration = ResourceConfiguration.deserialize(
            data.get("resource_configuration"))
        self.run_id: Optional[str] = data.get("run") or None
        self.datasets: List[Dict[str, Any]] = list(data.get("datasets") or [])
        self.created_time = parse_time(data.get("created_at") or "")
        self.tree_id: str = data.get("tree_id") or ""
        self.type: str = data.get("type") or ""

    @property
    def framework(self) -> str:
        return self.model_framework

    @property
    def framework_version(self) -> str:
        return self.model_framework_version

    @property
    def run(self) -> Any:
        """The run the model came from (a ScriptRun), or None."""
        if not self.run_id:
            return None
        # script_run.py imports this module (a run registers models): a real cycle.
        from .script_run import ScriptRun
        return ScriptRun.get(self.workspace, self.run_id)

    @property
    def experiment_name(self) -> Optional[str]:
        run = self.run
        return run.experiment.name if run is not None else None

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Model) and (self.workspace, self.id) == (other.workspace, other.id)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return "Model(workspace=%r, name=%s, id=%s, version=%s, tags=%s, properties=%s)" % (
            self.workspace, self.name, self.id, self.version, self.tags, self.properties)

    def serialize(self) -> Dict[str, Any]:
        """The model in azureml's dict shape."""
        return {"createdTime": self._data.get("created_at"), "description": self.description,
                "id": self.id, "name": self.name, "version": self.version,
                "framework": self.model_framework, "frameworkVersion": self.model_framework_version,
                "tags": dict(self.tags), "properties": dict(self.properties),
                "runId": self.run_id, "datasets": list(self.datasets),
                "resourceConfiguration": (self.resource_configuration.serialize()
                                          if self.resource_configuration else None)}

    # -- finding

    @staticmethod
    def _find(workspace: Any, name: Optional[str], id: Optional[str], tags: Any, properties: Any,
              version: Any, run_id: Optional[str], model_framework: Optional[str]) -> Dict[str, Any]:
        if id is not None:
            if not isinstance(id, str) or ":" not in id:
                raise InvalidArgumentError("a model id looks like 'NAME:VERSION', got %r" % (id,))
            id_name, _, id_version = id.rpartition(":")
            if name is not None and name != id_name:
                raise InvalidArgumentError("name %r and id %r name different models" % (name, id))
            name, version = id_name, id_version
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError("give the model's name (or its id, 'NAME:VERSION')")
        version = _version(version)
        client = workspace._client()
        if not (tags or properties or run_id or model_framework):
            return client.get(_paths.model(name, version)) or {}
        found = [m for m in Model._list_raw(workspace, name)
                 if (version is None or m.get("version") == version)
                 and filter_matches(m.get("tags") or {}, tags)
                 and filter_matches(m.get("properties") or {}, properties)
                 and (run_id is None or m.get("run") == run_id)
                 and (model_framework is None or m.get("framework") == model_framework)]
        if not found:
            raise NotFoundError("no version of model %r matches (version=%r, tags=%r, properties=%r, "
                                "run_id=%r, model_framework=%r)"
                                % (name, version, tags, properties, run_id, model_framework))
        return max(found, key=lambda m: m.get("version", 0))

    @staticmethod
    def _list_raw(workspace: Any, name: Optional[str] = None) -> List[Dict[str, Any]]:
        body = workspace._client().get(_paths.models(), {"name": name or None}) or {}
        return [m for m in body.get("models") or [] if name is None or m.get("name") == name]

    @staticmethod
    def list(workspace: Any, name: Optional[str] = None, tags: Any = None, properties: Any = None,
             run_id: Optional[str] = None, latest: bool = False, dataset_id: Optional[str] = None,
             expand: bool = True, page_count: int = 255,
             model_framework: Optional[str] = None) -> List["Model"]:
        """The registered models, by name and then newest version first, filtered by
        ``name``, ``tags`` and ``properties`` (lists of ``'key'`` or ``[key, value]``),
        ``run_id``, ``dataset_id`` (``"NAME:VERSION"`` of a dataset the model lists) and
        ``model_framework``; ``latest=True`` keeps only the newest version of each name."""
        check_workspace(workspace)
        models = [m for m in Model._list_raw(workspace, name)
                  if filter_matches(m.get("tags") or {}, tags)
                  and filter_matches(m.get("properties") or {}, properties)
                  and (run_id is None or m.get("run") == run_id)
                  and (model_framework is None or m.get("framework") == model_framework)
                  and (dataset_id is None or any("%s:%s" % (d.get("name"), d.get("version")) == dataset_id
                                                 for d in m.get("datasets") or []
                                                 if isinstance(d, dict)))]
        models.sort(key=lambda m: (m.get("name", ""), -int(m.get("version", 0))))
        if latest:
            seen = set()
            models = [m for m in models if not (m["name"] in seen or seen.add(m["name"]))]
        return [Model._from_json(workspace, m) for m in models]

    # -- registering

    @staticmethod
    def register(workspace: Any, model_path: str, model_name: str, tags: Optional[Dict[str, Any]] = None,
                 properties: Optional[Dict[str, Any]] = None, description: Optional[str] = None,
                 datasets: Any = None, model_framework: Optional[str] = None,
                 model_framework_version: Optional[str] = None,
                 child_paths: Optional[Sequence[str]] = None, sample_input_dataset: Any = None,
                 sample_output_dataset: Any = None, resource_configuration: Any = None
                 ) -> "Model":
        """Uploads the local file or folder ``model_path`` (only files the server lacks are
        sent) and registers it as the next version of ``model_name``. A folder keeps its
        name inside the model (``./my_model/w.pt`` -> ``my_model/w.pt``); ``child_paths``
        (paths inside the folder) keeps only those files. ``datasets``: registered datasets
        or azureml's ``(scenario, dataset)`` tuples, recorded as lineage."""
        check_workspace(workspace)
        body = _registration_body(model_name, tags, properties, description, model_framework,
                                  model_framework_version, resource_configuration, datasets,
                                  sample_input_dataset, sample_output_dataset)
        if not isinstance(model_path, (str, os.PathLike)):
            raise TypeError("model_path must be a local path, got %s" % type(model_path).__name__)
        model_path = os.fspath(model_path)
        if not os.path.exists(model_path):
            raise NotFoundError("model path '%s' does not exist" % model_path)
        snap = snapshot_named(model_path)
        if child_paths:
            if not os.path.isdir(model_path):
                raise InvalidArgumentError("child_paths needs model_path to be a folder")
            base = os.path.basename(os.path.abspath(model_path))
            wanted = [base + "/" + run_relative(c) for c in child_paths]
            entries = [e for e in snap.entries
                       if any(e.path == w or e.path.startswith(w + "/") for w in wanted)]
            missing = [c for c, w in zip(child_paths, wanted)
                       if not any(e.path == w or e.path.startswith(w + "/") for e in entries)]
            if missing:
                raise NotFoundError("child path %r is not in %s" % (missing[0], model_path))
            shas = {e.blob for e in entries}
            snap = Snapshot(entries, {k: v for k, v in snap.blob_sources.items() if k in shas},
                            snap.hashed_files,
                            {k: v for k, v in (snap.link_blobs or {}).items() if k in shas})
        print("Registering model %s" % model_name)
        client = workspace._client(timeout=600)
        body["tree_id"] = upload_snapshot(client, snap)
        return Model._from_json(workspace, client.post(_paths.models(), body) or {})

    @staticmethod
    def _register_from_run(client: Any, workspace: Any, run_id: str, model_name: str,
                           model_path: Optional[str], **fields: Any) -> "Model":
        """POST /models from a run's files; what run.register_model does."""
        body = _registration_body(model_name, **fields)
        body["run"] = run_id
        body["path"] = run_relative(model_path if model_path is not None else model_name)
        return Model._from_json(workspace, client.post(_paths.models(), body) or {})

    @staticmethod
    def deploy(workspace: Any, name: str, models: Sequence["Model"], inference_config: Any = None,
               deployment_config: Any = None, deployment_target: Any = None,
               overwrite: bool = False, show_output: bool = False) -> Any:
        """Deploys ``models`` (exactly one Model) as web service ``name`` and returns the
        :class:`~gantry.Webservice`, usually still Transitioning: follow it with
        ``service.wait_for_deployment()``.

        The service is an online endpoint ``name`` with one deployment, ``default``, taking
        all its traffic. Without ``inference_config`` the model is served without code (a
        PyTorch model with a TorchScript ``model.pt``, or a TensorFlow SavedModel, served with
        the TensorFlow of the deployment's environment); an :class:`~gantry.InferenceConfig`
        uploads its entry script (with ``source_directory``: that folder) and runs it.
        ``deployment_config`` (default: ACI with key auth, one replica; note that
        ``AciWebservice.deploy_configuration()`` itself means no auth, as in Azure) sets auth, replicas
        and request settings. ``deployment_target`` is ignored, with a warning.

        WebserviceException (also the server error's class): AlreadyExists when the service
        exists and ``overwrite`` is False (with ``overwrite=True`` its deployment is updated
        in place: a new generation, same keys and scoring URI); InvalidArgument for several
        models or a model no backend serves without code. A deployment the server refuses
        leaves no endpoint behind."""
        # webservice.py imports this module (a service serves Models): a real cycle.
        from .webservice import deploy
        return deploy(workspace, name, models, inference_config, deployment_config,
                      deployment_target, overwrite, show_output)

    # -- files

    def download(self, target_dir: str = ".", exist_ok: bool = False,
                 exists_ok: Optional[bool] = None) -> str:
        """Downloads the model's files into ``target_dir`` (checking each against its SHA-256)
        and returns the path of the model's root: ``target_dir/model`` for a model whose files
        all sit in one folder or file ``model``, else ``target_dir``. Without ``exist_ok``,
        AlreadyExistsError before anything is written when a file is there already."""
        if exists_ok is not None:
            exist_ok = exists_ok
        target_dir = os.fspath(target_dir)
        client = self.workspace._client(timeout=600)
        entries = tree_entries(client, self.tree_id)
        download_tree(client, self.tree_id, target_dir, overwrite=exist_ok, hint="exist_ok=True")
        firsts = {e["path"].split("/", 1)[0] for e in entries}
        if len(firsts) == 1:
            return os.path.join(target_dir, firsts.pop())
        return target_dir

    def get_file_names(self) -> List[str]:
        """The model's files, as paths inside it (``model/saved_model.pb``)."""
        return [e["path"] for e in tree_entries(self.workspace._client(), self.tree_id)]

    # -- tags and properties

    def _post(self, what: str, body: Dict[str, Any]) -> None:
        data = self.workspace._client().post(_paths.model(self.name, self.version, "/" + what), body)
        self._set(self.workspace, data or {})

    def add_tags(self, tags: Dict[str, Any]) -> None:
        """Adds or changes tags (tags are mutable)."""
        self._post("tags", {"add": strings(tags, "tags"), "remove": []})

    def remove_tags(self, tags: Sequence[str]) -> None:
        """Removes the tags named in ``tags`` (a list of keys)."""
        if isinstance(tags, str):
            tags = [tags]
        self._post("tags", {"add": {}, "remove": [str(t) for t in tags]})

    def add_properties(self, properties: Dict[str, Any]) -> None:
        """Adds properties. FailedPreconditionError when one would change an existing
        property: properties are immutable."""
        self._post("properties", {"add": strings(properties, "properties")})

    def update_tags_properties(self, add_tags: Optional[Dict[str, Any]] = None,
                               remove_tags: Optional[Sequence[str]] = None,
                               add_properties: Optional[Dict[str, Any]] = None) -> None:
        """Adds and removes tags, and adds properties, in one call."""
        if add_tags or remove_tags:
            self._post("tags", {"add": strings(add_tags, "tags"),
                                "remove": [str(t) for t in (remove_tags or [])]})
        if add_properties:
            self.add_properties(add_properties)
