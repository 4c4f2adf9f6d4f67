"""Gantry Python SDK: submit and follow runs, and log metrics and tags from inside them.

In a training script::

    from gantry import Run
    run = Run.get_context()
    run.log("accuracy", 0.91)

From a notebook (azureml.core v1's API; ``from azureml.core import ...`` works too)::

    from gantry import Workspace, Experiment, ScriptRunConfig
    ws = Workspace.from_config()
    src = ScriptRunConfig(source_directory="src", script="train.py", arguments=["--lr", 0.01])
    run = Experiment(ws, "mnist").submit(src)
    run.wait_for_completion(show_output=True)

Modules: ``workspace`` (Workspace), ``experiment`` (Experiment), ``script_run_config``
(ScriptRunConfig), ``run`` (Run, in-run logging), ``script_run`` (ScriptRun, a submitted
run), ``dataset`` (Dataset, FileDataset), ``compute`` (ComputeTarget, AmlCompute,
ComputeTargetException), ``model`` (Model), ``inference_config`` (InferenceConfig),
``webservice`` (Webservice, AciWebservice, AksWebservice, LocalWebservice,
WebserviceException), ``environment`` (Environment), ``resource_configuration``
(ResourceConfiguration), ``run_config`` (RunConfiguration), ``conda_dependencies``
(CondaDependencies), ``distributed`` (MpiConfiguration, PyTorchConfiguration,
TensorflowConfiguration), ``errors``.
"""

from .conda_dependencies import CondaDependencies
from .compute import AmlCompute, ComputeTarget, ComputeTargetException
from .dataset import Dataset, DatasetConsumptionConfig, FileDataset
from .distributed import MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration
from .environment import Environment
from .errors import GantryError, RunFailedError, UserError
from .experiment import Experiment
from .inference_config import InferenceConfig
from .model import Model
from .resource_configuration import ResourceConfiguration
from .run import Run
from .run_config import RunConfiguration
from .script_run import ScriptRun
from .script_run_config import ScriptRunConfig
from .webservice import (AciWebservice, AksWebservice, LocalWebservice, Webservice,
                         WebserviceException)
from .workspace import Workspace

__version__ = "0.1.0"

__all__ = ["Run", "ScriptRun", "Workspace", "Experiment", "ScriptRunConfig", "Dataset", "Environment",
           "FileDataset", "DatasetConsumptionConfig", "ComputeTarget", "AmlCompute",
           "ComputeTargetException", "Model", "ResourceConfiguration", "GantryError",
           "RunFailedError", "InferenceConfig", "Webservice", "AciWebservice", "AksWebservice",
           "LocalWebservice", "WebserviceException", "MpiConfiguration", "PyTorchConfiguration",
           "TensorflowConfiguration", "RunConfiguration", "CondaDependencies", "UserError",
           "__version__"]
