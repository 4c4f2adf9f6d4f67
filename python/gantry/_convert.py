"""Field converters shared by the entity modules: what the server sends made into Python
values (times, metric series), and what a user passes made into what the server takes
(string maps, run file paths, tag filters).
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Dict, Iterable, List, Optional

from .errors import InvalidArgumentError

__all__ = ["strings", "parse_time", "collapse", "filter_matches", "run_relative"]


def strings(values: Optional[Dict[str, Any]], what: str) -> Dict[str, str]:
    """A dict of tags or properties as the server takes it: str keys and values, None as
    "". TypeError naming ``what`` ("tags") for anything but a dict or None."""
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TypeError("%s must be a dict, got %s" % (what, type(values).__name__))
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def parse_time(text: str) -> Optional[datetime.datetime]:
    """A server timestamp (``2024-01-02T03:04:05.678Z``, fraction optional) as an aware
    datetime; None for "" or anything else."""
    if not text:
        return None
    try:
        return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None


def collapse(values: List[Any]) -> Any:
    """A metric's points as ``get_metrics`` shows them: the value alone when there is one,
    else the list."""
    return values[0] if len(values) == 1 else values


def filter_matches(values: Dict[str, str], filters: Any) -> bool:
    """azureml's tag/property filters: a list of ``'key'`` or ``[key, value]`` (a dict works
    too); every one must match."""
    if not filters:
        return True
    items: Iterable[Any] = filters.items() if isinstance(filters, dict) else filters
    if isinstance(filters, str):
        items = [filters]
    for f in items:
        if isinstance(f, str):
            if f not in values:
                return False
        elif isinstance(f, (list, tuple)) and len(f) == 2:
            if values.get(str(f[0])) != str(f[1]):
                return False
        else:
            raise InvalidArgumentError("a filter is 'key' or [key, value], got %r" % (f,))
    return True


def run_relative(path: str) -> str:
    """A run file path such as ``outputs/model``: '/'-separated, no ``./`` or trailing '/'."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgumentError("model_path must be a path among the run's files, e.g. outputs/model")
    rel = path.replace(os.sep, "/").strip()
    while rel.startswith("./"):
        rel = rel[2:]
    rel = rel.rstrip("/")
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidArgumentError("model_path %r must be a relative path inside the run, e.g. "
                                   "outputs/model" % (path,))
    return rel
