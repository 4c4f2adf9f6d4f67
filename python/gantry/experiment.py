"""Experiments: named groups of runs, and where runs are submitted.

::

    from gantry import Experiment, ScriptRunConfig

    exp = Experiment(workspace=ws, name="mnist")
    run = exp.submit(ScriptRunConfig(source_directory="src", script="train.py"))

An experiment exists on the server as soon as it has a run; creating the object sends
nothing.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, Optional

from . import _paths
from ._workspace_base import check_workspace
from .errors import InvalidArgumentError

__all__ = ["Experiment"]

# Azure ML's rule for experiment names.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")


class Experiment:
    """An experiment of ``workspace`` called ``name`` (letters, digits, ``_`` and ``-``,
    starting with a letter or digit, at most 255 characters)."""

    def __init__(self, workspace: Any, name: str):
        check_workspace(workspace)
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidArgumentError(
                "experiment name %r is not valid: use 1-255 letters, digits, '_' and '-', "
                "starting with a letter or digit" % (name,))
        self._workspace = workspace
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def workspace(self) -> Any:
        return self._workspace

    def submit(self, config: Any, tags: Optional[Dict[str, Any]] = None) -> Any:
        """Submits ``config`` (a :class:`~gantry.ScriptRunConfig`) as a run of this
        experiment and returns the submitted :class:`~gantry.Run`, usually still Queued.

        ``tags`` become the run's tags (values as strings). The code folder is uploaded
        first: only files the server does not already hold are sent.
        """
        submit = getattr(config, "_gantry_submit", None)
        if submit is None:
            raise TypeError("cannot submit a %s: pass a ScriptRunConfig" % type(config).__name__)
        return submit(self, tags)

    def get_runs(self) -> Iterator[Any]:
        """The experiment's runs, newest first."""
        # script_run.py imports this module: a ScriptRun belongs to an Experiment.
        from .script_run import ScriptRun

        body = self._workspace._client().get(
            _paths.runs(), {"experiment": self._name, "limit": 1000000}) or {}
        for details in body.get("runs") or []:
            yield ScriptRun._from_server(self, details)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Experiment) and (self._workspace, self._name) == (
            other._workspace, other._name)

    def __hash__(self) -> int:
        return hash((self._workspace, self._name))

    def __repr__(self) -> str:
        return "Experiment(Name: %s, Workspace: %s)" % (self._name, self._workspace.name)
