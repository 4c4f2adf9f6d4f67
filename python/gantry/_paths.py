"""Every REST path of the Gantry API that the SDK calls (docs/rest-api.md), one function each.

Names in a path are percent-quoted with no safe characters, so a name can never reach
another resource; a run file's name keeps its ``/`` (it is a path inside the run). The
paths are relative to the server's base URL, as :class:`gantry._http.Client` takes them.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Optional

__all__ = ["health", "runs", "run", "run_artifact", "run_log", "models", "model", "datasets",
           "dataset", "environments", "environment", "computes", "compute", "endpoints",
           "endpoint", "deployment", "blobs_missing", "blob", "trees", "tree"]

_API = "/api/v1"


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def health() -> str:
    return _API + "/health"


# -- runs

def runs() -> str:
    """``GET`` lists runs (``experiment``, ``status``, ``limit``); ``POST`` submits one."""
    return _API + "/runs"


def sweeps() -> str:
    """``POST`` submits a sweep job; ``GET sweeps/NAME`` reads it with its trials."""
    return _API + "/sweeps"


def sweep(name: str) -> str:
    return _API + "/sweeps/" + _quoted(name)


def run(run_id: str, suffix: str = "") -> str:
    """Run ``run_id``, or its sub-resource ``suffix``: ``/events``, ``/metrics``,
    ``/cancel``, ``/artifacts``, ``/files``."""
    return runs() + "/" + _quoted(run_id) + suffix


def run_artifact(run_id: str, name: str) -> str:
    """The bytes of the run's file ``name`` (a '/'-separated path inside the run)."""
    return run(run_id, "/artifacts/content/" + urllib.parse.quote(name, safe="/"))


def run_log(run_id: str, stream: str) -> str:
    """The run's log ``stream`` (``std_log.txt``)."""
    return run(run_id, "/logs/" + _quoted(stream))


# -- assets

def models() -> str:
    return _API + "/models"


def model(name: str, version: Optional[int] = None, suffix: str = "") -> str:
    """Model ``name`` (its latest version unless ``version``), or ``suffix`` of that version:
    ``/tags``, ``/properties``."""
    path = models() + "/" + _quoted(name)
    return path + ("/versions/%d" % version if version else "") + suffix


def datasets() -> str:
    return _API + "/datasets"


def dataset(name: str, version: Optional[int] = None) -> str:
    """Dataset ``name``: its latest version unless ``version``."""
    path = datasets() + "/" + _quoted(name)
    return path + ("/versions/%d" % version if version else "")


def environments() -> str:
    return _API + "/environments"


def environment(name: str, version: Any = None) -> str:
    """Environment ``name``: its latest version unless ``version`` (anything ``int()`` takes)."""
    path = environments() + "/" + _quoted(name)
    if version is not None:
        path += "/versions/%d" % int(version)
    return path


def computes() -> str:
    return _API + "/computes"


def compute(name: str) -> str:
    return computes() + "/" + _quoted(name)


# -- online endpoints

def endpoints() -> str:
    return _API + "/endpoints"


def endpoint(name: str, suffix: str = "") -> str:
    """Endpoint ``name``, or its ``suffix``: ``/keys``, ``/keys/regenerate``."""
    return endpoints() + "/" + _quoted(name) + suffix


def deployment(endpoint_name: str, deployment_name: str, suffix: str = "") -> str:
    """Deployment ``deployment_name`` of an endpoint, or its ``suffix``: ``/logs``."""
    return endpoint(endpoint_name, "/deployments/" + _quoted(deployment_name) + suffix)


# -- the artifact store

def blobs_missing() -> str:
    """``POST {"blobs": [sha, ...]}`` answers which of them the server lacks."""
    return _API + "/blobs/missing"


def blob(sha256: str) -> str:
    return _API + "/blobs/" + _quoted(sha256)


def trees() -> str:
    return _API + "/trees"


def tree(tree_id: str) -> str:
    return trees() + "/" + _quoted(tree_id)
