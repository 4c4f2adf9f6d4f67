"""azureml.core.model: Gantry's Model and InferenceConfig (see gantry.model)."""

from gantry.model import InferenceConfig, Model

__all__ = ["Model", "InferenceConfig"]
