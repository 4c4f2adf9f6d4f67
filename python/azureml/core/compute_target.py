"""azureml.core.compute_target: ComputeTarget and ComputeTargetException (see gantry.compute)."""

from gantry.compute import ComputeTarget, ComputeTargetException

__all__ = ["ComputeTarget", "ComputeTargetException"]
