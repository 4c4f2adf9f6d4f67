"""azureml.exceptions: the Gantry errors under their Azure ML names.

``UserErrorException`` is :class:`gantry.errors.UserError`, the base of InvalidArgumentError,
NotFoundError, AlreadyExistsError, FailedPreconditionError and OutOfRangeError, so both
``except UserErrorException`` and ``except NotFoundError`` catch a dataset that is not there.
"""

from gantry.compute import ComputeTargetException
from gantry.errors import GantryError as AzureMLException
from gantry.errors import RunFailedError as ActivityFailedException
from gantry.errors import UserError as UserErrorException
from gantry.webservice import WebserviceException

__all__ = ["AzureMLException", "ActivityFailedException", "ComputeTargetException",
           "UserErrorException", "WebserviceException"]
