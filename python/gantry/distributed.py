"""Distributed job configurations: MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration
(azureml.core.runconfig v1's shape).

::

    from gantry import ScriptRunConfig, PyTorchConfiguration

    pytorch = PyTorchConfiguration(process_count=4, node_count=2)
    src = ScriptRunConfig(source_directory="src", script="train.py", compute_target=cluster,
                          distributed_job_config=pytorch)

ScriptRunConfig turns one into the command job's ``resources.instance_count`` and
``distribution`` (docs/jobs.md, Azure ML CLI v2's names) through :meth:`_gantry_distribution`.
Counts are checked when set, so a bad one fails at the line that sets it, naming the field;
rules between fields (PyTorch's process count per node) are checked when the job spec is made,
since Azure users set the attributes one by one after construction.

Instances are plain objects, not thread-safe; one may be shared by several ScriptRunConfigs,
each reading its values when submitted.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Optional, Tuple

from .errors import InvalidArgumentError

__all__ = ["MpiConfiguration", "PyTorchConfiguration", "TensorflowConfiguration"]

#: PyTorch backends Azure ML names (any case is accepted).
_BACKENDS = ("Nccl", "Gloo")


def _count(owner: Any, field: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgumentError("%s.%s must be %s int, got %r" % (
            type(owner).__name__, field, "a positive" if minimum == 1 else "a non-negative", value))
    return int(value)


class _Count:
    """A count attribute checked on every assignment, as _count does (None allowed when
    `optional`); stored as ``_NAME``."""

    def __init__(self, minimum: int = 1, optional: bool = False):
        self.minimum = minimum
        self.optional = optional

    def __set_name__(self, owner: Any, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else getattr(obj, "_" + self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        if not (value is None and self.optional):
            value = _count(obj, self.name, value, self.minimum)
        setattr(obj, "_" + self.name, value)


class MpiConfiguration:
    """An MPI job: ``node_count`` instances, each running ``process_count_per_node`` copies
    of the command.

    Maps to ``resources.instance_count = node_count`` and ``distribution: {type: mpi,
    process_count_per_instance: process_count_per_node}``.
    """

    process_count_per_node = _Count()
    node_count = _Count()

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1):
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count

    def _gantry_distribution(self) -> Tuple[int, Dict[str, Any]]:
        """``(instance_count, distribution)`` for the job spec."""
        return self.node_count, {"type": "mpi",
                                 "process_count_per_instance": self.process_count_per_node}

    def __repr__(self) -> str:
        return "MpiConfiguration(process_count_per_node=%r, node_count=%r)" % (
            self.process_count_per_node, self.node_count)


class PyTorchConfiguration:
    """A PyTorch job: ``process_count`` processes in all (default: one per node), spread
    evenly over ``node_count`` instances.

    Maps to ``resources.instance_count = node_count`` and ``distribution: {type: pytorch,
    process_count_per_instance: process_count / node_count}``; a ``process_count`` that
    ``node_count`` does not divide is an InvalidArgumentError naming both.

    ``communication_backend`` (``"Nccl"``, the default, or ``"Gloo"``) is kept on the object
    but not sent: the command-job ``distribution`` has no such field, and the script picks
    its backend itself (``torch.distributed.init_process_group("gloo")``).
    """

    process_count = _Count(optional=True)  # the total number of processes; None: one per node
    node_count = _Count()

    def __init__(self, communication_backend: str = "Nccl", process_count: Optional[int] = None,
                 node_count: int = 1):
        self.communication_backend = communication_backend
        self.process_count = process_count
        self.node_count = node_count
        self._check()  # both counts given together: say now if they do not fit

    @property
    def communication_backend(self) -> str:
        return self._communication_backend

    @communication_backend.setter
    def communication_backend(self, value: str) -> None:
        if not isinstance(value, str) or value.lower() not in [b.lower() for b in _BACKENDS]:
            raise InvalidArgumentError(
                "PyTorchConfiguration.communication_backend must be one of %s, got %r"
                % (", ".join(repr(b) for b in _BACKENDS), value))
        self._communication_backend = value

    def _check(self) -> int:
        """The processes per instance; InvalidArgumentError when they cannot be even."""
        total = self.node_count if self.process_count is None else self.process_count
        if total % self.node_count:
            raise InvalidArgumentError(
                "PyTorchConfiguration.process_count (%d) must be a multiple of node_count (%d): "
                "each node runs the same number of processes" % (total, self.node_count))
        return total // self.node_count

    def _gantry_distribution(self) -> Tuple[int, Dict[str, Any]]:
        """``(instance_count, distribution)`` for the job spec."""
        return self.node_count, {"type": "pytorch", "process_count_per_instance": self._check()}

    def __repr__(self) -> str:
        return "PyTorchConfiguration(communication_backend=%r, process_count=%r, node_count=%r)" % (
            self.communication_backend, self.process_count, self.node_count)


class TensorflowConfiguration:
    """A TensorFlow job of ``worker_count`` workers and ``parameter_server_count`` parameter
    servers (0 for strategies without them, such as MultiWorkerMirroredStrategy), one task
    per instance.

    Maps to ``resources.instance_count = worker_count + parameter_server_count`` and
    ``distribution: {type: tensorflow, worker_count, parameter_server_count}``.
    """

    worker_count = _Count()
    parameter_server_count = _Count(minimum=0)

    def __init__(self, worker_count: int = 1, parameter_server_count: int = 1):
        self.worker_count = worker_count
        self.parameter_server_count = parameter_server_count

    def _gantry_distribution(self) -> Tuple[int, Dict[str, Any]]:
        """``(instance_count, distribution)`` for the job spec."""
        return self.worker_count + self.parameter_server_count, {
            "type": "tensorflow", "worker_count": self.worker_count,
            "parameter_server_count": self.parameter_server_count}

    def __repr__(self) -> str:
        return "TensorflowConfiguration(worker_count=%r, parameter_server_count=%r)" % (
            self.worker_count, self.parameter_server_count)
