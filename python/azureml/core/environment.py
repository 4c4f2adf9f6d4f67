"""azureml.core.environment on Gantry: the Environment class."""

from gantry.environment import DockerSection, Environment, PythonSection  # noqa: F401

__all__ = ["Environment", "PythonSection", "DockerSection"]
