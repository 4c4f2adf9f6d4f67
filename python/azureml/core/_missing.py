"""Clear ImportErrors for the parts of azureml.core that Gantry does not have yet."""

_DATASTORE = ("datastores are not part of it. Dataset.File.from_files(path=...) takes local "
              "files, folders and globs and http(s)/file URLs instead of datastore paths")
_ENVIRONMENT = ("registered environments arrive with step 2. Meanwhile pass "
                "environment='python:/path/to/python' to ScriptRunConfig, or leave it out to "
                "use the runner's python")
_RUNCONFIG = ("RunConfiguration arrives with step 2. ScriptRunConfig takes environment, "
              "compute_target, max_run_duration_seconds, environment_variables and "
              "distributed_job_config directly")

#: Names in azureml.core, and its submodules, that Gantry does not have yet -> why and what now.
LATER = {
    "Datastore": _DATASTORE,
    "RunConfiguration": _RUNCONFIG,
    "azureml.core.conda_dependencies": _ENVIRONMENT,
    "azureml.core.datastore": _DATASTORE,
    "azureml.core.runconfig.RunConfiguration": _RUNCONFIG,
}


def unavailable(name: str) -> ImportError:
    """The ImportError for ``name``: a module path, or a name in azureml.core."""
    full = name if name.startswith("azureml.") else "azureml.core." + name
    return ImportError("%s is not available in Gantry yet: %s." % (full, LATER[name]),
                       name=full if name.startswith("azureml.") else "azureml.core")
