"""azureml.core.experiment: Gantry's Experiment (see gantry.experiment)."""

from gantry.experiment import Experiment

__all__ = ["Experiment"]
