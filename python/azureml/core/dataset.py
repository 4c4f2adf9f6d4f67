"""azureml.core.dataset: Gantry's Dataset (see gantry.dataset)."""

from gantry.dataset import Dataset

__all__ = ["Dataset"]
