"""Software environments, azureml.core's ``Environment`` shape.

::

    env = Environment.get(ws, "Gantry-PyTorch-Debian")             # curated: Debian's PyTorch
    env = Environment.from_conda_specification("tf", "./conda_dependencies.yml")
    env = Environment.from_pip_requirements("mine", "./requirements.txt")
    env.environment_variables["OMP_NUM_THREADS"] = "1"
    env = env.register(ws)                                         # name:version, by content
    src = ScriptRunConfig(..., environment=env)                    # registered on submit if needed

The server names each spec's build by its content hash; runners build it once per node
(a venv for pip packages, micromamba/conda for conda files) and reuse it. Names starting with
``AzureML-`` or ``Gantry-`` are reserved for curated environments: ``clone`` them under a new
name to change them.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any, Dict, List, Optional

from . import _paths
from ._names import check_name
from .errors import FailedPreconditionError, InvalidArgumentError

__all__ = ["Environment", "PythonSection", "DockerSection"]


class PythonSection:
    """Which interpreter and packages. ``conda_dependencies_file_text`` holds a conda file."""

    def __init__(self) -> None:
        self.interpreter_path: str = "python"
        self.user_managed_dependencies: bool = False
        self.conda_dependencies_file_text: Optional[str] = None
        #: A conda file as a dict (what the server answers) or a CondaDependencies.
        self.conda_dependencies: Any = None


class DockerSection:
    def __init__(self) -> None:
        self.enabled: bool = False
        self.base_image: Optional[str] = None
        self.base_dockerfile: Optional[str] = None


class Environment:
    def __init__(self, name: str) -> None:
        self.name = name
        self.version: Optional[int] = None
        self.description: str = ""
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: Dict[str, str] = {}
        self.pip_packages: List[str] = []
        self.requires_modules: List[str] = []
        # For an Azure curated name: {"environment": the local stand-in, "reason": why}.
        self.stand_in: Optional[Dict[str, str]] = None
        self.hash: Optional[str] = None
        self._workspace = None

    # -- construction ------------------------------------------------------------------------
    @staticmethod
    def from_conda_specification(name: str, file_path: str) -> "Environment":
        env = Environment(name)
        with open(file_path, "r", encoding="utf-8") as f:
            env.python.conda_dependencies_file_text = f.read()
        return env

    @staticmethod
    def from_pip_requirements(name: str, file_path: str) -> "Environment":
        env = Environment(name)
        with open(file_path, "r", encoding="utf-8") as f:
            env.pip_packages = [line.strip() for line in f
                                if line.strip() and not line.lstrip().startswith("#")]
        return env

    @staticmethod
    def _from_server(workspace: Any, body: Dict[str, Any]) -> "Environment":
        env = Environment(body["name"])
        env.version = int(body["version"])
        env.description = body.get("description", "")
        env.hash = body.get("hash")
        spec = body.get("spec", {})
        python = spec.get("python", {})
        env.python.interpreter_path = python.get("interpreter_path", "python")
        env.python.user_managed_dependencies = bool(python.get("user_managed_dependencies", False))
        env.python.conda_dependencies = python.get("conda_dependencies")
        docker = spec.get("docker", {})
        env.docker.base_image = docker.get("base_image")
        env.docker.base_dockerfile = docker.get("base_dockerfile")
        env.docker.enabled = bool(docker.get("enabled", False) or env.docker.base_image)
        env.environment_variables = dict(spec.get("environment_variables", {}))
        env.pip_packages = list(spec.get("pip", []))
        env.requires_modules = list(spec.get("requires_modules", []))
        env.stand_in = body.get("stand_in") or None
        env._workspace = workspace
        return env

    @staticmethod
    def get(workspace: Any, name: str, version: Optional[int] = None) -> "Environment":
        """A curated or registered environment (latest version unless ``version``).

        An Azure curated name the notebooks use (``AzureML-TensorFlow-2.0-GPU``, ...) gives
        the local environment that stands in for it, under that name; one line says which
        and why (``env.stand_in`` keeps it)."""
        body = workspace._client().get(_paths.environment(name, version))
        env = Environment._from_server(workspace, body)
        if env.stand_in:
            print(env.stand_in["reason"], flush=True)
        return env

    @staticmethod
    def list(workspace: Any) -> Dict[str, "Environment"]:
        """Name → latest version, curated ones included (azureml returns a dict too)."""
        out: Dict[str, Environment] = {}
        for body in workspace._client().get(_paths.environments())["environments"]:
            env = Environment._from_server(workspace, body)
            if env.name not in out or (env.version or 0) > (out[env.name].version or 0):
                out[env.name] = env
        return out

    # -- changing and saving -------------------------------------------------------------------
    def clone(self, new_name: str) -> "Environment":
        env = copy.deepcopy(self)
        env.name = new_name
        env.version = None
        env.hash = None
        return env

    def _spec(self) -> Dict[str, Any]:
        python: Dict[str, Any] = {}
        if self.python.interpreter_path and self.python.interpreter_path != "python":
            python["interpreter_path"] = self.python.interpreter_path
        if self.python.user_managed_dependencies:
            python["user_managed_dependencies"] = True
        if self.python.conda_dependencies_file_text is not None:
            python["conda_dependencies"] = self.python.conda_dependencies_file_text
        elif callable(getattr(self.python.conda_dependencies, "serialize_to_string", None)):
            python["conda_dependencies"] = self.python.conda_dependencies.serialize_to_string()
        elif self.python.conda_dependencies:
            python["conda_dependencies"] = self.python.conda_dependencies
        spec: Dict[str, Any] = {}
        if python:
            spec["python"] = python
        if self.pip_packages:
            spec["pip"] = list(self.pip_packages)
        if self.docker.base_image or self.docker.base_dockerfile or self.docker.enabled:
            docker: Dict[str, Any] = {"enabled": True}
            if self.docker.base_image:
                docker["base_image"] = self.docker.base_image
            if self.docker.base_dockerfile:
                docker["base_dockerfile"] = self.docker.base_dockerfile
            spec["docker"] = docker
        if self.environment_variables:
            spec["environment_variables"] = {k: str(v) for k, v in self.environment_variables.items()}
        if self.requires_modules:
            spec["requires_modules"] = list(self.requires_modules)
        return spec

    def save_to_directory(self, path: str, overwrite: bool = False) -> None:
        """Writes ``azureml_environment.json`` and, for a conda spec, ``conda_dependencies.yml``."""
        if os.path.exists(path) and os.listdir(path) and not overwrite:
            raise FailedPreconditionError("%s is not empty; pass overwrite=True" % path)
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "azureml_environment.json"), "w", encoding="utf-8") as f:
            json.dump({"name": self.name, "version": self.version, "spec": self._spec()}, f, indent=2)
        conda = self.python.conda_dependencies_file_text
        if conda is None and callable(getattr(self.python.conda_dependencies,
                                              "serialize_to_string", None)):
            conda = self.python.conda_dependencies.serialize_to_string()
        elif conda is None and self.python.conda_dependencies:
            conda = json.dumps(self.python.conda_dependencies, indent=2)  # JSON is valid YAML
        if conda is not None:
            with open(os.path.join(path, "conda_dependencies.yml"), "w", encoding="utf-8") as f:
                f.write(conda)

    def register(self, workspace: Any) -> "Environment":
        """Registers this spec; the same spec as the latest version returns that version."""
        if not self.name:
            raise InvalidArgumentError("an environment needs a name to be registered")
        check_name("environment name", self.name)
        body = workspace._client().post(_paths.environments(), {
            "name": self.name, "description": self.description, "spec": self._spec()})
        return Environment._from_server(workspace, body)

    # -- ScriptRunConfig hook --------------------------------------------------------------------
    def _gantry_spec(self, workspace: Any = None) -> str:
        if self.version is None:
            ws = workspace or self._workspace
            if ws is None:
                raise FailedPreconditionError(
                    "environment %r is not registered: call env.register(ws) first" % self.name)
            registered = self.register(ws)
            self.version, self.hash = registered.version, registered.hash
        return "azureml:%s:%d" % (self.name, self.version)

    def __repr__(self) -> str:
        return "Environment(name=%r, version=%r)" % (self.name, self.version)
