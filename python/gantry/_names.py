"""The rule for names of things a user creates, the same as the server's (``common/names.h``).

Experiments, runs, datasets, models, environments, compute targets, endpoints and
deployments are named 1 to 255 characters of letters, digits, ``-``, ``_`` and ``.``,
starting with a letter or digit: never ``.``, ``..``, a path or something read as a flag.
``:`` and ``@`` are not name characters; they separate a version (``name:3``,
``name@latest``). Display names, descriptions and tags are free text.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["MAX_NAME_LENGTH", "is_valid_name", "check_name"]

MAX_NAME_LENGTH = 255
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")


def is_valid_name(name: Any) -> bool:
    """True when ``name`` is a str that follows the rule."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


def check_name(field: str, name: Any) -> str:
    """``name`` when valid, else InvalidArgumentError naming ``field`` ("model name") and
    the value, before anything reaches the server or a path."""
    if is_valid_name(name):
        return name
    if not isinstance(name, str):
        raise InvalidArgumentError("%s must be a str, got %s" % (field, type(name).__name__))
    shown = name if len(name) <= 64 else name[:64] + "... (%d characters)" % len(name)
    if not name:
        why = "it is empty"
    elif len(name) > MAX_NAME_LENGTH:
        why = "it is longer than %d characters" % MAX_NAME_LENGTH
    else:
        why = "use letters, digits, '-', '_' and '.', starting with a letter or digit"
    raise InvalidArgumentError("%s %r is invalid: %s" % (field, shown, why))
