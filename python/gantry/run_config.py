"""RunConfiguration: where and how a script runs (azureml.core.runconfig v1's shape).

::

    from azureml.core.runconfig import RunConfiguration

    rc = RunConfiguration()
    rc.target = "hd-cluster"              # a compute target's name (or the ComputeTarget)
    rc.environment = env                  # an Environment
    rc.node_count = 1
    src = ScriptRunConfig(source_directory="src", script="train.py", run_config=rc)
    src.run_config.target                 # 'hd-cluster'

A :class:`~gantry.ScriptRunConfig` always has one (``src.run_config``): its
``compute_target``, ``environment``, ``distributed_job_config``,
``max_run_duration_seconds`` and ``environment_variables`` are the run configuration's
fields, so setting them on either side is the same, and what is there at submit is what
runs. ``data`` maps input names to dataset inputs (``ds.as_named_input("mnist").as_mount()``)
that become job inputs even when no argument names them. ``data_references`` (datastore
paths) have no Gantry counterpart: a run configuration that has some is refused at submit.
Fields Azure uses for its own images and services (``docker``, ``history``, ``amlcompute``,
``framework``, ``communicator``) are kept but change nothing.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from .environment import Environment
from .errors import InvalidArgumentError

__all__ = ["RunConfiguration"]


def _target_name(target: Any) -> str:
    if target is None:
        return "local"
    if isinstance(target, str):
        return target or "local"
    name = getattr(target, "name", None)
    if isinstance(name, str) and name:
        return name
    raise TypeError("target must be None, a compute target's name or a ComputeTarget, got %s"
                    % type(target).__name__)


class RunConfiguration:
    """What a run needs besides its code: ``target``, ``environment``, ``node_count``,
    ``data``, ``max_run_duration_seconds``, ``environment_variables``, and the script and
    arguments when no ScriptRunConfig gives them. ``conda_dependencies`` (a
    :class:`~gantry.conda_dependencies.CondaDependencies`) makes ``environment`` an
    Environment built from it."""

    def __init__(self, script: Optional[str] = None, arguments: Optional[List[Any]] = None,
                 framework: Optional[str] = None, communicator: Optional[str] = None,
                 conda_dependencies: Any = None, _history_enabled: Optional[bool] = None,
                 _path: Optional[str] = None, _name: Optional[str] = None,
                 command: Any = None):
        self.script = script
        self.arguments: List[Any] = list(arguments or [])
        self.command = command
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.history = {"output_collection": True if _history_enabled is None else _history_enabled}
        self.docker: Dict[str, Any] = {}
        self.amlcompute: Dict[str, Any] = {}
        self.data: Dict[str, Any] = {}
        self.data_references: Dict[str, Any] = {}
        self.output_data: Dict[str, Any] = {}
        self.max_run_duration_seconds: Optional[int] = None
        self.environment_variables: Dict[str, str] = {}
        self._name = _name
        self._target: Any = None
        self._node_count = 1
        self.distributed_job_config: Any = None
        self.environment: Any = None
        if conda_dependencies is not None:
            env = Environment(_name or "runconfig-environment")
            env.python.conda_dependencies = conda_dependencies
            self.environment = env

    @property
    def target(self) -> str:
        """The compute target's name (``"local"`` unless set). Set a name or a ComputeTarget."""
        return _target_name(self._target)

    @target.setter
    def target(self, value: Any) -> None:
        _target_name(value)
        self._target = value

    @property
    def node_count(self) -> int:
        """How many nodes the job uses: the distributed configuration's count when there is
        one, else what was set (1 by default)."""
        config = self.distributed_job_config
        count = getattr(config, "node_count", None) if config is not None else None
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            return count
        return self._node_count

    @node_count.setter
    def node_count(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidArgumentError("node_count must be a positive int, got %r" % (value,))
        config = self.distributed_job_config
        if config is not None and hasattr(config, "node_count"):
            config.node_count = value
        self._node_count = value

    def _check(self) -> None:
        """What cannot run on Gantry, refused at submit."""
        if self.data_references:
            raise InvalidArgumentError(
                "run_config.data_references (datastore paths) are not supported by Gantry: "
                "use a dataset input instead (Dataset.File.from_files(...).as_mount())")

    def __deepcopy__(self, memo: Dict[int, Any]) -> "RunConfiguration":
        # Environments, compute targets and datasets are shared, not copied.
        clone = copy.copy(self)
        for field in ("arguments", "data", "data_references", "output_data",
                      "environment_variables", "history", "docker", "amlcompute"):
            setattr(clone, field, copy.copy(getattr(self, field)))
        return clone

    def __repr__(self) -> str:
        return "RunConfiguration(target=%r, environment=%r, node_count=%r)" % (
            self.target, self.environment, self.node_count)
