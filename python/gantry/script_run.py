"""ScriptRun: a submitted run, seen from outside it (a notebook, a script that submits).

``Experiment.submit`` returns one; ``Run(experiment, run_id)`` and
``Run.get(workspace, run_id)`` find an existing run. It is a :class:`gantry.Run`, so code
that type-checks against ``Run`` keeps working. Metrics and tags are logged from the
training script (``Run.get_context()``); images and files (``log_image``, ``upload_file``)
may also be added from outside, as in Azure.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _paths
from ._convert import collapse
from ._trees import SafeFolder, plan_download, safe_relative, tree_path_problem
from .errors import (DataLossError, DeadlineExceededError, InvalidArgumentError, NotFoundError,
                     RunFailedError, UnavailableError, UnimplementedError)
from .experiment import Experiment
from .model import Model
from .run import Run, _add_run_file

__all__ = ["ScriptRun"]

TERMINAL_STATUSES = frozenset(["Completed", "Failed", "Canceled"])
# Printed after the command's output in a long-poll answer, as `gantry job stream` does.
_CLOSING_STATUSES = frozenset(["Finalizing", "Completed", "Failed", "Canceled", "CancelRequested"])
STD_LOG = "std_log.txt"
STD_LOG_NAME = "user_logs/" + STD_LOG
_EVENTS_WAIT_MS = 20000
# How long wait_for_completion rides out a server that does not answer (a restart).
_UNAVAILABLE_PATIENCE_S = 600


def _split_command(command: Any) -> List[str]:
    if not isinstance(command, str):
        return []
    try:
        return shlex.split(command)
    except ValueError:
        return []


class ScriptRun(Run):
    """A run of ``experiment`` named ``run_id``: its status, metrics, files, cancel."""

    def __init__(self, experiment: Any, run_id: str, _details: Optional[Dict[str, Any]] = None):
        if not isinstance(experiment, Experiment):
            raise TypeError("Run(experiment, run_id): experiment must be an Experiment, got %s"
                            % type(experiment).__name__)
        if not isinstance(run_id, str) or not run_id:
            raise InvalidArgumentError("run_id must be a non-empty string")
        super().__init__(run_id, experiment.name)
        self._experiment = experiment
        self._workspace = experiment.workspace
        #: For a run that Experiment.submit returned: what the code upload did
        #: (files, bytes, sent_files, sent_bytes, hashed_files); else None.
        self.upload_stats = None
        details = _details if _details is not None else self._get()
        if details.get("experiment_name") not in (None, experiment.name):
            raise NotFoundError("run %r is not in experiment %r (it is in %r)"
                                % (run_id, experiment.name, details.get("experiment_name")))
        self._last = details

    @classmethod
    def _from_server(cls, experiment: Any, details: Dict[str, Any],
                     upload_stats: Any = None) -> "ScriptRun":
        if cls is ScriptRun and details.get("kind") == "sweep":
            from .hyperdrive import HyperDriveRun  # a sweep's run: hyperdrive imports this module
            cls = HyperDriveRun
        run = cls(experiment, details["name"], _details=details)
        run.upload_stats = upload_stats
        return run

    @staticmethod
    def get(workspace: Any, run_id: str) -> "ScriptRun":
        """The run called ``run_id`` in ``workspace``, whatever its experiment."""
        details = workspace._client().get(_paths.run(run_id)) or {}
        return ScriptRun._from_server(Experiment(workspace, details["experiment_name"]), details)

    # -- identity

    @property
    def name(self) -> str:
        """The run's display name (its id unless one was given)."""
        return self._last.get("display_name") or self._id

    @property
    def display_name(self) -> str:
        return self.name

    @property
    def type(self) -> str:
        return "command"

    def __repr__(self) -> str:
        return "Run(Experiment: %s,\nId: %s,\nType: command,\nStatus: %s)" % (
            self._experiment.name, self._id, self._last.get("status", ""))

    # -- status

    def _path(self, suffix: str = "") -> str:
        return _paths.run(self._id, suffix)

    def _client(self, timeout: float = 30) -> Any:
        return self._workspace._client(timeout=timeout)

    def _get(self) -> Dict[str, Any]:
        details = self._client().get(self._path()) or {}
        self._last = details
        return details

    def get_portal_url(self) -> str:
        """The run's URL on its server: ``SERVER/api/v1/runs/ID`` (Gantry has no portal; this
        is the run as JSON)."""
        return self._workspace.url + self._path()

    def get_status(self) -> str:
        """The run's status now: NotStarted, Queued, Preparing, Starting, Running,
        Finalizing, CancelRequested, Completed, Failed or Canceled."""
        return self._get().get("status", "")

    def get_details(self) -> Dict[str, Any]:
        """The run, described as azureml's ``Run.get_details()`` does.

        Keys: ``runId``, ``displayName``, ``experimentName``, ``target``, ``status``,
        ``statusDetail``, ``createdTimeUtc``, ``startTimeUtc`` and ``endTimeUtc`` (absent
        until they happen), ``exitCode``, ``error`` (only when the run has one:
        ``{"error": {"code", "message"}}``), ``tags``, ``properties`` (``ContentSnapshotId``,
        ``inputTrees``), ``runDefinition`` (the job spec), ``logFiles`` (name -> URL),
        ``statusHistory``.
        """
        return self._details_from(self._get())

    def _details_from(self, r: Dict[str, Any]) -> Dict[str, Any]:
        d: Dict[str, Any] = {
            "runId": r.get("name", self._id),
            "displayName": r.get("display_name") or r.get("name", self._id),
            "experimentName": r.get("experiment_name", self._experiment.name),
            "target": r.get("compute", "local"),
            "status": r.get("status", ""),
            "statusDetail": r.get("status_detail", ""),
        }
        for key, field in (("createdTimeUtc", "created_at"), ("startTimeUtc", "started_at"),
                           ("endTimeUtc", "ended_at")):
            if r.get(field):
                d[key] = r[field]
        d["exitCode"] = r.get("exit_code")
        if r.get("error"):
            code = "UserError" if r.get("exit_code") not in (None, 0) else "SystemError"
            d["error"] = {"error": {"code": code, "message": r["error"]}}
        d["tags"] = dict(r.get("tags") or {})
        d["properties"] = {"ContentSnapshotId": r.get("snapshot_id", ""),
                           "inputTrees": dict(r.get("input_trees") or {})}
        d["runDefinition"] = dict(r.get("spec") or {})
        # Azure's runDefinition has the script and its arguments apart (a sweep's notebook
        # prints best_run.get_details()['runDefinition']['arguments']).
        words = _split_command(d["runDefinition"].get("command"))
        if len(words) >= 2 and words[0] in ("python", "python3"):
            d["runDefinition"].setdefault("script", words[1])
            d["runDefinition"].setdefault("arguments", words[2:])
        d["logFiles"] = {STD_LOG_NAME: self._workspace.url + _paths.run_log(self._id, STD_LOG)
                         for log in r.get("logs") or [] if log.get("stream") == STD_LOG}
        d["statusHistory"] = list(r.get("status_history") or [])
        return d

    def wait_for_completion(self, show_output: bool = False, wait_post_processing: bool = False,
                            raise_on_error: bool = True) -> Dict[str, Any]:
        """Waits until the run ends and returns :meth:`get_details`.

        With ``show_output`` prints what Azure ML prints: ``RunId: ID`` and ``Web View: URL``
        (the run on this server, :meth:`get_portal_url`), ``Streaming user_logs/std_log.txt``
        over a line of ``=``, then, as they happen, each status change (``[time] Running``:
        Gantry's addition) and the command's output, then ``Execution Summary`` with the
        RunId and Web View again, followed by the status, the duration and any error
        (Gantry's additions). Outputs are uploaded before a
        run is Completed, so ``wait_post_processing`` has nothing more to wait for. Raises
        :class:`~gantry.errors.RunFailedError` when the run ended Failed or Canceled and
        ``raise_on_error``. Rides out a server restart (up to 10 minutes).
        """
        out = sys.stdout
        if show_output:
            streaming = "Streaming " + STD_LOG_NAME
            out.write("RunId: %s\nWeb View: %s\n\n%s\n%s\n\n"
                      % (self._id, self.get_portal_url(), streaming, "=" * len(streaming)))
            out.flush()
        client = self._client(timeout=_EVENTS_WAIT_MS / 1000 + 30)
        since, offset = 0, 0
        line_start = True  # False while the output printed last ends inside a line
        unavailable_since: Optional[float] = None
        while True:
            try:
                ev = client.get(self._path("/events"), {
                    "since": since, "offset": offset, "wait_ms": _EVENTS_WAIT_MS}) or {}
            except (UnavailableError, DeadlineExceededError):
                now = time.monotonic()
                if unavailable_since is None:
                    unavailable_since = now
                    if show_output:
                        out.write("(the server does not answer; waiting for it to come back)\n")
                        out.flush()
                if now - unavailable_since > _UNAVAILABLE_PATIENCE_S:
                    raise
                time.sleep(1)  # back off while the server is away
                continue
            if unavailable_since is not None and show_output:
                out.write("(the server is back)\n")
            unavailable_since = None
            events = ev.get("events") or []
            log = ev.get("log") or ""
            if show_output:
                line_start = self._print_events(out, events, False, line_start)
                if log:
                    out.write(log)
                    line_start = log.endswith("\n")
                line_start = self._print_events(out, events, True, line_start)
                out.flush()
            since = ev.get("next", since)
            offset = ev.get("offset", offset)
            if ev.get("terminal") and not log and not events:
                break
        if show_output and not line_start:
            out.write("\n")
        details = self.get_details()
        status = details["status"]
        error = self._last.get("error") or ""
        if show_output:
            out.write("\nExecution Summary\n=================\nRunId: %s\nWeb View: %s\n"
                      "Status: %s\n" % (self._id, self.get_portal_url(), status))
            out.write("Duration: %s\n" % self._duration())
            if error:
                out.write("Error: %s\n" % error)
            out.write("\n")
            out.flush()
        if raise_on_error and status in ("Failed", "Canceled"):
            raise RunFailedError("run %s ended %s%s" % (self._id, status, ": " + error if error else ""),
                                 run_id=self._id, status=status, error=error, details=details)
        return details

    @staticmethod
    def _print_events(out: Any, events: Sequence[Dict[str, Any]], closing: bool,
                      line_start: bool) -> bool:
        """Prints the status changes that belong before (``closing`` False) or after the
        command's output in one answer, each on a line of its own; returns ``line_start``
        for what follows."""
        for e in events:
            status = e.get("status", "")
            if (status in _CLOSING_STATUSES) != closing:
                continue
            detail = e.get("detail") or ""
            out.write("%s[%s] %s%s\n" % ("" if line_start else "\n", e.get("time", ""), status,
                                         "  (%s)" % detail if detail else ""))
            line_start = True
        return line_start

    def _duration(self) -> str:
        r = self._last
        start = r.get("started_at_ms") or r.get("created_at_ms") or 0
        end = r.get("ended_at_ms") or int(time.time() * 1000)
        return "%.1fs" % (max(0, end - start) / 1000.0)

    def cancel(self) -> None:
        """Asks the run to stop: a queued run is Canceled at once, an active one goes to
        CancelRequested, then Canceled. FailedPreconditionError when it already ended."""
        self._last = self._client().post(self._path("/cancel"), {}) or self._last

    # -- metrics and tags

    def get_metrics(self, name: Optional[str] = None) -> Dict[str, Any]:
        """``{name: value}`` for metrics logged once, ``{name: [values...]}`` for series;
        ``name`` restricts the answer to that metric."""
        body = self._client().get(self._path("/metrics"), {"key": name}) or {}
        metrics = body.get("metrics") or {}
        return {key: collapse([p.get("value") for p in points])
                for key, points in metrics.items() if name is None or key == name}

    def get_tags(self) -> Dict[str, str]:
        """The run's tags: those given at submission and those the script set."""
        return dict(self._get().get("tags") or {})

    def _emit(self, kind: str, name: str, shown: Any, records: List[Dict[str, Any]]) -> None:
        raise UnimplementedError(
            "cannot %s %r on run %s from outside it: Gantry records metrics and tags from the "
            "run itself; call Run.get_context() in the training script instead"
            % ("set tag" if kind == "tag" else "log metric", name, self._id))

    def _add_file(self, name: str, local: str) -> None:
        _add_run_file(self._client(timeout=600), self._id, name, local)

    def register_model(self, model_name: str, model_path: Optional[str] = None,
                       tags: Optional[Dict[str, Any]] = None,
                       properties: Optional[Dict[str, Any]] = None,
                       model_framework: Optional[str] = None,
                       model_framework_version: Optional[str] = None,
                       description: Optional[str] = None, datasets: Any = None,
                       sample_input_dataset: Any = None, sample_output_dataset: Any = None,
                       resource_configuration: Any = None, **kwargs: Any) -> Any:
        """Registers the run's file or folder ``model_path`` (default: ``model_name``), e.g.
        ``outputs/model``, as the next version of model ``model_name`` and returns the
        :class:`~gantry.Model`. The model keeps the path's last component
        (``outputs/model/x`` -> ``model/x``) and records this run. NotFoundError when the
        run has no such file (a run's outputs are there once it is Completed).

        ``datasets``: registered datasets, or azureml's ``(scenario, dataset)`` tuples.
        ``resource_configuration``: a :class:`~gantry.ResourceConfiguration`.
        """
        return Model._register_from_run(
            self._client(), self._workspace, self._id, model_name, model_path, tags=tags,
            properties=properties, description=description, model_framework=model_framework,
            model_framework_version=model_framework_version,
            resource_configuration=resource_configuration, datasets=datasets,
            sample_input_dataset=sample_input_dataset, sample_output_dataset=sample_output_dataset)

    # -- files

    def _artifacts(self, prefix: str = "") -> List[Dict[str, Any]]:
        body = self._client().get(self._path("/artifacts"), {"prefix": prefix or None}) or {}
        return [a for a in body.get("artifacts") or [] if a.get("path", "").startswith(prefix)]

    def _has_std_log(self) -> bool:
        return any(log.get("stream") == STD_LOG and log.get("size", 0) > 0
                   for log in self._get().get("logs") or [])

    def get_file_names(self) -> List[str]:
        """The run's files: ``outputs/...`` and ``logs/...`` as the runner uploaded them, plus
        ``user_logs/std_log.txt`` (the command's output) when there is any."""
        names = [a["path"] for a in self._artifacts()]
        if self._has_std_log():
            names.append(STD_LOG_NAME)
        return sorted(names)

    def download_file(self, name: str, output_file_path: Optional[str] = None,
                      _validate_checksum: bool = True, overwrite: bool = False) -> str:
        """Downloads file ``name`` (as :meth:`get_file_names` lists it) to
        ``output_file_path``: a file path, or an existing folder to put it in; default the
        current folder. Returns the local path. NotFoundError when the run has no such file;
        AlreadyExistsError when the local file exists and ``overwrite`` is False (Gantry's
        addition to Azure's signature: a download never replaces a file unless asked)."""
        if not isinstance(name, str) or not safe_relative(name):
            raise InvalidArgumentError("file name %r must be a relative path inside the run" % (name,))
        if name == STD_LOG_NAME:
            entry = None
        else:
            entry = next((a for a in self._artifacts(name) if a["path"] == name), None)
            if entry is None:
                raise NotFoundError("run %s has no file %r" % (self._id, name))
        if output_file_path is None:
            target = os.path.join(os.getcwd(), name.rsplit("/", 1)[-1])
        else:
            target = os.fspath(output_file_path)
            if os.path.isdir(target):
                target = os.path.join(target, name.rsplit("/", 1)[-1])
        target = os.path.abspath(target)
        folder, base = os.path.split(target)
        plan_download(folder, [base], overwrite, "overwrite=True")
        self._download_to(name, entry, SafeFolder(folder, overwrite), base, _validate_checksum)
        return target

    def download_files(self, prefix: Optional[str] = None, output_directory: Optional[str] = None,
                       output_paths: Optional[Sequence[str]] = None, batch_size: int = 100,
                       append_prefix: bool = True, overwrite: bool = False) -> List[str]:
        """Downloads every file whose name starts with ``prefix`` (all when None).

        Each goes to ``output_directory`` (default the current folder) joined with its
        name, or, with ``append_prefix=False``, with its name less ``prefix``:
        ``download_files(prefix="outputs/model", output_directory="./model",
        append_prefix=False)`` writes ``outputs/model/saved_model.pb`` to
        ``./model/saved_model.pb``. ``output_paths``, when given, names the local path of
        each file in :meth:`get_file_names` order instead. Files are fetched ``batch_size``
        names per listing batch. Returns the local paths written. Every name the server
        lists is checked before anything is written: nothing lands outside the folder, in
        ``.git`` or ``.gantry``, or through a symlink, and without ``overwrite`` (Gantry's
        addition to Azure's signature) AlreadyExistsError when a file is there already.
        """
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise InvalidArgumentError("batch_size must be a positive int")
        prefix = prefix or ""
        entries = {a["path"]: a for a in self._artifacts(prefix)}
        names = sorted(entries)
        if STD_LOG_NAME.startswith(prefix) and self._has_std_log():
            names = sorted(names + [STD_LOG_NAME])
        for n in names:
            problem = tree_path_problem(n)
            if problem:
                raise InvalidArgumentError("the server listed an unsafe file name %r (%s)"
                                           % (n, problem))
        # (folder, path below it) per file: all checked before the first is written.
        places: List[Tuple[str, str]] = []
        if output_paths is not None:
            output_paths = [os.path.abspath(os.fspath(p)) for p in output_paths]
            if len(output_paths) != len(names):
                raise InvalidArgumentError(
                    "output_paths has %d paths but %d files match prefix %r"
                    % (len(output_paths), len(names), prefix))
            places = [os.path.split(p) for p in output_paths]
            for folder, base in places:
                plan_download(folder, [base], overwrite, "overwrite=True")
        else:
            base = os.path.abspath(os.fspath(output_directory) if output_directory is not None
                                   else os.getcwd())
            rels = []
            for n in names:
                rel = n
                if not append_prefix and prefix:
                    rel = n[len(prefix):].lstrip("/") or n.rsplit("/", 1)[-1]
                rels.append(rel)
            plan_download(base, rels, overwrite, "overwrite=True")
            places = [(base, rel) for rel in rels]
        targets = [os.path.join(folder, *rel.split("/")) for folder, rel in places]
        folders: Dict[str, SafeFolder] = {}
        for i in range(0, len(names), batch_size):
            for n, (folder, rel) in zip(names[i:i + batch_size], places[i:i + batch_size]):
                if folder not in folders:
                    folders[folder] = SafeFolder(folder, overwrite)
                self._download_to(n, entries.get(n), folders[folder], rel, True)
        return targets

    def _download_to(self, name: str, entry: Optional[Dict[str, Any]], folder: SafeFolder,
                     rel: str, validate: bool) -> None:
        """Streams one file into a temporary file next to its place in ``folder``, checks its
        hash, and renames it into place, so the file is never left half-written."""
        if entry is None:
            path = _paths.run_log(self._id, STD_LOG)
        else:
            path = _paths.run_artifact(self._id, name)
        check = entry is not None and validate
        mode = entry.get("mode", 0o644) if entry is not None else 0o644
        if not isinstance(mode, int) or isinstance(mode, bool) or mode < 0:
            mode = 0o644

        def fill(f: Any) -> None:
            size, sha = self._client(timeout=600).download(path, f)
            if check and (sha != entry.get("blob") or size != entry.get("size")):
                raise DataLossError("downloaded %s of run %s does not match its checksum"
                                    % (name, self._id))

        folder.write(rel, mode & 0o777, fill)
