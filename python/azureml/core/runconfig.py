"""azureml.core.runconfig: RunConfiguration, CondaDependencies and the distributed job
configurations (see gantry.run_config, gantry.conda_dependencies, gantry.distributed)."""

from gantry.conda_dependencies import CondaDependencies
from gantry.distributed import MpiConfiguration, PyTorchConfiguration, TensorflowConfiguration
from gantry.run_config import RunConfiguration

__all__ = ["RunConfiguration", "CondaDependencies", "MpiConfiguration", "PyTorchConfiguration",
           "TensorflowConfiguration"]
