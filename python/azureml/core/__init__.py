"""azureml.core v1 on Gantry: Workspace, Experiment, Run, ScriptRunConfig, Dataset,
ComputeTarget, Model, Environment, Webservice, RunConfiguration.

These are Gantry's own classes (``azureml.core.Run is gantry.Run``). Datastores are not
there: importing them (``from azureml.core import Datastore``) raises an ImportError that
says so and what to do instead.
"""

from gantry import (ComputeTarget, Dataset, Environment, Experiment, Model, Run, ScriptRun,
                    ScriptRunConfig, Webservice, Workspace)
from gantry import __version__ as VERSION
from gantry.run_config import RunConfiguration

from ._missing import LATER as _LATER
from ._missing import unavailable as _unavailable

__all__ = ["Workspace", "Experiment", "Run", "ScriptRun", "ScriptRunConfig", "Dataset",
           "ComputeTarget", "Model", "Environment", "Webservice", "RunConfiguration", "VERSION"]


def __getattr__(name):
    if name in _LATER:
        raise _unavailable(name)
    raise AttributeError("module 'azureml.core' has no attribute %r" % name)
