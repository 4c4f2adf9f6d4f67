"""azureml.core.workspace: Gantry's Workspace (see gantry.workspace)."""

from gantry.workspace import Workspace

__all__ = ["Workspace"]
