"""Gantry Python SDK: log metrics and tags from code running as a Gantry run.

    from gantry import Run
    run = Run.get_context()
    run.log("accuracy", 0.91)
"""

from .errors import GantryError
from .run import Run

__version__ = "0.1.0"

__all__ = ["Run", "GantryError", "__version__"]
