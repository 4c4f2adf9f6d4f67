"""azureml.core v1 on Gantry: Workspace, Experiment, Run, ScriptRunConfig.

These are Gantry's own classes (``azureml.core.Run is gantry.Run``). Datasets, registered
environments, compute targets, models and run configurations arrive with step 2; until then
importing them (``from azureml.core import Environment``, ``import
azureml.core.compute``) raises an ImportError that says so and what to do meanwhile.
"""

from gantry import Experiment, Run, ScriptRun, ScriptRunConfig, Workspace
from gantry import __version__ as VERSION

from ._missing import LATER as _LATER
from ._missing import unavailable as _unavailable

__all__ = ["Workspace", "Experiment", "Run", "ScriptRun", "ScriptRunConfig", "VERSION"]


def __getattr__(name):
    if name in _LATER:
        raise _unavailable(name)
    raise AttributeError("module 'azureml.core' has no attribute %r" % name)
