"""azureml.core.model: Gantry's Model (see gantry.model)."""

from gantry.model import Model

__all__ = ["Model"]
