"""azureml.exceptions: the Gantry errors under their Azure ML names."""

from gantry.compute import ComputeTargetException
from gantry.errors import GantryError as AzureMLException
from gantry.errors import RunFailedError as ActivityFailedException
from gantry.webservice import WebserviceException

__all__ = ["AzureMLException", "ActivityFailedException", "ComputeTargetException",
           "WebserviceException"]
