"""A tiny JSON-over-HTTP client for the Gantry server, built on urllib."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, BinaryIO, Callable, Mapping, Optional, Tuple, TypeVar

from .errors import (DeadlineExceededError, InternalError, InvalidArgumentError, UnavailableError,
                     error_from_response)

_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}
ENV_CA_FILE = "GANTRY_CA_FILE"
T = TypeVar("T")


class _LocalWriteError(Exception):
    """Carries an OSError from writing a download locally past the network error mapping."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


def _tls_context(ca_file: Optional[str]) -> ssl.SSLContext:
    """Verifies the server's chain (against ``ca_file`` when given) and name; TLS 1.2+."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as e:
        raise InvalidArgumentError("cannot use the CA file %s: %s"
                                   % (ca_file, getattr(e, "strerror", None) or e)) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # The server's own certificate given as the CA file is trusted as it is.
    context.verify_flags |= getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    return context


class Client:
    """Talks JSON to a Gantry server at ``base_url`` (e.g. ``http://127.0.0.1:8765``).

    Every method returns the parsed JSON body (``None`` for an empty body) and raises a
    :class:`gantry.errors.GantryError` subclass on a non-2xx answer; a server that
    cannot be reached gives ``UnavailableError`` naming the URL, a timeout gives
    ``DeadlineExceededError``. Sends ``Authorization: Bearer <token>`` when a token is set.

    An ``https://`` server's certificate is verified against ``ca_file`` (a PEM file of CAs,
    or the server's own certificate), else ``GANTRY_CA_FILE``, else the system's CAs; a
    certificate that does not verify gives ``UnavailableError`` saying so.
    """

    def __init__(self, base_url: str, token: Optional[str] = None, timeout: float = 30,
                 ca_file: Optional[str] = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        parts = urllib.parse.urlsplit(self.base_url)
        host = parts.hostname or ""
        # A local server must never be reached through an HTTP proxy from the environment.
        handlers: list = [urllib.request.ProxyHandler({})] if host in _LOOPBACK_HOSTS else []
        self.ca_file = None
        if parts.scheme == "https":
            self.ca_file = ca_file or os.environ.get(ENV_CA_FILE, "").strip() or None
            handlers.append(urllib.request.HTTPSHandler(context=_tls_context(self.ca_file)))
        self._opener = urllib.request.build_opener(*handlers)

    def get(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        """GET ``path`` with query ``params`` (None values left out); returns the parsed JSON."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params, doseq=True)
        return self._request("GET", path)

    def post(self, path: str, body_json: Any) -> Any:
        """POST ``body_json`` encoded as JSON; returns the parsed JSON body."""
        data = json.dumps(body_json, separators=(",", ":")).encode("utf-8")
        return self._request("POST", path, data, "application/json")

    def put(self, path: str, body_json: Any) -> Any:
        """PUT ``body_json`` encoded as JSON; returns the parsed JSON body."""
        data = json.dumps(body_json, separators=(",", ":")).encode("utf-8")
        return self._request("PUT", path, data, "application/json")

    def patch(self, path: str, body_json: Any) -> Any:
        """PATCH ``body_json`` encoded as JSON; returns the parsed JSON body."""
        data = json.dumps(body_json, separators=(",", ":")).encode("utf-8")
        return self._request("PATCH", path, data, "application/json")

    def get_text(self, path: str, params: Optional[Mapping[str, Any]] = None) -> str:
        """GET ``path`` with query ``params``; returns the body as text (UTF-8)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params, doseq=True)
        return self._call("GET", path, None, None, lambda resp: resp.read()).decode("utf-8", "replace")

    def send(self, method: str, path: str, data: Optional[bytes] = None,
             content_type: Optional[str] = None) -> Tuple[int, str, bytes]:
        """Sends one request and returns ``(HTTP status, content type, body)`` whatever the
        status: for services that do not answer in Gantry's error shape, such as a model
        server behind an endpoint. Only failing to get an answer raises (UnavailableError,
        DeadlineExceededError)."""
        return self._call(method, path, data, content_type,
                          lambda resp: (resp.getcode(), resp.headers.get_content_type(), resp.read()),
                          raise_for_status=False)

    def delete(self, path: str) -> Any:
        """DELETE ``path``; returns the parsed JSON body."""
        return self._request("DELETE", path)

    def put_bytes(self, path: str, data: bytes) -> Any:
        """PUT raw bytes (``application/octet-stream``); returns the parsed JSON body."""
        return self._request("PUT", path, bytes(data), "application/octet-stream")

    def download(self, path: str, fileobj: BinaryIO, chunk_size: int = 1 << 20) -> Tuple[int, str]:
        """GETs ``path`` and streams the body into ``fileobj`` in chunks; returns
        ``(bytes written, SHA-256 hex of them)``."""
        def copy(resp: Any) -> Tuple[int, str]:
            digest, size = hashlib.sha256(), 0
            while True:
                chunk = resp.read(chunk_size)
                if not chunk:
                    return size, digest.hexdigest()
                digest.update(chunk)
                try:
                    fileobj.write(chunk)
                except OSError as e:  # a local problem, not the server's: keep it apart
                    raise _LocalWriteError(e) from None
                size += len(chunk)
        try:
            return self._call("GET", path, None, None, copy)
        except _LocalWriteError as e:
            raise e.error from None

    def _request(self, method: str, path: str, data: Optional[bytes] = None,
                 content_type: Optional[str] = None) -> Any:
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        body = self._call(method, path, data, content_type, lambda resp: resp.read())
        if not body.strip():
            return None
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise InternalError("%s %s: response is not valid JSON: %s" % (method, url, e)) from None

    def _call(self, method: str, path: str, data: Optional[bytes], content_type: Optional[str],
              read: Callable[[Any], T], raise_for_status: bool = True) -> T:
        """Sends the request and returns ``read(response)``; maps every failure, including
        one while reading the body, to a :class:`GantryError`. With ``raise_for_status``
        False a non-2xx answer is read like any other."""
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Accept", "application/json")
        if content_type:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            try:
                resp = self._opener.open(req, timeout=self.timeout)
            except urllib.error.HTTPError as e:
                if raise_for_status:
                    try:
                        body = e.read()
                    finally:
                        e.close()
                    raise error_from_response(e.code, body) from None
                resp = e
            with resp:
                return read(resp)
        except urllib.error.URLError as e:
            if isinstance(e.reason, ssl.SSLCertVerificationError):
                raise UnavailableError(
                    "cannot reach Gantry server at %s: its certificate is not trusted (%s)%s"
                    % (url, e.reason.verify_message or e.reason,
                       " (checked against %s)" % self.ca_file if self.ca_file else
                       "; pass ca_file= or set %s to the server's CA file" % ENV_CA_FILE)) from None
            if isinstance(e.reason, socket.timeout):
                raise DeadlineExceededError("%s %s timed out after %gs" % (method, url, self.timeout)) from None
            raise UnavailableError("cannot reach Gantry server at %s: %s" % (url, e.reason)) from None
        except socket.timeout:
            raise DeadlineExceededError("%s %s timed out after %gs" % (method, url, self.timeout)) from None
        except (OSError, http.client.HTTPException) as e:
            raise UnavailableError("cannot reach Gantry server at %s: %s" % (url, e)) from None
