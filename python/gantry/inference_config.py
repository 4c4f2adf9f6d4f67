"""InferenceConfig: the scoring code of a web service (azureml.core.model's shape).

::

    from gantry import Environment, InferenceConfig, Model

    env = Environment.get(ws, "Gantry-PyTorch-Debian")
    config = InferenceConfig(entry_script="score.py", source_directory="./service", environment=env)
    service = Model.deploy(ws, "my-service", [model], inference_config=config)

The entry script defines ``init()`` (called once per worker; the model's files are under
``os.environ["AZUREML_MODEL_DIR"]``) and ``run(raw_data)`` (the request body as a str; what it
returns is sent back as JSON). At deployment the source directory is uploaded as a tree
exactly as ``ScriptRunConfig`` uploads its code (ignore files honoured, only blobs the server
lacks are sent). Without ``source_directory`` only the entry script itself is uploaded, as in
Azure: the model server's code folder then holds just that file.

Gantry runs the script with a registered or curated environment. The older, image-building
parameters (``conda_file``, ``extra_docker_file_steps``, ``base_image``,
``base_image_registry``, ``cuda_version``, ``enable_gpu=True``, a ``runtime`` other than
``"python"``) are refused with an InvalidArgument WebserviceException that says what to use
instead.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple

from ._snapshot import snapshot_named, upload_folder, upload_snapshot
from .errors import InvalidArgumentError, NotFoundError

__all__ = ["InferenceConfig"]

_NO_IMAGES = ("Gantry runs the entry script in a registered environment and builds no images: "
              "pass environment=Environment.from_conda_specification(name, file) (or "
              "from_pip_requirements, or a curated Environment.get(ws, name))")


def _webservice_error(cls: Any, message: str) -> Exception:
    """A WebserviceException that is also a ``cls``. The class lives in webservice.py, which
    imports this module (a deployment type-checks its InferenceConfig): a real cycle, so the
    import waits until an error is raised."""
    from .webservice import _error
    return _error(cls, message)


def _refuse(message: str) -> Exception:
    return _webservice_error(InvalidArgumentError, message)


class InferenceConfig:
    """Scoring code for :meth:`Model.deploy`: ``entry_script`` (a path inside
    ``source_directory``, or, without one, a path to the script, which is then the only file
    packaged), run in ``environment`` (an :class:`~gantry.Environment`, registered at
    deployment when it is not yet, or a reference ``"NAME:VERSION"`` / ``"NAME"``; None: the
    server's default ``Gantry-Python3``). ``description`` becomes the service's description
    when the deployment configuration gives none.

    WebserviceException (also InvalidArgumentError / NotFoundError) for a missing entry
    script and for the parameters Gantry cannot honour (see the module's doc).
    """

    def __init__(self, entry_script: Optional[str] = None, runtime: Optional[str] = None,
                 conda_file: Optional[str] = None, extra_docker_file_steps: Optional[str] = None,
                 source_directory: Optional[str] = None, enable_gpu: Optional[bool] = None,
                 description: Optional[str] = None, base_image: Optional[str] = None,
                 base_image_registry: Any = None, cuda_version: Optional[str] = None,
                 environment: Any = None):
        if runtime is not None and str(runtime).lower() != "python":
            raise _refuse("runtime %r is not supported: Gantry runs Python entry scripts "
                          "(runtime='python' or None)" % (runtime,))
        for field, value in (("conda_file", conda_file),
                             ("extra_docker_file_steps", extra_docker_file_steps),
                             ("base_image", base_image),
                             ("base_image_registry", base_image_registry),
                             ("cuda_version", cuda_version)):
            if value is not None:
                raise _refuse("%s is not supported. %s" % (field, _NO_IMAGES))
        if enable_gpu:
            raise _refuse("enable_gpu is not supported: the entry script runs on the server's "
                          "machine and sees the GPUs it has; leave enable_gpu unset")
        if entry_script is None or not os.fspath(entry_script):
            raise _refuse("InferenceConfig needs an entry_script (a Python file defining init() "
                          "and run(raw_data)); leave inference_config out for a no-code "
                          "deployment")
        if description is not None and not isinstance(description, str):
            raise TypeError("description must be a str, got %s" % type(description).__name__)
        if environment is not None and not isinstance(environment, str) and not callable(
                getattr(environment, "_gantry_spec", None)):
            raise TypeError("environment must be an Environment or a 'NAME:VERSION' reference, "
                            "got %s" % type(environment).__name__)
        self.entry_script = os.fspath(entry_script)
        self.source_directory = os.fspath(source_directory) if source_directory is not None else None
        self.runtime = runtime
        self.description = description
        self.environment = environment
        self.enable_gpu = enable_gpu
        self._code_location()  # a missing script fails here, not at deployment

    def _code_location(self) -> Tuple[str, str]:
        """``(source directory, entry script relative to it with '/')``, both checked."""
        if self.source_directory is not None:
            root = os.path.abspath(self.source_directory)
            if not os.path.isdir(root):
                raise self._missing("source_directory %s %s" % (
                    root, "is not a folder" if os.path.exists(root) else "does not exist"))
            script = os.path.normpath(os.path.join(root, self.entry_script))
        else:
            script = os.path.abspath(self.entry_script)
            root = os.path.dirname(script)
        if not os.path.isfile(script):
            where = (" in source_directory %s" % root) if self.source_directory is not None else ""
            raise self._missing("entry_script %r not found%s" % (self.entry_script, where))
        rel = os.path.relpath(script, root)
        if rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
            raise _refuse("entry_script %r is outside source_directory %s"
                          % (self.entry_script, root))
        return root, rel.replace(os.sep, "/")

    @staticmethod
    def _missing(message: str) -> Exception:
        return _webservice_error(NotFoundError, message)

    def _environment_reference(self, workspace: Any) -> str:
        """The deployment's ``environment`` field: "" (the server's default), a reference
        as given, or ``azureml:NAME:VERSION`` of an Environment (registered now if needed)."""
        if self.environment is None:
            return ""
        if isinstance(self.environment, str):
            return self.environment
        return self.environment._gantry_spec(workspace)

    def _gantry_code(self, workspace: Any) -> Tuple[str, str, str]:
        """Uploads the source directory; returns ``(code_tree, scoring_script, environment)``
        as PUT /endpoints/{name}/deployments/{deployment} takes them."""
        root, script = self._code_location()
        environment = self._environment_reference(workspace)
        client = workspace._client(timeout=600)
        if self.source_directory is None:
            # As in Azure: without a source directory only the entry script is packaged, not
            # the folder it sits in (a notebook's folder holds data and models too).
            code_tree = upload_snapshot(client, snapshot_named(os.path.join(root, script), script))
        else:
            code_tree = upload_folder(client, root)
        return code_tree, script, environment

    def __repr__(self) -> str:
        return "InferenceConfig(entry_script=%r, source_directory=%r, environment=%r)" % (
            self.entry_script, self.source_directory, self.environment)
