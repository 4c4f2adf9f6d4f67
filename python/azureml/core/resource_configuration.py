"""azureml.core.resource_configuration: Gantry's ResourceConfiguration."""

from gantry.resource_configuration import ResourceConfiguration

__all__ = ["ResourceConfiguration"]
