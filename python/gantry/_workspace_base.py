"""What the entity modules need from a workspace, without importing ``workspace.py``.

``workspace.py`` sits above the entity modules: a Workspace lists its experiments, datasets,
compute targets, models and web services, so it imports their modules. Those modules are
handed a workspace and only check it and call it (``name``, ``url``, ``_client()``); they
check against :class:`WorkspaceBase`, which :class:`gantry.Workspace` derives from, so none
of them imports upward.
"""

from __future__ import annotations

from typing import Any

from ._http import Client

__all__ = ["WorkspaceBase", "check_workspace"]


class WorkspaceBase:
    """The interface of a workspace as the entity modules use it. :class:`gantry.Workspace`
    is its one implementation; nothing else should derive from it."""

    @property
    def name(self) -> str:
        """The workspace's name, as its server reports it."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The server's base URL."""
        raise NotImplementedError

    def _client(self, timeout: float = 30) -> Client:
        """A client for the workspace's server, with its credential and CA file."""
        raise NotImplementedError


def check_workspace(workspace: Any) -> None:
    """TypeError unless ``workspace`` is a :class:`gantry.Workspace`."""
    if not isinstance(workspace, WorkspaceBase):
        raise TypeError("workspace must be a gantry Workspace, got %s" % type(workspace).__name__)
