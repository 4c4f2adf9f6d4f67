"""azureml.core.conda_dependencies: CondaDependencies (see gantry.conda_dependencies)."""

from gantry.conda_dependencies import CondaDependencies

__all__ = ["CondaDependencies"]
