"""The workspace: which Gantry server to talk to.

::

    from gantry import Workspace

    ws = Workspace.from_config()                 # .gantry/config.json or config.json, upward
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

from ._http import ENV_CA_FILE, Client
from .errors import InvalidArgumentError, NotFoundError, UnavailableError

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
    token = config.get("token")
    if isinstance(token, str) and token and str(config.get("server", "")).rstrip("/") == url:
        return token
    try:
        with open(_credentials_file(), "r", encoding="utf-8") as f:
            stored = (json.load(f).get("servers") or {}).get(url) or {}
        if isinstance(stored.get("token"), str) and stored["token"]:
            return stored["token"]
    except (OSError, ValueError, AttributeError):
        pass
    return os.environ.get(ENV_RUN_TOKEN) or None


def _resolve_ca_file(url: str, explicit: Optional[str], config: Dict[str, Any]) -> Optional[str]:
    """The CA file that verifies an https:// ``url`` (see the module's docstring), or None."""
    if not url.startswith("https://"):
        return None
    if explicit:
        return explicit
    env = os.environ.get(ENV_CA_FILE, "").strip()
    if env:
        return env
    configured = config.get("ca_file")
    if isinstance(configured, str) and configured and str(config.get("server", "")).rstrip("/") == url:
        return configured
    try:
        with open(_credentials_file(), "r", encoding="utf-8") as f:
            stored = (json.load(f).get("servers") or {}).get(url) or {}
        if isinstance(stored.get("ca_file"), str) and stored["ca_file"]:
            return stored["ca_file"]
    except (OSError, ValueError, AttributeError):
        pass
    return None
#: Looked for in each folder, in this order, from the start folder up to the root.
CONFIG_FILE_NAMES = (os.path.join(".gantry", "config.json"), "config.json")


def _read_config(path: str, strict: bool) -> Optional[Dict[str, Any]]:
    """The config in ``path``; None for a bare ``config.json`` that is not a Gantry one (it
    may belong to something else) unless ``strict``."""
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
    if not isinstance(data, dict) or not ("server" in data or "workspace_name" in data):
        if strict:
            raise InvalidArgumentError(
                'the workspace config %s must be a JSON object like {"server": URL, '
                '"workspace_name": NAME}' % path)
        return None
    return data


def _find_config(path: Optional[str]) -> Tuple[Dict[str, Any], Optional[str], List[str]]:
    """Returns (config, file it came from, folders searched)."""
    start = os.path.abspath(path if path is not None else os.getcwd())
    if path is not None and os.path.isfile(start):
        return _read_config(start, strict=True) or {}, start, [start]
    if path is not None and not os.path.isdir(start):
        raise NotFoundError("workspace config path %s does not exist" % start)
    searched = []
    folder = start
    while True:
        searched.append(folder)
        for name in CONFIG_FILE_NAMES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                # A .gantry/config.json is surely ours, so a broken one is an error; a bare
                # config.json that is not a Gantry config is passed over.
                config = _read_config(candidate, strict=name != "config.json")
                if config is not None:
                    return config, candidate, searched
        parent = os.path.dirname(folder)
        if parent == folder:
            return {}, None, searched
        folder = parent


class Workspace:
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
        self._token = _resolve_token(url, token, _config or {})
        self._ca_file = _resolve_ca_file(url, ca_file, _config or {})
        try:
            health = self._client().get("/api/v1/health") or {}
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
    def from_config(cls, path: Optional[str] = None) -> "Workspace":
        """The workspace named by the nearest config file.

        Looks for ``.gantry/config.json``, then ``config.json``, in the current folder (or
        ``path``: a folder to start from, or the config file itself) and then in each parent
        folder. ``GANTRY_URL``, when set, overrides the file's server URL and is used alone
        when there is no file. ``NotFoundError`` naming the folders searched when neither
        gives a server.
        """
        config, source, searched = _find_config(path)
        env_url = os.environ.get(ENV_URL, "").strip()
        url = env_url or config.get("server") or ""
        if not url:
            if source:
                raise InvalidArgumentError('the workspace config %s has no "server" URL' % source)
            raise NotFoundError(
                "We could not find a workspace config file (%s) in %s or any of its parent "
                "folders (searched: %s). Write one there, e.g. {\"server\": "
                "\"http://127.0.0.1:8765\", \"workspace_name\": \"default\"} (`gantry server` "
                "writes .gantry/config.json into its workspace folder), set %s, or create the "
                "workspace with Workspace(server_url)."
                % (" or ".join(CONFIG_FILE_NAMES), searched[0], ", ".join(searched), ENV_URL))
        name = config.get("workspace_name")
        if name is not None and not isinstance(name, str):
            raise InvalidArgumentError('"workspace_name" in %s must be a string' % source)
        if not isinstance(url, str):
            raise InvalidArgumentError('"server" in %s must be a URL string' % source)
        return cls(url, name=name, _config_file=source, _config=config)

    @property
    def name(self) -> str:
        """The workspace's name, as the server reports it."""
        return self._name

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:8765``."""
        return self._url

    @property
    def experiments(self) -> Dict[str, Any]:
        """``{name: Experiment}`` for every experiment that has runs."""
        from .experiment import Experiment

        runs = (self._client().get("/api/v1/runs", {"limit": 1000000}) or {}).get("runs") or []
        names = sorted({r.get("experiment_name") for r in runs if r.get("experiment_name")})
        return {n: Experiment(self, n) for n in names}

    @property
    def datasets(self) -> Dict[str, Any]:
        """``{name: FileDataset}``: the latest version of every registered dataset."""
        from .dataset import Dataset
        return Dataset.get_all(self)

    @property
    def compute_targets(self) -> Dict[str, Any]:
        """``{name: ComputeTarget}`` for every compute target, ``local`` included."""
        from .compute import ComputeTarget
        return {t.name: t for t in ComputeTarget.list(self)}

    @property
    def models(self) -> Dict[str, Any]:
        """``{name: Model}``: the latest version of every registered model."""
        from .model import Model
        return {m.name: m for m in Model.list(self, latest=True)}

    def get_details(self) -> Dict[str, Any]:
        """``{"name", "url", "version", "config_file"}``."""
        return {"name": self._name, "url": self._url, "version": self._version,
                "config_file": self._config_file}

    def _client(self, timeout: float = 30) -> Client:
        return Client(self._url, self._token, timeout=timeout, ca_file=self._ca_file)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Workspace) and (self._url, self._name) == (other._url, other._name)

    def __hash__(self) -> int:
        return hash((self._url, self._name))

    def __repr__(self) -> str:
        return "Workspace(name=%r, url=%r)" % (self._name, self._url)
