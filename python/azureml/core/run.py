"""azureml.core.run: Gantry's Run (see gantry.run)."""

from gantry.run import Run

__all__ = ["Run"]
