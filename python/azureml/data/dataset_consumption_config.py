"""azureml.data.dataset_consumption_config: Gantry's DatasetConsumptionConfig."""

from gantry.dataset import DatasetConsumptionConfig

__all__ = ["DatasetConsumptionConfig"]
