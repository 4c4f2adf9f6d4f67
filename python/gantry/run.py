"""The run context: log metrics and tags from a training script.

Typical use, the same inside a Gantry run and on a laptop::

    from gantry import Run

    run = Run.get_context()
    run.log("accuracy", 0.91)
    run.log("loss", 0.25, step=10)
    run.log_list("losses", [0.5, 0.4, 0.3])
    run.log_row("pr", precision=0.8, recall=0.7)
    run.tag("model", "resnet")
    run.log_image("loss.png", plot=plt)    # kept as the run file images/loss.png

Inside a run the Gantry runner sets these environment variables:

``GANTRY_RUN_ID``          the run's name (``run.id``)
``GANTRY_METRICS_FILE``    absolute path of a JSON-lines file the runner tails
``GANTRY_URL``             server base URL, e.g. ``http://127.0.0.1:8765``
``GANTRY_RUN_TOKEN``       bearer token for the server's API
``GANTRY_EXPERIMENT_NAME`` the experiment's name (``run.experiment.name``)
``GANTRY_OUTPUTS_DIR``     the run's ``outputs`` folder (``run.register_model`` paths are
                           relative to the folder above it)

With ``GANTRY_RUN_ID`` and ``GANTRY_METRICS_FILE`` set, :meth:`Run.get_context` returns
the process-wide *online* run. Its logging calls only queue records in memory; one
background daemon thread appends them in batches to the metrics file, each batch with
one ``os.write`` on a descriptor opened ``O_APPEND``, one compact JSON object per line:

    {"t":"metric","key":"loss","value":0.25,"step":10,"ts":1700000000000}
    {"t":"tag","key":"model","value":"resnet"}

A batch is written at most 0.2 s after its first record, at once when 1000 records are
pending, on :meth:`Run.flush` and at interpreter exit. Records still queued when the
process dies by a signal or ``os._exit`` are lost; call ``flush()`` before such an exit.

JSON has no NaN or infinity, so float NaN, +inf and -inf are logged as the strings
``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.

Outside a run, :meth:`Run.get_context` returns an *offline* run that prints what it
would log (``Attempted to log scalar metric accuracy:`` then the value) and keeps the
values in memory for :meth:`Run.get_metrics`.
"""

from __future__ import annotations

import atexit
import json
import math
import numbers
import os
import sys
import tempfile
import threading
import time
import types
import uuid
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Dict, List, Optional

from . import _paths
from ._convert import collapse, run_relative
from ._http import Client
from ._snapshot import snapshot_named, upload_blobs
from ._trees import tree_path_problem
from .errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from .model import Model
from .workspace import Workspace

__all__ = ["Run"]

ENV_RUN_ID = "GANTRY_RUN_ID"
ENV_URL = "GANTRY_URL"
ENV_RUN_TOKEN = "GANTRY_RUN_TOKEN"
ENV_EXPERIMENT_NAME = "GANTRY_EXPERIMENT_NAME"
ENV_METRICS_FILE = "GANTRY_METRICS_FILE"
ENV_OUTPUTS_DIR = "GANTRY_OUTPUTS_DIR"

_Scalar = Any  # bool | int | float | str after validation


# ----------------------------------------------------------------------------- validation

def _check_name(name: Any, what: str = "metric name") -> str:
    if not isinstance(name, str):
        raise TypeError("%s must be a str, got %s" % (what, type(name).__name__))
    if not name:
        raise ValueError("%s must be a non-empty string" % what)
    return name


def _check_description(description: Any) -> None:
    if description is not None and not isinstance(description, str):
        raise TypeError("description must be a str, got %s" % type(description).__name__)


def _scalar(value: Any, name: str) -> _Scalar:
    """Returns ``value`` as a JSON-safe bool, int, float or str, or raises TypeError.

    Accepts numbers registered with :mod:`numbers` (so NumPy scalars) and 0-d array or
    tensor objects exposing ``.item()``; float NaN/inf become "NaN"/"Infinity"/"-Infinity".
    """
    if isinstance(value, (bool, str)):  # bool first: it is also an int
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "Infinity" if f > 0 else "-Infinity"
        return f
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        v = item()
        if isinstance(v, (bool, int, float, str)):
            return _scalar(v, name)
    raise TypeError("value of metric %r must be an int, float, str or bool, got %s"
                    % (name, type(value).__name__))


def _json_value(value: Any, name: str) -> Any:
    """Like :func:`_scalar` but also allows None and nested dicts (str keys) and lists."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError("keys in metric %r must be str, got %s" % (name, type(k).__name__))
            out[k] = _json_value(v, name)
        return out
    if isinstance(value, (list, tuple)):
        return [_json_value(v, name) for v in value]
    return _scalar(value, name)


def _check_step(step: Any) -> Optional[int]:
    if step is None:
        return None
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError("step must be an int or None, got %s" % type(step).__name__)
    if step < 0:
        raise ValueError("step must be >= 0, got %d" % step)
    return int(step)


def _metric_record(name: str, value: Any, step: Optional[int] = None) -> Dict[str, Any]:
    return {"t": "metric", "key": name, "value": value, "step": step,
            "ts": int(time.time() * 1000)}


# ----------------------------------------------------------------------------- the API

class Run:
    """A run of an experiment: the handle a training script logs metrics and tags to.

    Inside a training script, get one with :meth:`Run.get_context`. Elsewhere
    ``Experiment.submit`` returns the run it submitted, and ``Run(experiment, run_id)`` or
    :meth:`Run.get` finds an existing one: those are :class:`gantry.script_run.ScriptRun`
    objects (a subclass) for following the run, reading its metrics and downloading its
    files.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Run":
        if cls is Run:  # Run(experiment, run_id): azureml's way to reach a submitted run
            # ScriptRun derives from Run, so script_run.py imports this module: a real cycle.
            from .script_run import ScriptRun
            cls = ScriptRun
        return super().__new__(cls)

    def __init__(self, run_id: str, experiment_name: str):
        self._id = run_id
        self._experiment = types.SimpleNamespace(name=experiment_name)

    @staticmethod
    def get(workspace: Any, run_id: str) -> "Run":
        """The submitted run called ``run_id`` in ``workspace`` (NotFoundError if none)."""
        from .script_run import ScriptRun  # a real cycle, as in __new__
        return ScriptRun.get(workspace, run_id)

    @classmethod
    def get_context(cls, allow_offline: bool = True) -> "Run":
        """Returns the run this process belongs to.

        Inside a Gantry run (``GANTRY_RUN_ID`` and ``GANTRY_METRICS_FILE`` set) this is
        the process-wide online run; otherwise the process-wide offline run, or
        ``FailedPreconditionError`` when ``allow_offline`` is False.
        """
        global _online_run, _offline_run
        run_id = os.environ.get(ENV_RUN_ID)
        metrics_file = os.environ.get(ENV_METRICS_FILE)
        experiment = os.environ.get(ENV_EXPERIMENT_NAME)
        with _context_lock:
            if run_id and metrics_file:
                run = _online_run
                if run is None or (run.id, run._writer.path) != (run_id, metrics_file):
                    if run is not None:
                        run.flush()
                    run = _online_run = _OnlineRun(
                        run_id, experiment or "", metrics_file,
                        os.environ.get(ENV_URL), os.environ.get(ENV_RUN_TOKEN))
                return run
            if not allow_offline:
                raise FailedPreconditionError(
                    "not inside a Gantry run: %s and %s must both be set"
                    % (ENV_RUN_ID, ENV_METRICS_FILE))
            if run_id:
                sys.stderr.write("gantry: %s is set but %s is not; logging offline\n"
                                 % (ENV_RUN_ID, ENV_METRICS_FILE))
            if _offline_run is None:
                _offline_run = _OfflineRun(experiment or "offline")
            return _offline_run

    @property
    def id(self) -> str:
        """The run's name (``GANTRY_RUN_ID``), or ``OfflineRun_<uuid>`` offline."""
        return self._id

    @property
    def experiment(self) -> Any:
        """The run's experiment: an object whose ``.name`` is the experiment's name."""
        return self._experiment

    def __repr__(self) -> str:
        return "%s(id=%r, experiment=%r)" % (type(self).__name__, self._id, self._experiment.name)

    # -- logging

    def log(self, name: str, value: Any, description: str = "", step: Optional[int] = None) -> None:
        """Logs one value of metric ``name``: an int, float, str or bool.

        ``step`` (an int >= 0) orders points of a series; None lets the server decide.
        ``description`` is accepted for compatibility and not stored.
        """
        _check_name(name)
        _check_description(description)
        record = _metric_record(name, _scalar(value, name), _check_step(step))
        self._emit("scalar", name, value, [record])

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        """Logs each element of ``value`` (a list or other iterable of scalars) in order."""
        _check_name(name)
        _check_description(description)
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise TypeError("value of list metric %r must be a list of scalars, got %s"
                            % (name, type(value).__name__))
        values = list(value)
        records = [_metric_record(name, _scalar(v, name)) for v in values]
        self._emit("list", name, values, records)

    def log_row(self, name: str, description: Optional[str] = None, **kwargs: Any) -> None:
        """Logs one row of a table metric: one record whose value is ``kwargs`` as a dict."""
        _check_name(name)
        _check_description(description)
        if not kwargs:
            raise ValueError("log_row(%r) needs at least one column as a keyword argument" % name)
        row = {k: _json_value(v, name) for k, v in kwargs.items()}
        self._emit("row", name, kwargs, [_metric_record(name, row)])

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        """Logs a table metric: one record whose value is the dict ``value``
        (by convention column name -> list of values)."""
        _check_name(name)
        _check_description(description)
        if not isinstance(value, Mapping):
            raise TypeError("value of table metric %r must be a dict, got %s"
                            % (name, type(value).__name__))
        self._emit("table", name, value, [_metric_record(name, _json_value(value, name))])

    def tag(self, key: str, value: Any = None) -> None:
        """Sets tag ``key`` to ``str(value)`` ("" when value is None)."""
        _check_name(key, "tag key")
        text = "" if value is None else str(value)
        self._emit("tag", key, text, [{"t": "tag", "key": key, "value": text}])

    def set_tags(self, tags: Any) -> None:
        """Sets several tags: a dict of key -> value, or a key or list of keys (value "")."""
        if isinstance(tags, str):
            tags = {tags: None}
        elif not isinstance(tags, Mapping):
            tags = {k: None for k in tags}
        for key, value in tags.items():
            self.tag(key, value)

    def log_image(self, name: str, path: Optional[str] = None, plot: Any = None,
                  description: str = "") -> None:
        """Keeps an image with the run: the file ``path``, or ``plot`` (matplotlib's
        ``pyplot`` module or a Figure: anything with ``savefig``) saved as a PNG. It becomes
        the run file ``images/NAME`` (``get_file_names``, ``download_file``), with ``.png``
        (for a plot) or the file's own extension added when ``name`` has none. Works from
        the training script and, as in Azure, on a submitted run from a notebook, even after
        it ended. AlreadyExistsError when the run already has that file; InvalidArgumentError
        unless exactly one of ``path`` and ``plot`` is given."""
        _check_name(name, "image name")
        _check_description(description)
        rel, local, cleanup = _image_file(name, path, plot)
        try:
            self._add_file(rel, local)
        finally:
            cleanup()

    def upload_file(self, name: str, path_or_stream: Any) -> None:
        """Adds the local file ``path_or_stream`` (a path, or a binary file object) to the run
        as the file ``name`` (a relative path such as ``notes/summary.txt``).
        AlreadyExistsError when the run already has a file of that name."""
        _check_name(name, "file name")
        problem = tree_path_problem(name)
        if problem:
            raise InvalidArgumentError("file name %r cannot be a run file: %s" % (name, problem))
        if isinstance(path_or_stream, (str, os.PathLike)):
            local = os.fspath(path_or_stream)
            if not os.path.isfile(local):
                raise NotFoundError("file %s does not exist" % local)
            self._add_file(name, local)
            return
        read = getattr(path_or_stream, "read", None)
        if not callable(read):
            raise TypeError("path_or_stream must be a path or a binary file object, got %s"
                            % type(path_or_stream).__name__)
        local, cleanup = _temp_file_with(read())
        try:
            self._add_file(name, local)
        finally:
            cleanup()

    def _add_file(self, name: str, local: str) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """Writes every record logged so far before returning."""

    def complete(self) -> None:
        """Flushes pending records. The runner, not the script, owns the run's status."""
        self.flush()

    # -- reading back

    def get_metrics(self, name: Optional[str] = None) -> Dict[str, Any]:
        """Returns ``{name: value}`` for metrics with one point, ``{name: [values...]}``
        for metrics with several; ``name`` restricts the answer to that metric."""
        raise NotImplementedError

    def get_status(self) -> str:
        """Returns the run's status, e.g. ``"Running"``."""
        raise NotImplementedError

    @property
    def status(self) -> str:
        """The run's status now, as :meth:`get_status` returns it."""
        return self.get_status()

    def get_children(self, recursive: bool = False, tags: Any = None, properties: Any = None,
                     type: Optional[str] = None, status: Optional[str] = None,
                     _rehydrate_runs: bool = True) -> List["Run"]:
        """The run's child runs. Only a sweep (a HyperDriveRun) has children, its trials; any
        other run answers ``[]``."""
        return []

    def _emit(self, kind: str, name: str, shown: Any, records: List[Dict[str, Any]]) -> None:
        raise NotImplementedError

    # -- models

    def register_model(self, model_name: str, model_path: Optional[str] = None,
                       tags: Optional[Dict[str, Any]] = None,
                       properties: Optional[Dict[str, Any]] = None,
                       model_framework: Optional[str] = None,
                       model_framework_version: Optional[str] = None,
                       description: Optional[str] = None, datasets: Any = None,
                       sample_input_dataset: Any = None, sample_output_dataset: Any = None,
                       resource_configuration: Any = None, **kwargs: Any) -> Any:
        """Registers the run's file or folder ``model_path`` as a model (see
        :meth:`gantry.ScriptRun.register_model`). An offline run has no files on a server:
        FailedPreconditionError; use ``Model.register(workspace, model_path, model_name)``."""
        raise FailedPreconditionError(
            "cannot register model %r from an offline run: not inside a Gantry run. Register "
            "local files with Model.register(workspace, model_path, model_name) instead" % (model_name,))


_IMAGE_FOLDER = "images"


def _temp_file_with(data: bytes, suffix: str = "") -> Any:
    """``(path, cleanup)`` of a new temporary file holding ``data``."""
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("the stream must give bytes, got %s" % type(data).__name__)
    fd, path = tempfile.mkstemp(prefix="gantry-upload-", suffix=suffix)
    with os.fdopen(fd, "wb") as f:
        f.write(data)

    def cleanup() -> None:
        try:
            os.unlink(path)
        except OSError:
            pass
    return path, cleanup


def _image_file(name: str, path: Optional[str], plot: Any) -> Any:
    """``(run file name, local file, cleanup)`` for :meth:`Run.log_image`."""
    if (path is None) == (plot is None):
        raise InvalidArgumentError("log_image(%r) needs exactly one of path and plot" % (name,))
    if "/" in name or "\\" in name or name.startswith(".") or any(ord(c) < 32 for c in name):
        raise InvalidArgumentError("image name %r must be a plain file name (no '/', not "
                                   "starting with '.')" % (name,))
    if path is not None:
        local = os.fspath(path)
        if not os.path.isfile(local):
            raise NotFoundError("image file %s does not exist" % local)
        ext = os.path.splitext(local)[1]
        rel = name if os.path.splitext(name)[1] or not ext else name + ext
        return _IMAGE_FOLDER + "/" + rel, local, lambda: None
    savefig = getattr(plot, "savefig", None)
    if not callable(savefig):
        raise TypeError("plot must be matplotlib's pyplot module or a Figure (something with "
                        "savefig), got %s" % type(plot).__name__)
    fd, local = tempfile.mkstemp(prefix="gantry-image-", suffix=".png")
    os.close(fd)

    def cleanup() -> None:
        try:
            os.unlink(local)
        except OSError:
            pass
    try:
        savefig(local, format="png")
    except BaseException:
        cleanup()
        raise
    rel = name if os.path.splitext(name)[1] else name + ".png"
    return _IMAGE_FOLDER + "/" + rel, local, cleanup


def _add_run_file(client: Client, run_id: str, name: str, local: str) -> None:
    """Uploads the file ``local`` (only if the server lacks its bytes) and adds it to run
    ``run_id`` as ``name`` (POST /runs/{id}/files: never replacing a file)."""
    snap = snapshot_named(local, name, follow_links=True)
    upload_blobs(client, snap)
    client.post(_paths.run(run_id, "/files"), {"files": [
        {"path": e.path, "blob": e.blob, "size": e.size, "mode": e.mode} for e in snap.entries]})


class _OfflineRun(Run):
    """The run outside Gantry: prints what it would log and keeps it in memory."""

    def __init__(self, experiment_name: str = "offline"):
        super().__init__("OfflineRun_%s" % uuid.uuid4(), experiment_name)
        self._lock = threading.Lock()
        self._metrics: Dict[str, List[Any]] = {}
        self._tags: Dict[str, str] = {}

    def _emit(self, kind: str, name: str, shown: Any, records: List[Dict[str, Any]]) -> None:
        if kind == "tag":
            print("Attempted to set tag %s:\n%s" % (name, shown))
        else:
            print("Attempted to log %s metric %s:\n%s" % (kind, name, shown))
        with self._lock:
            for r in records:
                if r["t"] == "tag":
                    self._tags[r["key"]] = r["value"]
                else:
                    self._metrics.setdefault(r["key"], []).append(r["value"])

    def get_metrics(self, name: Optional[str] = None) -> Dict[str, Any]:
        """Returns what this process logged, shaped as for an online run."""
        with self._lock:
            return {k: collapse(list(v)) for k, v in self._metrics.items()
                    if name is None or k == name}

    def get_tags(self) -> Dict[str, str]:
        """Returns the tags set in this process."""
        with self._lock:
            return dict(self._tags)

    def get_status(self) -> str:
        """An offline run is always ``"Running"``."""
        return "Running"

    def _add_file(self, name: str, local: str) -> None:
        print("Attempted to upload file %s: not inside a Gantry run, nothing is kept" % name)


class _OnlineRun(Run):
    """The run inside Gantry: queues records for the metrics file, reads back via the API."""

    def __init__(self, run_id: str, experiment_name: str, metrics_file: str,
                 url: Optional[str], token: Optional[str]):
        super().__init__(run_id, experiment_name)
        self._writer = _MetricsWriter(metrics_file)
        # In a distributed job every process logs to the run; its metrics carry its rank.
        rank = os.environ.get("GANTRY_RANK", "")
        self._rank = int(rank) if rank.isdigit() else None
        self._url = url
        self._token = token
        atexit.register(self._writer.close)

    def _emit(self, kind: str, name: str, shown: Any, records: List[Dict[str, Any]]) -> None:
        if self._rank is not None:
            for r in records:
                if r["t"] == "metric":
                    r["rank"] = self._rank
        self._writer.put([
            (json.dumps(r, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n")
            .encode("utf-8") for r in records])

    def flush(self) -> None:
        """Appends every queued record to the metrics file before returning."""
        self._writer.flush()

    def _client(self) -> Client:
        if not self._url:
            raise FailedPreconditionError("%s is not set: cannot reach the Gantry server" % ENV_URL)
        return Client(self._url, self._token)

    def _path(self) -> str:
        return _paths.run(self._id)

    def _add_file(self, name: str, local: str) -> None:
        self._client()  # FailedPreconditionError without a server URL
        _add_run_file(Client(self._url, self._token, timeout=600), self._id, name, local)

    def get_metrics(self, name: Optional[str] = None) -> Dict[str, Any]:
        """Flushes, then asks the server for the run's metrics.

        The runner relays the metrics file to the server asynchronously, so values
        logged a moment ago may not be visible yet.
        """
        self.flush()
        body = self._client().get(_paths.run(self._id, "/metrics")) or {}
        metrics = body.get("metrics") or {}
        return {key: collapse([p.get("value") for p in points])
                for key, points in metrics.items() if name is None or key == name}

    def register_model(self, model_name: str, model_path: Optional[str] = None,
                       tags: Optional[Dict[str, Any]] = None,
                       properties: Optional[Dict[str, Any]] = None,
                       model_framework: Optional[str] = None,
                       model_framework_version: Optional[str] = None,
                       description: Optional[str] = None, datasets: Any = None,
                       sample_input_dataset: Any = None, sample_output_dataset: Any = None,
                       resource_configuration: Any = None, **kwargs: Any) -> Any:
        """Registers ``model_path`` (default ``model_name``; relative to the run's working
        folder, e.g. ``outputs/model``) as the next version of model ``model_name``, recording
        this run, and returns the :class:`~gantry.Model`.

        The runner uploads ``outputs/`` only when the script ends, so a file or folder that
        exists locally is published first as the run's files under the same path (only
        blobs the server lacks are sent); the runner's final upload agrees with it. A path
        that does not exist locally must already be among the run's files (NotFoundError).
        """

        self._client()  # FailedPreconditionError without a server URL
        client = Client(self._url, self._token, timeout=600)  # blobs may be large
        given = model_path if model_path is not None else model_name
        outputs = os.environ.get(ENV_OUTPUTS_DIR)
        base = os.path.dirname(os.path.abspath(outputs)) if outputs else os.getcwd()
        if isinstance(given, str) and os.path.isabs(given):
            given = os.path.relpath(given, base)
        rel = run_relative(given)
        local = os.path.join(base, *rel.split("/"))
        if os.path.exists(local):
            # A run's own outputs, as the runner takes them: links to files by content.
            snap = snapshot_named(local, rel, follow_links=True)
            upload_blobs(client, snap)
            client.post(_paths.run(self._id, "/artifacts"), {"artifacts": [
                {"path": e.path, "blob": e.blob, "size": e.size, "mode": e.mode}
                for e in snap.entries]})
        return Model._register_from_run(
            client, Workspace(self._url), self._id, model_name, rel, tags=tags,
            properties=properties, description=description, model_framework=model_framework,
            model_framework_version=model_framework_version,
            resource_configuration=resource_configuration, datasets=datasets,
            sample_input_dataset=sample_input_dataset, sample_output_dataset=sample_output_dataset)

    def get_details(self) -> Dict[str, Any]:
        """Returns the server's description of the run (GET /api/v1/runs/{id})."""
        return self._client().get(self._path())

    def get_status(self) -> str:
        """Returns the run's status as the server reports it."""
        return self.get_details()["status"]


# ----------------------------------------------------------------------------- the writer

class _MetricsWriter:
    """Queues encoded JSON lines and appends them to ``path`` from one daemon thread.

    A record logged after a quiet spell (no write in the last ``flush_interval`` seconds)
    is written at once, so a sweep's policy sees it without delay; records logged sooner
    after a write are batched until ``flush_interval`` after that write, or until
    ``batch_records`` wait. Writes are serialized by a lock, so :meth:`flush` (called by the
    script or at exit) and the thread never interleave or reorder batches.
    """

    def __init__(self, path: str, flush_interval: float = 0.2, batch_records: int = 1000):
        self.path = path
        self.flush_interval = flush_interval
        self.batch_records = batch_records
        self._reset()
        _writers.add(self)

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._write_lock = threading.Lock()
        self._pending: List[bytes] = []
        self._closed = False
        self._thread: Optional[threading.Thread] = None
        self._clock = time.monotonic
        self._last_write = float("-inf")  # the first record is written at once

    def put(self, lines: List[bytes]) -> None:
        """Queues ``lines``; after :meth:`close` they are written at once instead."""
        if not lines:
            return
        with self._cond:
            was_empty = not self._pending
            self._pending.extend(lines)
            closed = self._closed
            if not closed:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="gantry-metrics-writer", daemon=True)
                    try:
                        self._thread.start()
                    except RuntimeError:  # "can't create new thread at interpreter shutdown"
                        closed = self._closed = True
                if not closed and (was_empty or len(self._pending) >= self.batch_records):
                    self._cond.notify()
        if closed:
            self.flush()

    def flush(self) -> None:
        """Appends every queued line to the file before returning."""
        with self._write_lock:
            with self._cond:
                batch, self._pending = self._pending, []
            if batch:
                self._append(b"".join(batch), len(batch))
                self._last_write = self._clock()

    def close(self) -> None:
        """Stops the thread and writes what is left (registered with atexit)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self.flush()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                deadline = self._last_write + self.flush_interval
                while len(self._pending) < self.batch_records and not self._closed:
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            self.flush()

    def _append(self, data: bytes, count: int) -> None:
        flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT
                 | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
        try:
            fd = os.open(self.path, flags, 0o644)
            try:
                view = memoryview(data)
                while view:  # one write unless the kernel takes only part of it
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as e:
            sys.stderr.write("gantry: lost %d run records, cannot append to %s: %s\n"
                             % (count, self.path, e))


_context_lock = threading.Lock()
_online_run: Optional[_OnlineRun] = None
_offline_run: Optional[_OfflineRun] = None
_writers: "weakref.WeakSet[_MetricsWriter]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The writer thread does not survive fork and the parent still owns the queued
    # records: start the child with fresh locks and an empty queue.
    global _context_lock
    _context_lock = threading.Lock()
    for w in list(_writers):
        w._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _reset_context() -> None:
    """Forgets the process-wide runs (for tests); flushes and stops an online run first."""
    global _online_run, _offline_run
    with _context_lock:
        if _online_run is not None:
            _online_run._writer.close()
        _online_run = _offline_run = None
