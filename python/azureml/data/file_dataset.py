"""azureml.data.file_dataset: Gantry's FileDataset (see gantry.dataset)."""

from gantry.dataset import FileDataset

__all__ = ["FileDataset"]
