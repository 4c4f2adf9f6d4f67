"""azureml.core.compute does not exist in Gantry yet; importing it says when it arrives."""

from ._missing import unavailable

raise unavailable(__name__)
