"""Clear ImportErrors for the parts of azureml.core that Gantry does not have yet."""

_DATASTORE = ("datastores are not part of it. Dataset.File.from_files(path=...) takes local "
              "files, folders and globs and http(s)/file URLs instead of datastore paths")
#: Names in azureml.core, and its submodules, that Gantry does not have yet -> why and what now.
LATER = {
    "Datastore": _DATASTORE,
    "azureml.core.datastore": _DATASTORE,
}


def unavailable(name: str) -> ImportError:
    """The ImportError for ``name``: a module path, or a name in azureml.core."""
    full = name if name.startswith("azureml.") else "azureml.core." + name
    return ImportError("%s is not available in Gantry yet: %s." % (full, LATER[name]),
                       name=full if name.startswith("azureml.") else "azureml.core")
