"""ScriptRunConfig: what to run, where, with which arguments (azureml.core v1's shape).

::

    src = ScriptRunConfig(source_directory="src", script="train.py",
                          arguments=["--data", "/data/my files", "--epochs", 3])
    run = Experiment(ws, "mnist").submit(src)

Submitting uploads ``source_directory`` as the run's code snapshot (ignore files honoured,
only new files sent) and posts a command job (docs/jobs.md) whose ``command`` is
``python <script> <arguments...>``, each part shell-quoted (:func:`shlex.quote`) after
``str()`` for non-strings, so an argument reaches the script exactly as given.

Extension points, used by datasets (``dataset.as_mount()``), compute targets and, later,
environments; plain values work too:

``environment``
    None (the runner's ``python``), a string passed through as the job's ``environment``
    (``"python:/usr/bin/python3"``, ``"/usr/bin/python3.11"``, ``"python3.11"``), or an
    object with ``_gantry_spec()`` returning such a string.
``compute_target``
    None or ``"local"`` (the built-in target), a cluster's name, or an object with ``.name``
    (a :class:`~gantry.ComputeTarget`).
``arguments`` / ``command`` items, and ``run_config.data`` values
    An object with ``_gantry_input()`` (or ``_gantry_input(workspace)``, which is given the
    workspace submitted to, or None when a spec is built without one: how an unregistered
    dataset gets registered at submit) returning ``(input_name, input_dict, tree_id)``
    becomes the placeholder ``${{inputs.NAME}}`` in the command, ``input_dict`` (e.g.
    ``{"type": "uri_folder", "path": "mnist", "mode": "ro_mount"}``, or a literal string)
    becomes ``inputs.NAME`` of the job, and ``tree_id`` (the uploaded tree holding the data
    of a ``uri_file``/``uri_folder`` input; None for a literal or for an input the server
    resolves itself, such as a registered asset) goes into the submission's
    ``input_trees``. The runner substitutes the placeholder, verbatim, with the literal or
    the local path of the materialized input. This is how ``dataset.as_mount()`` plugs in
    (an ``azureml:NAME:VERSION`` input); an object used twice gives one input.
``distributed_job_config``
    None (one process) or an object with ``_gantry_distribution()`` returning
    ``(instance_count, distribution_dict)``: an :class:`~gantry.MpiConfiguration`,
    :class:`~gantry.PyTorchConfiguration` or :class:`~gantry.TensorflowConfiguration`. They
    become the job's ``resources: {instance_count: N}`` and ``distribution``. Read at submit,
    so attributes changed after construction count.
"""

from __future__ import annotations

import inspect
import os
import shlex
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _paths
from ._snapshot import UploadStats, upload_folder
from .errors import InvalidArgumentError, NotFoundError
from .run_config import RunConfiguration
from .script_run import ScriptRun

__all__ = ["ScriptRunConfig"]


def _environment_spec(environment: Any, workspace: Any = None) -> Optional[str]:
    if environment is None:
        return None
    if isinstance(environment, str):
        return environment
    spec = getattr(environment, "_gantry_spec", None)
    if callable(spec):
        if workspace is None and hasattr(environment, "python"):
            return "(checked at submit)"  # an Environment: registered at submit if needed
        value = spec(workspace) if workspace is not None else spec()
        if not isinstance(value, str):
            raise TypeError("%s._gantry_spec() must return a str" % type(environment).__name__)
        return value
    raise TypeError(
        "environment must be None or an interpreter spec such as 'python:/usr/bin/python3', got "
        "%s" % type(environment).__name__)


def _distribution(config: Any) -> Optional[Tuple[int, Dict[str, Any]]]:
    if config is None:
        return None
    hook = getattr(config, "_gantry_distribution", None)
    if not callable(hook):
        raise TypeError("distributed_job_config must be None, an MpiConfiguration, a "
                        "PyTorchConfiguration or a TensorflowConfiguration, got %s"
                        % type(config).__name__)
    return hook()


def _check_duration(seconds: Any) -> None:
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)
                                or seconds <= 0):
        raise InvalidArgumentError("max_run_duration_seconds must be a positive int or None")


def _compute_name(target: Any) -> str:
    if target is None:
        return "local"
    if isinstance(target, str):
        return target or "local"
    name = getattr(target, "name", None)
    if isinstance(name, str) and name:
        return name
    raise TypeError("compute_target must be None, a name or an object with .name, got %s"
                    % type(target).__name__)


def _takes_workspace(hook: Any) -> bool:
    try:
        return bool(inspect.signature(hook).parameters)
    except (TypeError, ValueError):
        return False


class ScriptRunConfig:
    """How to run a script (or a command) from ``source_directory`` as a Gantry run.

    The parameters are azureml-core's, in its order, so positional calls mean the same.
    Give either ``script`` (a path inside ``source_directory``) with optional ``arguments``,
    or ``command`` (a string used as written, or a list whose items are quoted like
    arguments). ``run_config`` (a :class:`~gantry.run_config.RunConfiguration`; default a
    new one) holds where and how it runs: ``compute_target``, ``environment``,
    ``distributed_job_config`` and ``max_run_duration_seconds`` given here are set on it
    (and read from it: ``src.compute_target`` is ``src.run_config``'s target), its ``script``,
    ``arguments`` and ``command`` are used when none are given here, and what it holds at
    submit is what runs. ``max_run_duration_seconds`` becomes the job's ``limits.timeout``
    (None: no limit); ``environment_variables`` (Gantry's addition) are set for the command.
    ``distributed_job_config`` runs the command on several instances, or several processes
    per instance (see :mod:`gantry.distributed`). ``docker_runtime_config`` is accepted and
    changes nothing: a run uses a container when its environment names an image.
    ``resume_from`` (a checkpoint DataPath) is refused: Gantry has no datastores.
    """

    def __init__(self, source_directory: Union[str, "os.PathLike[str]"], script: Optional[str] = None,
                 arguments: Optional[Sequence[Any]] = None, run_config: Any = None,
                 _telemetry_values: Any = None, compute_target: Any = None,
                 environment: Any = None, distributed_job_config: Any = None,
                 resume_from: Any = None, max_run_duration_seconds: Optional[int] = None,
                 command: Union[str, Sequence[Any], None] = None,
                 docker_runtime_config: Any = None,
                 environment_variables: Optional[Dict[str, str]] = None):
        if source_directory is None:
            raise InvalidArgumentError("source_directory is required (use '.' for the current folder)")
        if run_config is not None and not isinstance(run_config, RunConfiguration):
            raise TypeError("run_config must be a RunConfiguration, got %s" % type(run_config).__name__)
        if resume_from is not None:
            raise InvalidArgumentError(
                "resume_from is not supported by Gantry (it names a datastore path); pass the "
                "checkpoint as a dataset input instead")
        self.source_directory = os.fspath(source_directory)
        rc = run_config if run_config is not None else RunConfiguration()
        if script is None and command is None and arguments is None:
            script, command = rc.script, rc.command
            arguments = rc.arguments or None
        elif script is None and command is None:
            script, command = rc.script, rc.command
        if script is not None and command is not None:
            raise InvalidArgumentError("give either script (with arguments) or command, not both")
        if script is None and command is None:
            raise InvalidArgumentError("give a script to run (or a command)")
        if command is not None and arguments:
            raise InvalidArgumentError("arguments go with script; put them in command instead")
        if script is not None:
            script = os.fspath(script)
            if not script or os.path.isabs(script):
                raise InvalidArgumentError(
                    "script %r must be a path relative to source_directory" % script)
        if arguments is not None and (isinstance(arguments, (str, bytes)) or
                                      not isinstance(arguments, (list, tuple))):
            raise TypeError("arguments must be a list, got %s" % type(arguments).__name__)
        if command is not None and not isinstance(command, (str, list, tuple)):
            raise TypeError("command must be a str or a list, got %s" % type(command).__name__)
        _check_duration(max_run_duration_seconds)
        _environment_spec(environment)  # reject unsupported kinds now, not at submit
        _compute_name(compute_target)
        _distribution(distributed_job_config)
        self.run_config = rc
        self.script = script
        self.arguments: List[Any] = list(arguments or [])
        self.command = command
        rc.script, rc.arguments, rc.command = script, self.arguments, command
        if compute_target is not None:
            rc.target = compute_target
        if environment is not None:
            rc.environment = environment
        if distributed_job_config is not None:
            rc.distributed_job_config = distributed_job_config
        if max_run_duration_seconds is not None:
            rc.max_run_duration_seconds = max_run_duration_seconds
        if environment_variables:
            rc.environment_variables = dict(environment_variables)
        self.docker_runtime_config = docker_runtime_config

    # The run configuration's fields, under ScriptRunConfig's names.

    @property
    def compute_target(self) -> Any:
        """The compute target as given (a name or a ComputeTarget); None for ``local``."""
        return self.run_config._target

    @compute_target.setter
    def compute_target(self, value: Any) -> None:
        self.run_config.target = value

    @property
    def environment(self) -> Any:
        return self.run_config.environment

    @environment.setter
    def environment(self, value: Any) -> None:
        _environment_spec(value)
        self.run_config.environment = value

    @property
    def distributed_job_config(self) -> Any:
        return self.run_config.distributed_job_config

    @distributed_job_config.setter
    def distributed_job_config(self, value: Any) -> None:
        self.run_config.distributed_job_config = value

    @property
    def max_run_duration_seconds(self) -> Optional[int]:
        return self.run_config.max_run_duration_seconds

    @max_run_duration_seconds.setter
    def max_run_duration_seconds(self, value: Optional[int]) -> None:
        _check_duration(value)
        self.run_config.max_run_duration_seconds = value

    @property
    def environment_variables(self) -> Dict[str, str]:
        return self.run_config.environment_variables

    @environment_variables.setter
    def environment_variables(self, value: Dict[str, str]) -> None:
        self.run_config.environment_variables = dict(value or {})

    def __repr__(self) -> str:
        what = ("script=%r, arguments=%r" % (self.script, self.arguments) if self.script is not None
                else "command=%r" % (self.command,))
        return "ScriptRunConfig(source_directory=%r, %s)" % (self.source_directory, what)

    # -- the job

    def _job_spec(self, experiment_name: Optional[str] = None,
                  tags: Optional[Dict[str, Any]] = None,
                  workspace: Any = None) -> Tuple[Dict[str, Any], Dict[str, str]]:
        """Returns ``(job spec JSON, input_trees)`` as POST /api/v1/runs takes them."""
        inputs: Dict[str, Any] = {}
        input_trees: Dict[str, str] = {}

        self.run_config._check()

        def word(item: Any) -> str:
            hook = getattr(item, "_gantry_input", None)
            if callable(hook):
                name, spec, tree_id = hook(workspace) if _takes_workspace(hook) else hook()
                if name in inputs and inputs[name] != spec:
                    raise InvalidArgumentError("two different inputs are both named %r" % name)
                inputs[name] = spec
                if tree_id:
                    input_trees[name] = tree_id
                return "${{inputs.%s}}" % name
            if isinstance(item, os.PathLike):
                item = os.fspath(item)
            return shlex.quote(item if isinstance(item, str) else str(item))

        if self.script is not None:
            parts = ["python", word(self.script.replace(os.sep, "/"))]
            parts += [word(a) for a in self.arguments]
            command = " ".join(parts)
        elif isinstance(self.command, str):
            command = self.command
        else:
            command = " ".join(word(a) for a in self.command)
        if not command.strip():
            raise InvalidArgumentError("command must not be empty")
        for key, item in self.run_config.data.items():
            # Inputs no argument names: the job gets them all the same (Azure mounts them).
            if not callable(getattr(item, "_gantry_input", None)):
                raise TypeError("run_config.data[%r] must be a dataset input such as "
                                "dataset.as_named_input(%r).as_mount(), got %s"
                                % (key, key, type(item).__name__))
            word(item)

        spec: Dict[str, Any] = {"command": command,
                                "code": os.path.abspath(self.source_directory),
                                "compute": _compute_name(self.compute_target)}
        if experiment_name:
            spec["experiment_name"] = experiment_name
        environment = _environment_spec(self.environment, workspace)
        if environment:
            spec["environment"] = environment
        if inputs:
            spec["inputs"] = inputs
        if self.environment_variables:
            spec["environment_variables"] = {str(k): str(v) for k, v in self.environment_variables.items()}
        if tags:
            spec["tags"] = {str(k): "" if v is None else str(v) for k, v in tags.items()}
        distribution = _distribution(self.distributed_job_config)
        if distribution is not None:
            spec["resources"] = {"instance_count": distribution[0]}
            spec["distribution"] = distribution[1]
        elif self.run_config.node_count > 1:
            spec["resources"] = {"instance_count": self.run_config.node_count}
        if self.max_run_duration_seconds:
            spec["limits"] = {"timeout": self.max_run_duration_seconds}
        return spec, input_trees

    def _check_source(self) -> str:
        root = os.path.abspath(self.source_directory)
        if not os.path.isdir(root):
            raise NotFoundError("source_directory %s %s" % (
                root, "is not a folder" if os.path.exists(root) else "does not exist"))
        if self.script is not None and not os.path.isfile(os.path.join(root, self.script)):
            raise NotFoundError("script %r not found in source_directory %s" % (self.script, root))
        return root

    def _gantry_submit(self, experiment: Any, tags: Optional[Dict[str, Any]]) -> Any:
        """Experiment.submit's hook: upload the code, post the run, return it."""
        spec, input_trees = self._job_spec(experiment.name, tags, experiment.workspace)
        root = self._check_source()
        client = experiment.workspace._client(timeout=600)  # one blob may be up to 1 GiB
        stats = UploadStats()
        snapshot_id = upload_folder(client, root, stats)
        body = client.post(_paths.runs(), {"spec": spec, "snapshot_id": snapshot_id,
                                            "input_trees": input_trees})
        return ScriptRun._from_server(experiment, body, upload_stats=stats)
