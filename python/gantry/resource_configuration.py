"""ResourceConfiguration: the CPU, memory and GPU a model needs when deployed (azureml's shape).

::

    from gantry import Model, ResourceConfiguration

    model = run.register_model(model_name="tf-mnist", model_path="outputs/model",
                               resource_configuration=ResourceConfiguration(cpu=1, memory_in_gb=0.5))
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, Optional

from .errors import InvalidArgumentError

__all__ = ["ResourceConfiguration"]


def _number(value: Any, what: str, integral: bool = False) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgumentError("%s must be a number, got %r" % (what, value))
    if integral:
        if not isinstance(value, numbers.Integral) and float(value) != int(value):
            raise InvalidArgumentError("%s must be a whole number, got %r" % (what, value))
        value = int(value)
    if value < 0 or (not integral and value == 0):
        raise InvalidArgumentError("%s must be %s, got %r"
                                   % (what, "at least 0" if integral else "greater than 0", value))
    return value if integral else (int(value) if isinstance(value, numbers.Integral) else float(value))


class ResourceConfiguration:
    """``cpu`` (cores, may be fractional), ``memory_in_gb`` and ``gpu`` (a whole number) a
    model needs; None leaves one unsaid. InvalidArgumentError for a non-positive CPU or
    memory, or a negative or fractional GPU count."""

    def __init__(self, cpu: Optional[float] = None, memory_in_gb: Optional[float] = None,
                 gpu: Optional[int] = None):
        self.cpu = _number(cpu, "cpu")
        self.memory_in_gb = _number(memory_in_gb, "memory_in_gb")
        self.gpu = _number(gpu, "gpu", integral=True)

    def validate_configuration(self) -> None:
        """InvalidArgumentError when a value is out of range (checked on creation too)."""
        ResourceConfiguration(self.cpu, self.memory_in_gb, self.gpu)

    def serialize(self) -> Dict[str, Any]:
        """``{"cpu", "memory_in_gb", "gpu"}``, as the server stores it."""
        return {"cpu": self.cpu, "memory_in_gb": self.memory_in_gb, "gpu": self.gpu}

    @staticmethod
    def deserialize(payload_obj: Optional[Dict[str, Any]]) -> Optional["ResourceConfiguration"]:
        """From :meth:`serialize`'s dict (Azure's ``memoryInGB`` spelling works too); None
        for None or an empty dict."""
        if not payload_obj:
            return None
        if not isinstance(payload_obj, dict):
            raise InvalidArgumentError("a resource configuration must be a dict, got %r" % (payload_obj,))
        memory = payload_obj.get("memory_in_gb", payload_obj.get("memoryInGB"))
        return ResourceConfiguration(payload_obj.get("cpu"), memory, payload_obj.get("gpu"))

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ResourceConfiguration) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.cpu, self.memory_in_gb, self.gpu))

    def __repr__(self) -> str:
        return "ResourceConfiguration(cpu=%r, memory_in_gb=%r, gpu=%r)" % (
            self.cpu, self.memory_in_gb, self.gpu)
