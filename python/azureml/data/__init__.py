"""azureml.data on Gantry: FileDataset and DatasetConsumptionConfig (see gantry.dataset).

Tabular datasets and datastores are not part of Gantry.
"""

from gantry.dataset import DatasetConsumptionConfig, FileDataset

__all__ = ["FileDataset", "DatasetConsumptionConfig"]
