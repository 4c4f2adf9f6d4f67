"""azureml.core.script_run: Gantry's ScriptRun (see gantry.script_run)."""

from gantry.script_run import ScriptRun

__all__ = ["ScriptRun"]
