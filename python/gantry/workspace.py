"""The workspace: which Gantry server to talk to.

::

    from gantry import Workspace

    ws = Workspace.from_config()                 # .gantry/config.json, config.json, ... upward
    ws = Workspace("http://127.0.0.1:8765")      # or name the server directly

A config file is JSON: ``{"server": "http://127.0.0.1:8765", "workspace_name": "default",
"token": "gtp_..."}``. ``gantry server`` writes one into its workspace folder
(``.gantry/config.json``, mode 0600, with the local owner's token), so any folder below a
project with a local workspace finds it. The ``GANTRY_URL`` environment variable, when set,
overrides the file's server URL.

The credential sent with every call is, in order: the ``token`` argument, ``GANTRY_TOKEN``,
the config file's ``token`` (when the file names the same server), the token ``gantry login``
stored for the server (``~/.config/gantry/credentials.json``), and inside a run the run's own
token (``GANTRY_RUN_TOKEN``).

An ``https://`` server's certificate is verified against, in order: the ``ca_file``
argument, ``GANTRY_CA_FILE``, the config file's ``ca_file`` (when it names the same server;
``gantry server --tls-cert`` writes it), the CA file ``gantry login --ca-file`` stored, else
the system's CAs.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from . import _paths
from ._http import ENV_CA_FILE, Client
from ._workspace_base import WorkspaceBase
from .compute import ComputeTarget
from .dataset import Dataset
from .errors import InvalidArgumentError, NotFoundError, UnavailableError
from .experiment import Experiment
from .model import Model
from .webservice import Webservice

__all__ = ["Workspace", "CONFIG_FILE_NAMES"]

ENV_URL = "GANTRY_URL"
ENV_TOKEN = "GANTRY_TOKEN"
ENV_RUN_TOKEN = "GANTRY_RUN_TOKEN"


def _credentials_file() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "gantry", "credentials.json")


def _resolve_token(url: str, explicit: Optional[str], config: Dict[str, Any]) -> Optional[str]:
    """The credential for ``url`` (see the module's docstring), or None."""
    if explicit:
        return explicit
    env = os.environ.get(ENV_TOKEN, "").strip()
    if env:
        return env
    token = _config_field(config, url, "token")
    if token:
        return token
    return _stored_credential_field(url, "token") or os.environ.get(ENV_RUN_TOKEN) or None


def _config_field(config: Dict[str, Any], url: str, field: str) -> Optional[str]:
    """``field`` of a config file, when that file names the server ``url``."""
    value = config.get(field)
    if isinstance(value, str) and value and str(config.get("server", "")).rstrip("/") == url:
        return value
    return None


def _stored_credential_field(url: str, field: str) -> Optional[str]:
    """``field`` of what ``gantry login`` stored for ``url``, or None."""
    try:
        with open(_credentials_file(), "r", encoding="utf-8") as f:
            stored = (json.load(f).get("servers") or {}).get(url) or {}
        value = stored.get(field)
        return value if isinstance(value, str) and value else None
    except (OSError, ValueError, AttributeError):
        return None


def _resolve_ca_file(url: str, explicit: Optional[str], config: Dict[str, Any]) -> Optional[str]:
    """The CA file that verifies an https:// ``url`` (see the module's docstring), or None."""
    if not url.startswith("https://"):
        return None
    if explicit:
        return explicit
    env = os.environ.get(ENV_CA_FILE, "").strip()
    if env:
        return env
    return _config_field(config, url, "ca_file") or _stored_credential_field(url, "ca_file")


#: Looked for in each folder, in this order, from the start folder up to the root. The first
#: is Gantry's own; the others are where Azure ML keeps its ``config.json``.
CONFIG_FILE_NAMES = (os.path.join(".gantry", "config.json"), "config.json",
                     os.path.join(".azureml", "config.json"), os.path.join("aml_config", "config.json"))
#: What an Azure ML config file holds (``Workspace.write_config`` writes these three).
_AZURE_FIELDS = ("subscription_id", "resource_group", "workspace_name")


def _read_config(path: str, strict: bool) -> Optional[Dict[str, Any]]:
    """The config in ``path``: a Gantry one (``server``) or an Azure-shaped one
    (``subscription_id``, ``resource_group``, ``workspace_name``); None for a file that is
    neither (it may belong to something else) unless ``strict``."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        if strict:
            raise NotFoundError("cannot read the workspace config %s: %s" % (path, e.strerror)) from None
        return None
    except ValueError as e:
        if strict:
            raise InvalidArgumentError("the workspace config %s is not valid JSON: %s" % (path, e)) from None
        return None
    if not isinstance(data, dict) or not ("server" in data or any(k in data for k in _AZURE_FIELDS)):
        if strict:
            raise InvalidArgumentError(
                'the workspace config %s must be a JSON object like {"server": URL, '
                '"workspace_name": NAME} or Azure ML\'s {"subscription_id", "resource_group", '
                '"workspace_name"}' % path)
        return None
    return data


class _Found:
    """What the config search found: ``server`` (a config naming a server, and its file) and
    ``azure`` (a nearer Azure-shaped config without one, and its file), plus the folders
    searched."""

    def __init__(self) -> None:
        self.server: Dict[str, Any] = {}
        self.server_file: Optional[str] = None
        self.azure: Dict[str, Any] = {}
        self.azure_file: Optional[str] = None
        self.searched: List[str] = []

    def take(self, config: Dict[str, Any], source: str, ours: bool = False) -> bool:
        """Records ``config`` (the first of each kind counts); True when it names a server or
        is ``ours`` (a ``.gantry/config.json``, which ends the search even without one)."""
        if config.get("server") is not None or ours:
            if self.server_file is None:
                self.server, self.server_file = config, source
            return True
        if self.azure_file is None:
            self.azure, self.azure_file = config, source
        return False


def _find_config(path: Optional[str]) -> _Found:
    """Searches as :meth:`Workspace.from_config` says. An Azure-shaped config names no server,
    so the search goes on upward from it for the local workspace's ``.gantry/config.json``."""
    found = _Found()
    start = os.path.abspath(path if path is not None else os.getcwd())
    if path is not None and os.path.isfile(start):
        found.searched.append(start)
        ours = os.path.basename(os.path.dirname(start)) == ".gantry"
        if found.take(_read_config(start, strict=True) or {}, start, ours):
            return found
        start = os.path.dirname(start)
    elif path is not None and not os.path.isdir(start):
        raise NotFoundError("workspace config path %s does not exist" % start)
    folder = start
    while True:
        found.searched.append(folder)
        # Every file of the folder is read: an Azure config beside .gantry/ still names the
        # workspace.
        for name in CONFIG_FILE_NAMES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and candidate != found.azure_file:
                # A .gantry/config.json is surely ours, so a broken one is an error; a bare
                # config.json that is no workspace config is passed over.
                ours = name == CONFIG_FILE_NAMES[0]
                config = _read_config(candidate, strict=ours)
                if config is not None:
                    found.take(config, candidate, ours)
        if found.server_file is not None:
            return found
        parent = os.path.dirname(folder)
        if parent == folder:
            return found
        folder = parent


class Workspace(WorkspaceBase):
    """A Gantry workspace, reached through its server's REST API.

    ``Workspace(server_url, name=None, token=None)`` checks ``GET /api/v1/health`` and raises
    ``UnavailableError`` when nothing answers. ``name`` (the ``workspace_name`` of a config
    file) must match the name the server reports, else ``NotFoundError``; None takes the
    server's. ``token`` is the credential and ``ca_file`` verifies an https:// server (None:
    found as the module's docstring says).
    """

    def __init__(self, server_url: str, name: Optional[str] = None, token: Optional[str] = None,
                 _config_file: Optional[str] = None, _config: Optional[Dict[str, Any]] = None,
                 ca_file: Optional[str] = None):
        if not isinstance(server_url, str) or not server_url.strip():
            raise InvalidArgumentError("server_url must be a URL such as http://127.0.0.1:8765")
        url = server_url.strip().rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidArgumentError("server URL %r must start with http:// or https://" % server_url)
        self._url = url
        self._config_file = _config_file
        self._azure_config_file: Optional[str] = None
        self._subscription_id: Optional[str] = None
        self._resource_group: Optional[str] = None
        self._token = _resolve_token(url, token, _config or {})
        self._ca_file = _resolve_ca_file(url, ca_file, _config or {})
        try:
            health = self._client().get(_paths.health()) or {}
        except UnavailableError as e:
            hint = ""
            if _config_file:
                hint = ("; if it is a local workspace, start its server with `gantry server "
                        "--workspace %s --background`" % os.path.dirname(_config_file))
            raise UnavailableError("no Gantry server answers at %s (%s)%s"
                                   % (url, e.message, hint)) from None
        served = health.get("workspace") if isinstance(health, dict) else None
        if name is not None and served is not None and served != name:
            raise NotFoundError("workspace %r not found: the server at %s serves workspace %r"
                                % (name, url, served))
        self._name = name if name is not None else (served or "default")
        self._version = health.get("version", "") if isinstance(health, dict) else ""

    @classmethod
    def from_config(cls, path: Optional[str] = None, auth: Any = None, _logger: Any = None,
                    _file_name: Optional[str] = None) -> "Workspace":
        """The workspace named by the nearest config file.

        Looks in the current folder (or ``path``: a folder to start from, or the config file
        itself), then in each parent folder, for ``.gantry/config.json``, ``config.json``,
        ``.azureml/config.json`` and ``aml_config/config.json``. A Gantry config names the
        server (``"server"``). An Azure ML one (``subscription_id``, ``resource_group``,
        ``workspace_name``, no server) names the workspace, and the search goes on upward
        from it for the local workspace's ``.gantry/config.json`` (which ``gantry server``
        writes), whose server is used; its ``workspace_name`` must then be the local
        workspace's name, and its ``subscription_id`` and ``resource_group`` are what
        :attr:`subscription_id` and :attr:`resource_group` report. ``GANTRY_URL``, when set,
        overrides the file's server URL and is used alone when there is no file.
        ``NotFoundError`` naming the folders searched when nothing gives a server.
        ``auth`` is accepted for Azure's signature and ignored: the credential is found as
        the module's docstring says.
        """
        found = _find_config(path)
        env_url = os.environ.get(ENV_URL, "").strip()
        config = found.server
        source = found.server_file
        url = env_url or config.get("server") or ""
        if not url:
            if source:
                raise InvalidArgumentError('the workspace config %s has no "server" URL' % source)
            if found.azure_file:
                folder = os.path.dirname(found.azure_file)
                if os.path.basename(folder) in (".azureml", "aml_config"):
                    folder = os.path.dirname(folder)
                raise NotFoundError(
                    "the workspace config %s is an Azure ML one (no \"server\"), and no local "
                    "Gantry workspace was found above it: no .gantry/config.json in %s or any of "
                    "its parent folders. Start one there with `gantry server --background` (it "
                    "writes .gantry/config.json), set %s, or add \"server\": URL to %s."
                    % (found.azure_file, folder, ENV_URL, found.azure_file))
            raise NotFoundError(
                "We could not find a workspace config file (%s) in %s or any of its parent "
                "folders (searched: %s). Write one there, e.g. {\"server\": "
                "\"http://127.0.0.1:8765\", \"workspace_name\": \"default\"} (`gantry server` "
                "writes .gantry/config.json into its workspace folder), set %s, or create the "
                "workspace with Workspace(server_url)."
                % (" or ".join(CONFIG_FILE_NAMES), found.searched[0], ", ".join(found.searched),
                   ENV_URL))
        if not isinstance(url, str):
            raise InvalidArgumentError('"server" in %s must be a URL string' % source)
        azure = found.azure
        for field in _AZURE_FIELDS:
            if azure.get(field) is not None and not isinstance(azure.get(field), str):
                raise InvalidArgumentError('"%s" in %s must be a string' % (field, found.azure_file))
        name = azure.get("workspace_name") if found.azure_file else None
        if name is None:
            name = config.get("workspace_name")
        if name is not None and not isinstance(name, str):
            raise InvalidArgumentError('"workspace_name" in %s must be a string' % source)
        ws = cls(url, name=name, _config_file=source, _config=config)
        ws._azure_config_file = found.azure_file
        ws._subscription_id = azure.get("subscription_id") or config.get("subscription_id")
        ws._resource_group = azure.get("resource_group") or config.get("resource_group")
        return ws

    @property
    def name(self) -> str:
        """The workspace's name, as the server reports it."""
        return self._name

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8765``."""
        return self._url

    @property
    def location(self) -> str:
        """Where the workspace is, in place of an Azure region: ``"local"`` for a server on
        this machine (a loopback address), else the server's host name."""
        host = urllib.parse.urlsplit(self._url).hostname or ""
        if host in ("localhost", "::1") or host.startswith("127."):
            return "local"
        return host

    @property
    def subscription_id(self) -> str:
        """The Azure config's ``subscription_id`` when the workspace was found through one,
        else ``"local"``: a Gantry workspace belongs to no Azure subscription."""
        return self._subscription_id or "local"

    @property
    def resource_group(self) -> str:
        """The Azure config's ``resource_group`` when the workspace was found through one,
        else ``"local"``."""
        return self._resource_group or "local"

    @property
    def experiments(self) -> Dict[str, Any]:
        """``{name: Experiment}`` for every experiment that has runs."""
        runs = (self._client().get(_paths.runs(), {"limit": 1000000}) or {}).get("runs") or []
        names = sorted({r.get("experiment_name") for r in runs if r.get("experiment_name")})
        return {n: Experiment(self, n) for n in names}

    @property
    def datasets(self) -> Dict[str, Any]:
        """``{name: FileDataset}``: the latest version of every registered dataset."""
        return Dataset.get_all(self)

    @property
    def compute_targets(self) -> Dict[str, Any]:
        """``{name: ComputeTarget}`` for every compute target, ``local`` included."""
        return {t.name: t for t in ComputeTarget.list(self)}

    @property
    def models(self) -> Dict[str, Any]:
        """``{name: Model}``: the latest version of every registered model."""
        return {m.name: m for m in Model.list(self, latest=True)}

    @property
    def webservices(self) -> Dict[str, Any]:
        """``{name: Webservice}`` for every web service (online endpoint) of the workspace."""
        return {s.name: s for s in Webservice.list(self)}

    def get_details(self) -> Dict[str, Any]:
        """``{"name", "url", "version", "config_file", "location", "subscriptionId",
        "resourceGroup"}``; ``config_file`` is the Azure config when one named the workspace,
        else the file that named the server."""
        return {"name": self._name, "url": self._url, "version": self._version,
                "config_file": self._azure_config_file or self._config_file,
                "location": self.location,
                "subscriptionId": self.subscription_id, "resourceGroup": self.resource_group}

    def _client(self, timeout: float = 30) -> Client:
        return Client(self._url, self._token, timeout=timeout, ca_file=self._ca_file)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Workspace) and (self._url, self._name) == (other._url, other._name)

    def __hash__(self) -> int:
        return hash((self._url, self._name))

    def __repr__(self) -> str:
        return "Workspace(name=%r, url=%r)" % (self._name, self._url)
