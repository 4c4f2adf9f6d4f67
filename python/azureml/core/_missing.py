"""Clear ImportErrors for the parts of azureml.core that Gantry does not have yet."""

_COMPUTE = ("compute targets arrive with step 2. Gantry runs jobs on its 'local' compute "
            "target: leave compute_target out of ScriptRunConfig (or pass 'local')")
_DATA = ("datasets arrive with step 2. Meanwhile put small data in the source_directory or "
         "pass a path the runner's machine can read as an argument")
_ENVIRONMENT = ("registered environments arrive with step 2. Meanwhile pass "
                "environment='python:/path/to/python' to ScriptRunConfig, or leave it out to "
                "use the runner's python")
_MODEL = ("models arrive with step 2. Meanwhile fetch a run's model with "
          "run.download_files(prefix='outputs/model', output_directory='./model', "
          "append_prefix=False)")
_RUNCONFIG = ("RunConfiguration arrives with step 2. ScriptRunConfig takes environment, "
              "compute_target, max_run_duration_seconds and environment_variables directly")

#: Names in azureml.core, and its submodules, that arrive with step 2 -> why and what now.
LATER = {
    "Environment": _ENVIRONMENT,
    "ComputeTarget": _COMPUTE,
    "Dataset": _DATA,
    "Datastore": _DATA,
    "Model": _MODEL,
    "RunConfiguration": _RUNCONFIG,
    "azureml.core.environment": _ENVIRONMENT,
    "azureml.core.conda_dependencies": _ENVIRONMENT,
    "azureml.core.compute": _COMPUTE,
    "azureml.core.compute_target": _COMPUTE,
    "azureml.core.dataset": _DATA,
    "azureml.core.datastore": _DATA,
    "azureml.core.model": _MODEL,
    "azureml.core.resource_configuration": _MODEL,
    "azureml.core.runconfig": _RUNCONFIG,
}


def unavailable(name: str) -> ImportError:
    """The ImportError for ``name``: a module path, or a name in azureml.core."""
    full = name if name.startswith("azureml.") else "azureml.core." + name
    return ImportError("%s is not available in Gantry yet: %s." % (full, LATER[name]),
                       name=full if name.startswith("azureml.") else "azureml.core")
