"""Exceptions raised by the Gantry SDK.

Every error carries the server's canonical status code name (``.code``, e.g.
``"NotFound"``) and a human-readable ``.message``. There is one subclass per code,
so callers can write ``except NotFoundError:``.

The codes that mean the caller's own input was wrong (InvalidArgument, NotFound,
AlreadyExists, FailedPrecondition, OutOfRange) derive from :class:`UserError`, which
``azureml.exceptions`` calls ``UserErrorException``: notebook code that catches Azure's
``UserErrorException`` (e.g. around ``Dataset.get_by_name``) catches them too.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Tuple, Type

__all__ = [
    "GantryError",
    "UserError",
    "CancelledError",
    "UnknownError",
    "InvalidArgumentError",
    "DeadlineExceededError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "UnavailableError",
    "DataLossError",
    "UnauthenticatedError",
    "RunFailedError",
    "error_from_code",
    "error_from_response",
    "family_class",
    "in_family",
]


class GantryError(Exception):
    """Base class of all Gantry errors: a status ``code`` name plus a ``message``."""

    code = "Unknown"

    def __init__(self, message: str, code: Optional[str] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return "%s: %s" % (self.code, self.message)


class UserError(GantryError):
    """The request was refused because of what the caller gave (a bad value, a name that does
    not exist or already does, a state that does not allow it): Azure ML's
    ``UserErrorException``. Raised as one of its subclasses, never alone."""

    code = "UserError"


class CancelledError(GantryError):
    code = "Cancelled"


class UnknownError(GantryError):
    code = "Unknown"


class InvalidArgumentError(UserError):
    code = "InvalidArgument"


class DeadlineExceededError(GantryError):
    code = "DeadlineExceeded"


class NotFoundError(UserError):
    code = "NotFound"


class AlreadyExistsError(UserError):
    code = "AlreadyExists"


class PermissionDeniedError(GantryError):
    code = "PermissionDenied"


class ResourceExhaustedError(GantryError):
    code = "ResourceExhausted"


class FailedPreconditionError(UserError):
    code = "FailedPrecondition"


class AbortedError(GantryError):
    code = "Aborted"


class OutOfRangeError(UserError):
    code = "OutOfRange"


class UnimplementedError(GantryError):
    code = "Unimplemented"


class InternalError(GantryError):
    code = "Internal"


class UnavailableError(GantryError):
    code = "Unavailable"


class DataLossError(GantryError):
    code = "DataLoss"


class UnauthenticatedError(GantryError):
    code = "Unauthenticated"


class RunFailedError(GantryError):
    """A run waited on with ``raise_on_error=True`` ended Failed or Canceled.

    Gantry's counterpart of azureml's ``ActivityFailedException``. Not a server error code:
    the request succeeded, the run did not. ``.run_id``, ``.status`` (``"Failed"`` or
    ``"Canceled"``), ``.error`` (the run's error text: for a non-zero exit, the code and the
    last lines of stderr) and ``.details`` (what ``run.get_details()`` returns) say which
    and why.
    """

    code = "RunFailed"

    def __init__(self, message: str, run_id: str = "", status: str = "", error: str = "",
                 details: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.run_id = run_id
        self.status = status
        self.error = error
        self.details = details or {}


_BY_CODE: Dict[str, Type[GantryError]] = {
    cls.code: cls
    for cls in (
        CancelledError, UnknownError, InvalidArgumentError, DeadlineExceededError,
        NotFoundError, AlreadyExistsError, PermissionDeniedError, ResourceExhaustedError,
        FailedPreconditionError, AbortedError, OutOfRangeError, UnimplementedError,
        InternalError, UnavailableError, DataLossError, UnauthenticatedError,
    )
}

_BY_HTTP_STATUS: Dict[int, Type[GantryError]] = {
    400: InvalidArgumentError,
    401: UnauthenticatedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: AlreadyExistsError,
    412: FailedPreconditionError,
    413: ResourceExhaustedError,
    503: UnavailableError,
}


def error_from_code(code: str, message: str) -> GantryError:
    """Builds the error for a canonical code name; unknown names give ``UnknownError``."""
    cls = _BY_CODE.get(code)
    return cls(message) if cls else UnknownError(message, code=code)


def error_from_response(status: int, body: bytes) -> GantryError:
    """Turns a non-2xx HTTP response into the matching :class:`GantryError`.

    The server answers errors with ``{"error": {"code": "NotFound", "message": "..."}}``.
    When the body is not that shape or names an unknown code, the class is chosen from
    the HTTP status (unmapped statuses give ``InternalError``) and the message falls back
    to the body text.
    """
    text = body.decode("utf-8", "replace") if body else ""
    code = message = None
    try:
        err = json.loads(text).get("error")
        if isinstance(err, dict):
            code, message = err.get("code"), err.get("message")
    except (ValueError, AttributeError):
        pass
    if not isinstance(message, str) or not message:
        message = "HTTP %d%s" % (status, (": " + text.strip()[:500]) if text.strip() else "")
    cls = _BY_CODE.get(code) if isinstance(code, str) else None
    if cls is None:
        cls = _BY_HTTP_STATUS.get(status, InternalError)
    return cls(message)


_IN_FAMILY: Dict[Tuple[Type[GantryError], Type[GantryError]], Type[GantryError]] = {}


def family_class(family: Type[GantryError], base: Type[GantryError]) -> Type[GantryError]:
    """The class deriving from both ``family`` (an azureml-named exception such as
    ``ComputeTargetException``) and ``base`` (e.g. NotFoundError), so that ``except family``
    and ``except NotFoundError`` both catch it: ``ComputeTargetNotFoundException``. One class
    per pair."""
    cls = _IN_FAMILY.get((family, base))
    if cls is None:
        name = (family.__name__.replace("Exception", "") + base.__name__.replace("Error", "")
                + "Exception")
        cls = _IN_FAMILY[(family, base)] = type(name, (family, base),
                                                {"code": base.code, "__module__": family.__module__})
    return cls


def in_family(family: Type[GantryError], error: GantryError) -> GantryError:
    """A server's ``error`` as an instance of ``family_class(family, type(error))``. Errors
    already in the family, and failures to reach the server (Unavailable, DeadlineExceeded),
    come back as they are."""
    if isinstance(error, (family, UnavailableError, DeadlineExceededError)):
        return error
    wrapped = family_class(family, type(error))(error.message)
    wrapped.code = error.code
    return wrapped
