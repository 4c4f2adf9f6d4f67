"""azureml.core.script_run_config: Gantry's ScriptRunConfig (see gantry.script_run_config)."""

from gantry.script_run_config import ScriptRunConfig

__all__ = ["ScriptRunConfig"]
