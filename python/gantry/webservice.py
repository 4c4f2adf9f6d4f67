"""Web services (azureml.core.webservice v1's shape) on Gantry's online endpoints.

::

    from gantry import AciWebservice, Model, Webservice

    model = Model.register(ws, model_path="./model", model_name="mnist",
                           model_framework=Model.Framework.PYTORCH)
    service = Model.deploy(ws, "mnist-service", [model],
                           deployment_config=AciWebservice.deploy_configuration(auth_enabled=True))
    service.wait_for_deployment(show_output=True)
    print(service.state)                       # Healthy
    print(service.run({"data": [[0.0] * 784]}))
    service.delete()

A web service is an endpoint (``POST /api/v1/endpoints``, docs/rest-api.md) holding one
deployment called ``default`` that takes all of its traffic. Its model servers are run by the
workspace server; ``scoring_uri`` is the endpoint's, on the server's address. The three
deployment configurations (ACI, AKS, Local) all make such an endpoint: they differ in what
they map (auth, replicas, request settings) and in the ``compute_type`` they report, kept in
the endpoint's tag ``azureml.computeType``.

Errors are :class:`WebserviceException`, raised as a class that also derives from the
server error's class (a missing service is also a ``NotFoundError``).
"""

from __future__ import annotations

import datetime
import json
import sys
import time
import urllib.parse
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

from . import _paths
from ._convert import filter_matches, parse_time, strings
from ._http import Client
from ._names import check_name
from ._workspace_base import check_workspace
from .errors import (AlreadyExistsError, DeadlineExceededError, FailedPreconditionError,
                     GantryError, InvalidArgumentError, NotFoundError, UnimplementedError,
                     error_from_response, family_class, in_family)
from .inference_config import InferenceConfig
from .model import Model

__all__ = ["WebserviceException", "Webservice", "AciWebservice", "AksWebservice",
           "LocalWebservice", "WebserviceDeploymentConfiguration",
           "AciServiceDeploymentConfiguration", "AksServiceDeploymentConfiguration",
           "LocalWebserviceDeploymentConfiguration", "DEPLOYMENT_NAME"]

#: The deployment Model.deploy creates in the service's endpoint.
DEPLOYMENT_NAME = "default"
#: The endpoint tag that records the compute type a service was deployed with.
COMPUTE_TYPE_TAG = "azureml.computeType"
_DEFAULT_WAIT_S = 1800
_MAX_POLL_INTERVAL_S = 2.0


class WebserviceException(GantryError):
    """A web service operation failed (azureml's ``WebserviceException``).

    Errors from the server are raised as a class that derives from both this and the
    server's error class, so ``except WebserviceException`` and ``except NotFoundError``
    both catch a missing service.
    """


def _error(cls: Type[GantryError], message: str) -> GantryError:
    """A WebserviceException that is also a ``cls`` (e.g. InvalidArgumentError)."""
    return family_class(WebserviceException, cls)(message)


def _wrap(error: GantryError) -> GantryError:
    return in_family(WebserviceException, error)


def service_state(deployment: Optional[Dict[str, Any]]) -> str:
    """Azure's service state for a deployment: ``Transitioning`` while it is Creating,
    Updating or Deleting, ``Healthy`` when Succeeded with a replica Ready, ``Unhealthy`` when
    Succeeded with none (or when the endpoint has no deployment), ``Failed``."""
    if not deployment:
        return "Unhealthy"
    state = deployment.get("provisioning_state") or ""
    if state in ("Creating", "Updating", "Deleting"):
        return "Transitioning"
    if state == "Failed":
        return "Failed"
    if state == "Succeeded":
        ready = any(r.get("state") == "Ready" for r in deployment.get("replicas") or []
                    if isinstance(r, dict))
        return "Healthy" if ready else "Unhealthy"
    return state or "Unhealthy"


def _positive_int(value: Any, what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _error(InvalidArgumentError, "%s must be a positive int, got %r" % (what, value))
    return value


def _refuse_if(condition: bool, message: str) -> None:
    if condition:
        raise _error(InvalidArgumentError, message)


# ----------------------------------------------------------------------- deployment configs

class WebserviceDeploymentConfiguration:
    """What :meth:`Model.deploy` makes of a deployment configuration. Built by
    ``AciWebservice.deploy_configuration``, ``AksWebservice.deploy_configuration`` or
    ``LocalWebservice.deploy_configuration``.

    ``auth_enabled``: key auth (``auth_mode`` ``key``) or none. ``num_replicas``: the
    deployment's ``instance_count`` (None: 1). ``request_settings``: the deployment's
    ``{"request_timeout_ms", "max_concurrent_requests_per_instance"}``. ``tags`` and
    ``description`` go to the endpoint. ``properties`` are kept on this object only: Gantry
    endpoints have no properties.
    """

    compute_type = ""

    def __init__(self, auth_enabled: bool = True, num_replicas: Optional[int] = None,
                 request_settings: Optional[Dict[str, int]] = None,
                 tags: Optional[Dict[str, Any]] = None, properties: Optional[Dict[str, Any]] = None,
                 description: Optional[str] = None):
        if description is not None and not isinstance(description, str):
            raise TypeError("description must be a str, got %s" % type(description).__name__)
        self.auth_enabled = bool(auth_enabled)
        self.num_replicas = _positive_int(num_replicas, "num_replicas")
        self.request_settings = dict(request_settings or {})
        self.tags = strings(tags, "tags")
        self.properties = strings(properties, "properties")
        self.description = description

    def validate_configuration(self) -> None:
        """Checked when built; kept for azureml code that calls it."""

    def _endpoint_body(self, name: str, description: Optional[str] = None) -> Dict[str, Any]:
        """POST /api/v1/endpoints's body for service ``name``."""
        tags = dict(self.tags)
        tags[COMPUTE_TYPE_TAG] = self.compute_type
        return {"name": name, "description": self.description or description or "",
                "auth_mode": "key" if self.auth_enabled else "none", "tags": tags}

    def _deployment_fields(self) -> Dict[str, Any]:
        """The deployment body's replica and request settings."""
        body: Dict[str, Any] = {"instance_count": self.num_replicas or 1}
        if self.request_settings:
            body["request_settings"] = dict(self.request_settings)
        return body

    def __repr__(self) -> str:
        return "%s(auth_enabled=%r, num_replicas=%r, request_settings=%r, tags=%r)" % (
            type(self).__name__, self.auth_enabled, self.num_replicas, self.request_settings,
            self.tags)


class AciServiceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    compute_type = "ACI"


class AksServiceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    compute_type = "AKS"


class LocalWebserviceDeploymentConfiguration(WebserviceDeploymentConfiguration):
    compute_type = "Local"


# ----------------------------------------------------------------------------- the service

class Webservice:
    """A deployed web service: ``Webservice(workspace, name)`` fetches it (an
    :class:`AciWebservice`, :class:`AksWebservice` or :class:`LocalWebservice` by the compute
    type it was deployed with; a plain Webservice for an endpoint made another way).
    WebserviceException (also NotFoundError) when there is none.

    Attributes: ``name``, ``workspace``, ``state`` (refreshed by ``wait_for_deployment`` and
    ``update_deployment_state``), ``scoring_uri``, ``swagger_uri`` (None), ``auth_enabled``,
    ``token_auth_enabled`` (False), ``compute_type``, ``description``, ``tags``,
    ``created_time``, ``updated_time``, ``error``, ``deployment_name``, ``generation``,
    ``model_ids``.
    """

    def __new__(cls, workspace: Any = None, name: Optional[str] = None) -> "Webservice":
        # Azure's Webservice(ws, name) answers with the subclass of the service's compute type.
        if cls is Webservice and workspace is not None and name is not None:
            endpoint, deployment = Webservice._fetch(workspace, name)
            sub = _CLASS_BY_COMPUTE_TYPE.get(_compute_type_of(endpoint), Webservice)
            service = object.__new__(sub)
            service._set(workspace, endpoint, deployment)
            return service
        return object.__new__(cls)

    def __init__(self, workspace: Any, name: str):
        if getattr(self, "_endpoint", None) is not None:
            return  # fetched by __new__
        self._set(workspace, *Webservice._fetch(workspace, name))

    # -- loading

    @staticmethod
    def _fetch(workspace: Any, name: str) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
        check_workspace(workspace)
        if not isinstance(name, str) or not name:
            raise TypeError("name must be a non-empty str")
        client = workspace._client()
        try:
            endpoint = client.get(_paths.endpoint(name)) or {}
        except NotFoundError:
            raise _error(NotFoundError, "WebserviceNotFound: Webservice with name %s not found "
                                        "in workspace %s" % (name, workspace.name)) from None
        except GantryError as e:
            raise _wrap(e) from None
        deployment_name = _main_deployment(endpoint)
        deployment = None
        if deployment_name:
            try:
                deployment = client.get(_paths.deployment(name, deployment_name))
            except NotFoundError:
                deployment = None  # deleted in between: the service has none
            except GantryError as e:
                raise _wrap(e) from None
        return endpoint, deployment

    def _set(self, workspace: Any, endpoint: Dict[str, Any],
             deployment: Optional[Dict[str, Any]]) -> None:
        self.workspace = workspace
        self._endpoint = dict(endpoint)
        self._deployment = dict(deployment) if deployment else None
        self._key: Optional[str] = getattr(self, "_key", None)
        self.state = service_state(self._deployment)

    def _refresh(self) -> None:
        self._set(self.workspace, *Webservice._fetch(self.workspace, self.name))

    @property
    def name(self) -> str:
        return self._endpoint.get("name", "")

    @property
    def scoring_uri(self) -> str:
        return self._endpoint.get("scoring_uri", "")

    @property
    def swagger_uri(self) -> Optional[str]:
        """None: Gantry's model servers publish no swagger document."""
        return None

    @property
    def auth_enabled(self) -> bool:
        return self._endpoint.get("auth_mode") == "key"

    @property
    def token_auth_enabled(self) -> bool:
        return False

    @property
    def compute_type(self) -> str:
        """``ACI``, ``AKS`` or ``Local`` (the deployment configuration it was deployed with);
        ``Gantry`` for an endpoint made by the CLI or REST."""
        return _compute_type_of(self._endpoint) or "Gantry"

    @property
    def description(self) -> str:
        return self._endpoint.get("description") or ""

    @property
    def tags(self) -> Dict[str, str]:
        return {k: v for k, v in (self._endpoint.get("tags") or {}).items() if k != COMPUTE_TYPE_TAG}

    @property
    def properties(self) -> Dict[str, str]:
        return {}

    @property
    def created_time(self) -> Optional[datetime.datetime]:
        return parse_time(self._endpoint.get("created_at") or "")

    @property
    def updated_time(self) -> Optional[datetime.datetime]:
        return parse_time((self._deployment or {}).get("updated_at")
                           or self._endpoint.get("updated_at") or "")

    @property
    def error(self) -> Optional[str]:
        """The deployment's error (why it Failed), or None."""
        return (self._deployment or {}).get("error") or None

    @property
    def deployment_name(self) -> Optional[str]:
        """The endpoint's deployment this object follows (``default`` for Model.deploy's)."""
        return (self._deployment or {}).get("name")

    @property
    def generation(self) -> Optional[int]:
        """The deployment's generation: 1 when created, one more for each update."""
        return (self._deployment or {}).get("generation")

    @property
    def model_ids(self) -> List[str]:
        model = (self._deployment or {}).get("model")
        return [model] if model else []

    @property
    def models(self) -> List[Any]:
        """The deployed :class:`Model` (fetched from the registry)."""
        return [Model(self.workspace, id=i) for i in self.model_ids]

    def __repr__(self) -> str:
        return "%s(workspace=%r, name=%s, state=%s, scoring_uri=%s)" % (
            type(self).__name__, self.workspace, self.name, self.state, self.scoring_uri)

    def serialize(self) -> Dict[str, Any]:
        """The service in azureml's dict shape."""
        return {"name": self.name, "description": self.description, "tags": self.tags,
                "properties": self.properties, "state": self.state,
                "createdTime": self._endpoint.get("created_at"),
                "updatedTime": (self._deployment or {}).get("updated_at"),
                "error": self.error, "computeType": self.compute_type,
                "scoringUri": self.scoring_uri, "swaggerUri": self.swagger_uri,
                "authEnabled": self.auth_enabled, "models": self.model_ids,
                "deploymentName": self.deployment_name, "generation": self.generation}

    # -- listing

    @staticmethod
    def list(workspace: Any, compute_type: Optional[str] = None, image_name: Optional[str] = None,
             image_id: Optional[str] = None, model_name: Optional[str] = None,
             model_id: Optional[str] = None, tags: Any = None, properties: Any = None,
             image_digest: Optional[str] = None) -> List["Webservice"]:
        """The workspace's services, by name, filtered by ``compute_type``, ``model_name``,
        ``model_id`` (``"NAME:VERSION"``) and ``tags`` (a list of ``'key'`` or
        ``[key, value]``). Images do not exist in Gantry: filtering by one gives []."""
        check_workspace(workspace)
        if image_name is not None or image_id is not None or image_digest is not None:
            return []
        if properties:
            return []
        client = workspace._client()
        try:
            endpoints = (client.get(_paths.endpoints()) or {}).get("endpoints") or []
        except GantryError as e:
            raise _wrap(e) from None
        services = []
        for endpoint in sorted(endpoints, key=lambda e: e.get("name", "")):
            if compute_type is not None and (_compute_type_of(endpoint) or "Gantry") != compute_type:
                continue
            if not filter_matches(endpoint.get("tags") or {}, tags):
                continue
            try:
                data = Webservice._fetch(workspace, endpoint["name"])
            except NotFoundError:
                continue  # deleted while listing
            service = Webservice._from_data(workspace, *data)
            ids = service.model_ids
            if model_id is not None and model_id not in ids:
                continue
            if model_name is not None and not any(i.rpartition(":")[0] == model_name for i in ids):
                continue
            services.append(service)
        return services

    @staticmethod
    def _from_data(workspace: Any, endpoint: Dict[str, Any],
                   deployment: Optional[Dict[str, Any]]) -> "Webservice":
        cls = _CLASS_BY_COMPUTE_TYPE.get(_compute_type_of(endpoint), Webservice)
        service = object.__new__(cls)
        service._set(workspace, endpoint, deployment)
        return service

    # -- state

    def update_deployment_state(self) -> None:
        """Fetches the service again and refreshes ``state``."""
        self._refresh()

    def wait_for_deployment(self, show_output: bool = False, timeout_sec: Optional[float] = None) -> None:
        """Waits until the deployment is no longer Creating or Updating (at most
        ``timeout_sec``, default 1800 s), polling the server. With ``show_output``, prints
        each state change. WebserviceException when it Failed (the deployment's error and a
        hint to ``get_logs()``) or when the time runs out."""
        deadline_s = _DEFAULT_WAIT_S if timeout_sec is None else float(timeout_sec)
        out = sys.stdout if show_output else None
        _wait(self, deadline_s, time.monotonic, time.sleep, out)

    # -- scoring

    def run(self, input_data: Any) -> Any:
        """Scores ``input_data`` at ``scoring_uri`` and returns the answer's JSON (or its text
        when it is not JSON). ``input_data``: a str (sent as is), bytes, or a dict or list
        (sent as JSON). WebserviceException naming the HTTP status and the service's message
        for a non-2xx answer."""
        data = _request_body(input_data)
        status, content_type, body = self._score(data)
        if status == 401 and self.auth_enabled:
            self._key = None  # keys may have been regenerated elsewhere: fetch them again
            status, content_type, body = self._score(data)
        if not 200 <= status < 300:
            raise _bad_response(status, body, self.name)
        text = body.decode("utf-8", "replace")
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _score(self, data: bytes) -> Tuple[int, str, bytes]:
        if not self.scoring_uri:
            raise _error(FailedPreconditionError, "service %s has no scoring URI" % self.name)
        parts = urllib.parse.urlsplit(self.scoring_uri)
        token = None
        if self.auth_enabled:
            if self._key is None:
                self._key = self.get_keys()[0]
            token = self._key
        timeout_ms = ((self._deployment or {}).get("request_settings") or {}).get("request_timeout_ms")
        timeout = max(60.0, (timeout_ms or 0) / 1000.0 + 10)
        client = Client("%s://%s" % (parts.scheme, parts.netloc), token=token, timeout=timeout,
                        ca_file=getattr(self.workspace, "_ca_file", None))
        path = parts.path + ("?" + parts.query if parts.query else "")
        try:
            return client.send("POST", path, data, "application/json")
        except GantryError as e:
            raise _wrap(e) from None

    # -- keys

    def get_keys(self) -> Tuple[str, str]:
        """``(primary key, secondary key)``. WebserviceException when the service has no key
        auth."""
        if not self.auth_enabled:
            raise _error(FailedPreconditionError,
                         "Keys are not enabled for service %s: it was deployed with "
                         "auth_enabled=False" % self.name)
        try:
            keys = self.workspace._client().get(_paths.endpoint(self.name, "/keys")) or {}
        except GantryError as e:
            raise _wrap(e) from None
        self._key = keys.get("primaryKey")
        return keys.get("primaryKey"), keys.get("secondaryKey")

    def regen_key(self, key: str, set_key: Optional[str] = None) -> None:
        """Replaces the ``"Primary"`` or ``"Secondary"`` key with a new random one; the old
        one is refused from then on. ``set_key`` (choosing the value) is not supported."""
        if set_key is not None:
            raise _error(UnimplementedError, "set_key is not supported: Gantry generates keys; "
                                             "call regen_key(key) without it")
        which = key.lower() if isinstance(key, str) else ""
        if which not in ("primary", "secondary"):
            raise _error(InvalidArgumentError,
                         "key must be 'Primary' or 'Secondary', got %r" % (key,))
        try:
            keys = self.workspace._client().post(_paths.endpoint(self.name, "/keys/regenerate"),
                                                 {"key_type": which}) or {}
        except GantryError as e:
            raise _wrap(e) from None
        self._key = keys.get("primaryKey")

    def get_token(self) -> Any:
        raise _error(UnimplementedError, "token auth is not supported by Gantry: use the keys "
                                         "(get_keys())")

    # -- logs, update, delete

    def get_logs(self, num_lines: int = 5000, init: bool = False) -> str:
        """The last ``num_lines`` lines of the deployment's log: its model servers' output and
        the controller's events (starts, exits, restarts). ``init`` changes nothing: the
        log holds each replica's start too."""
        if not self.deployment_name:
            return ""
        try:
            return self.workspace._client().get_text(
                _paths.deployment(self.name, self.deployment_name, "/logs"),
                {"lines": int(num_lines)})
        except GantryError as e:
            raise _wrap(e) from None

    def delete(self) -> None:
        """Deletes the service: its model servers are stopped, then the endpoint is removed.
        WebserviceException (also NotFoundError) when there is no such service."""
        try:
            self.workspace._client(timeout=120).delete(_paths.endpoint(self.name))
        except NotFoundError:
            raise _error(NotFoundError, "No service with name %s found to delete." % self.name) from None
        except GantryError as e:
            raise _wrap(e) from None
        self.state = "Deleting"

    def update(self, models: Optional[List[Any]] = None, inference_config: Any = None,
               tags: Optional[Dict[str, Any]] = None, properties: Optional[Dict[str, Any]] = None,
               description: Optional[str] = None, auth_enabled: Optional[bool] = None,
               num_replicas: Optional[int] = None, scoring_timeout_ms: Optional[int] = None,
               replica_max_concurrent_requests: Optional[int] = None) -> None:
        """Changes the service in place. ``tags`` (replacing them) and ``description`` change
        the endpoint; ``models``, ``inference_config``, ``num_replicas`` and the request
        settings deploy a new generation of the deployment (follow it with
        ``wait_for_deployment``). A service deployed with scoring code needs
        ``inference_config`` again to change its model. ``auth_enabled`` cannot change
        (delete and deploy again); ``properties`` are not kept."""
        self._refresh()  # build on the service as it is now, not as this object last saw it
        if auth_enabled is not None and bool(auth_enabled) != self.auth_enabled:
            raise _error(FailedPreconditionError,
                         "Gantry cannot change a service's auth: delete service %s and deploy "
                         "it again with auth_enabled=%r" % (self.name, bool(auth_enabled)))
        client = self.workspace._client(timeout=600)
        if tags is not None or description is not None:
            patch: Dict[str, Any] = {}
            if tags is not None:
                patch["tags"] = strings(tags, "tags")
                if _compute_type_of(self._endpoint):
                    patch["tags"][COMPUTE_TYPE_TAG] = _compute_type_of(self._endpoint)
            if description is not None:
                patch["description"] = description
            try:
                client.patch(_paths.endpoint(self.name), patch)
            except GantryError as e:
                raise _wrap(e) from None
        settings = {}
        if scoring_timeout_ms is not None:
            settings["request_timeout_ms"] = _positive_int(scoring_timeout_ms, "scoring_timeout_ms")
        if replica_max_concurrent_requests is not None:
            settings["max_concurrent_requests_per_instance"] = _positive_int(
                replica_max_concurrent_requests, "replica_max_concurrent_requests")
        _positive_int(num_replicas, "num_replicas")
        if models is not None or inference_config is not None or num_replicas is not None or settings:
            current = self._deployment
            if current is None:
                raise _error(FailedPreconditionError, "service %s has no deployment to update; "
                                                      "deploy it with Model.deploy" % self.name)
            model_id = _one_model(models).id if models is not None else current.get("model")
            body: Dict[str, Any] = {
                "model": model_id,
                "instance_count": num_replicas or current.get("instance_count") or 1,
                "request_settings": dict(current.get("request_settings") or {}, **settings),
                "instance_type": current.get("instance_type") or ""}
            if inference_config is not None:
                body.update(_code_fields(self.workspace, inference_config))
            elif current.get("backend") == "python":
                raise _error(InvalidArgumentError,
                             "service %s runs scoring code: pass inference_config again to "
                             "update it" % self.name)
            try:
                client.put(_paths.deployment(self.name, current["name"]), body)
            except GantryError as e:
                raise _wrap(e) from None
        self._refresh()


def _main_deployment(endpoint: Dict[str, Any]) -> Optional[str]:
    """The deployment a Webservice follows: the one with the most traffic, ``default``
    first among equals, then by name."""
    names = [d.get("name") for d in endpoint.get("deployments") or [] if isinstance(d, dict)]
    names = [n for n in names if n]
    if not names:
        return None
    traffic = endpoint.get("traffic") or {}
    return min(names, key=lambda n: (-int(traffic.get(n) or 0), n != DEPLOYMENT_NAME, n))


def _compute_type_of(endpoint: Dict[str, Any]) -> str:
    return str((endpoint.get("tags") or {}).get(COMPUTE_TYPE_TAG) or "")


def _request_body(input_data: Any) -> bytes:
    if isinstance(input_data, str):
        return input_data.encode("utf-8")
    if isinstance(input_data, (bytes, bytearray)):
        return bytes(input_data)
    if isinstance(input_data, (dict, list)):
        return json.dumps(input_data).encode("utf-8")
    raise TypeError("input_data must be a str, bytes, dict or list, got %s"
                    % type(input_data).__name__)


def _bad_response(status: int, body: bytes, service: str) -> GantryError:
    """WebserviceException for a non-2xx scoring answer: the class by HTTP status, the
    message naming it and the service's own message (``{"error": "..."}``, Gantry's
    ``{"error": {"message"}}``, or the text)."""
    text = body.decode("utf-8", "replace").strip()
    message = text[:2000]
    try:
        err = json.loads(text).get("error")
        if isinstance(err, str) and err:
            message = err
        elif isinstance(err, dict) and err.get("message"):
            message = str(err["message"])
    except (ValueError, AttributeError):
        pass
    base = type(error_from_response(status, body))
    error = _error(base, "Received bad response from service %s: HTTP %d: %s. More information "
                         "may be found with service.get_logs()" % (service, status, message))
    error.status_code = status  # type: ignore[attr-defined]
    return error


def _wait(service: Webservice, timeout_s: float, clock: Callable[[], float],
          sleep: Callable[[float], None], out: Any) -> None:
    """wait_for_deployment's loop, with the clock, sleep and output passed in."""
    deadline = clock() + timeout_s
    interval = 0.1
    shown = None
    while True:
        service._refresh()
        provisioning = (service._deployment or {}).get("provisioning_state")
        if out is not None and service.state != shown:
            shown = service.state
            out.write("%s %s\n" % (datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
                                   service.state))
            out.flush()
        if service._deployment is None:
            raise _error(FailedPreconditionError, "service %s has no deployment to wait for"
                         % service.name)
        if provisioning not in ("Creating", "Updating"):
            break
        left = deadline - clock()
        if left <= 0:
            raise _error(DeadlineExceededError,
                         "service %s is still %s (deployment %s) after %gs; see "
                         "service.get_logs()" % (service.name, service.state,
                                                 provisioning, timeout_s))
        sleep(min(interval, left))
        interval = min(interval * 2, _MAX_POLL_INTERVAL_S)
    if out is not None:
        out.write('%s service creation operation finished, operation "%s"\n'
                  % (service.compute_type, provisioning))
        out.flush()
    if provisioning == "Failed":
        raise _error(FailedPreconditionError,
                     "Service deployment polling reached non-successful terminal state, current "
                     "service state: Failed\nError:\n%s\nMore information may be found with "
                     "service.get_logs()" % (service.error or "(none given)"))


# ------------------------------------------------------------------------------ deploying

def _one_model(models: Any) -> Any:
    if isinstance(models, Model):
        models = [models]
    if not isinstance(models, (list, tuple)):
        raise TypeError("models must be a list of Model, got %s" % type(models).__name__)
    if len(models) != 1:
        raise _error(InvalidArgumentError,
                     "Gantry deploys exactly one model per service, got %d; register the files "
                     "as one model (a folder) and deploy that" % len(models))
    if not isinstance(models[0], Model):
        raise TypeError("models must hold Model objects, got %s" % type(models[0]).__name__)
    return models[0]


def _code_fields(workspace: Any, inference_config: Any) -> Dict[str, str]:
    if not isinstance(inference_config, InferenceConfig):
        raise TypeError("inference_config must be an InferenceConfig, got %s"
                        % type(inference_config).__name__)
    try:
        code_tree, script, environment = inference_config._gantry_code(workspace)
    except GantryError as e:
        raise _wrap(e) from None
    fields = {"code_tree": code_tree, "scoring_script": script}
    if environment:
        fields["environment"] = environment
    return fields


def deploy(workspace: Any, name: str, models: Any, inference_config: Any = None,
           deployment_config: Any = None, deployment_target: Any = None, overwrite: bool = False,
           show_output: bool = False) -> Webservice:
    """Model.deploy: see its doc."""
    check_workspace(workspace)
    if not isinstance(name, str) or not name:
        raise TypeError("name must be a non-empty str")
    check_name("service name", name)
    model = _one_model(models)
    if deployment_config is None:
        # No configuration chosen: key auth, since a keyless service is something its
        # creator asks for (auth_enabled=False, or ACI's deploy_configuration() as in Azure).
        deployment_config = AciWebservice.deploy_configuration(auth_enabled=True)
    if not isinstance(deployment_config, WebserviceDeploymentConfiguration):
        raise TypeError("deployment_config must come from AciWebservice, AksWebservice or "
                        "LocalWebservice.deploy_configuration(), got %s"
                        % type(deployment_config).__name__)
    if deployment_target is not None:
        warnings.warn("deployment_target is ignored: Gantry's server runs the service's model "
                      "servers itself", stacklevel=3)
    client = workspace._client(timeout=600)
    try:
        existing = client.get(_paths.endpoint(name))
    except NotFoundError:
        existing = None
    except GantryError as e:
        raise _wrap(e) from None
    if existing is not None:
        if not overwrite:
            raise _error(AlreadyExistsError,
                         "Service %s with the same name already exists, please use a different "
                         "service name or delete the existing service (or pass overwrite=True "
                         "to update it)" % name)
        if (existing.get("auth_mode") == "key") != deployment_config.auth_enabled:
            raise _error(FailedPreconditionError,
                         "service %s exists with auth_enabled=%r; Gantry cannot change a "
                         "service's auth: delete it first" % (name, existing.get("auth_mode") == "key"))

    body: Dict[str, Any] = {"model": model.id, "all_traffic": True}
    body.update(deployment_config._deployment_fields())
    description = None
    if inference_config is not None:
        body.update(_code_fields(workspace, inference_config))
        description = inference_config.description
    endpoint_body = deployment_config._endpoint_body(name, description)

    created = False
    try:
        if existing is None:
            client.post(_paths.endpoints(), endpoint_body)
            created = True
        if show_output:
            print("Deploying model %s to service %s" % (model.id, name))
        client.put(_paths.deployment(name, DEPLOYMENT_NAME), body)
        if existing is not None:  # after the deployment, which the server may refuse
            client.patch(_paths.endpoint(name), {"tags": endpoint_body["tags"],
                                                "description": endpoint_body["description"]})
    except GantryError as e:
        if created:  # leave nothing half-made behind: the name stays free for a retry
            try:
                client.delete(_paths.endpoint(name))
            except GantryError:
                pass
        raise _wrap(e) from None
    return Webservice._from_data(workspace, *Webservice._fetch(workspace, name))


# ----------------------------------------------------------------------------- subclasses

class AciWebservice(Webservice):
    """A service deployed with ``AciWebservice.deploy_configuration`` (Model.deploy's
    default)."""

    @staticmethod
    def deploy_configuration(cpu_cores: Optional[float] = None, memory_gb: Optional[float] = None,
                             tags: Optional[Dict[str, Any]] = None,
                             properties: Optional[Dict[str, Any]] = None,
                             description: Optional[str] = None, location: Optional[str] = None,
                             auth_enabled: Optional[bool] = None, ssl_enabled: Optional[bool] = None,
                             enable_app_insights: Optional[bool] = None,
                             ssl_cert_pem_file: Optional[str] = None,
                             ssl_key_pem_file: Optional[str] = None, ssl_cname: Optional[str] = None,
                             dns_name_label: Optional[str] = None, primary_key: Optional[str] = None,
                             secondary_key: Optional[str] = None,
                             collect_model_data: Optional[bool] = None,
                             cmk_vault_base_url: Optional[str] = None,
                             cmk_key_name: Optional[str] = None, cmk_key_version: Optional[str] = None,
                             vnet_name: Optional[str] = None, subnet_name: Optional[str] = None,
                             gpu_cores: Optional[int] = None
                             ) -> AciServiceDeploymentConfiguration:
        """One replica. ``auth_enabled`` None means off, as in Azure's ACI: the service is
        scored without a key (the endpoint's ``auth_mode`` is ``none``); pass
        ``auth_enabled=True`` for key auth. ``tags`` and ``description`` go to the endpoint. Sizes, location,
        networking, monitoring and encryption settings are accepted and ignored: a replica
        is a process on the server's machine. ``ssl_enabled=True``, ``primary_key`` and
        ``secondary_key`` are refused (Gantry serves plain HTTP and generates its keys)."""
        _refuse_if(bool(ssl_enabled) or bool(ssl_cert_pem_file or ssl_key_pem_file or ssl_cname),
                   "ssl is not supported: Gantry's server serves plain HTTP; put a TLS proxy in "
                   "front of it")
        _refuse_if(primary_key is not None or secondary_key is not None,
                   "primary_key and secondary_key cannot be chosen: Gantry generates keys "
                   "(service.get_keys(), service.regen_key('Primary'))")
        return AciServiceDeploymentConfiguration(
            auth_enabled=bool(auth_enabled), tags=tags,
            properties=properties, description=description)


class AksWebservice(Webservice):
    """A service deployed with ``AksWebservice.deploy_configuration``."""

    @staticmethod
    def deploy_configuration(autoscale_enabled: Optional[bool] = None,
                             autoscale_min_replicas: Optional[int] = None,
                             autoscale_max_replicas: Optional[int] = None,
                             autoscale_refresh_seconds: Optional[int] = None,
                             autoscale_target_utilization: Optional[int] = None,
                             collect_model_data: Optional[bool] = None,
                             auth_enabled: Optional[bool] = None, cpu_cores: Optional[float] = None,
                             memory_gb: Optional[float] = None,
                             enable_app_insights: Optional[bool] = None,
                             scoring_timeout_ms: Optional[int] = None,
                             replica_max_concurrent_requests: Optional[int] = None,
                             max_request_wait_time: Optional[int] = None,
                             num_replicas: Optional[int] = None, primary_key: Optional[str] = None,
                             secondary_key: Optional[str] = None,
                             tags: Optional[Dict[str, Any]] = None,
                             properties: Optional[Dict[str, Any]] = None,
                             description: Optional[str] = None, gpu_cores: Optional[int] = None,
                             period_seconds: Optional[int] = None,
                             initial_delay_seconds: Optional[int] = None,
                             timeout_seconds: Optional[int] = None,
                             success_threshold: Optional[int] = None,
                             failure_threshold: Optional[int] = None,
                             namespace: Optional[str] = None,
                             token_auth_enabled: Optional[bool] = None,
                             compute_target_name: Optional[str] = None,
                             cpu_cores_limit: Optional[float] = None,
                             memory_gb_limit: Optional[float] = None,
                             blobfuse_enabled: Optional[bool] = None
                             ) -> AksServiceDeploymentConfiguration:
        """``num_replicas`` → the deployment's ``instance_count`` (default 1);
        ``scoring_timeout_ms`` → ``request_timeout_ms`` and
        ``replica_max_concurrent_requests`` → ``max_concurrent_requests_per_instance``;
        ``auth_enabled`` (default True) → key auth. Gantry does not autoscale:
        ``autoscale_enabled=True`` runs ``autoscale_min_replicas`` (default 1) replicas, with a
        warning. ``token_auth_enabled=True``, ``primary_key`` and ``secondary_key`` are
        refused; sizes, probes and monitoring settings are accepted and ignored."""
        _refuse_if(bool(token_auth_enabled),
                   "token_auth_enabled is not supported: Gantry services use keys")
        _refuse_if(primary_key is not None or secondary_key is not None,
                   "primary_key and secondary_key cannot be chosen: Gantry generates keys "
                   "(service.get_keys(), service.regen_key('Primary'))")
        _refuse_if(bool(autoscale_enabled) and num_replicas is not None,
                   "Invalid configuration: autoscale_enabled=True and num_replicas given; "
                   "give one or the other")
        replicas = _positive_int(num_replicas, "num_replicas")
        if autoscale_enabled:
            replicas = _positive_int(autoscale_min_replicas, "autoscale_min_replicas") or 1
            warnings.warn("Gantry does not autoscale: the service runs autoscale_min_replicas "
                          "(%d) replicas" % replicas, stacklevel=2)
        settings: Dict[str, int] = {}
        if scoring_timeout_ms is not None:
            settings["request_timeout_ms"] = _positive_int(scoring_timeout_ms, "scoring_timeout_ms")
        if replica_max_concurrent_requests is not None:
            settings["max_concurrent_requests_per_instance"] = _positive_int(
                replica_max_concurrent_requests, "replica_max_concurrent_requests")
        return AksServiceDeploymentConfiguration(
            auth_enabled=True if auth_enabled is None else auth_enabled, num_replicas=replicas,
            request_settings=settings, tags=tags, properties=properties, description=description)


class LocalWebservice(Webservice):
    """A service deployed with ``LocalWebservice.deploy_configuration``: no auth, like
    Azure's local web services."""

    @staticmethod
    def deploy_configuration(port: Optional[int] = None) -> LocalWebserviceDeploymentConfiguration:
        """No auth, one replica. ``port`` cannot be honoured: the service is scored at the
        Gantry server's address (``service.scoring_uri``); a warning says so."""
        if port is not None:
            warnings.warn("port is ignored: the service is scored at the Gantry server's address "
                          "(service.scoring_uri)", stacklevel=2)
        return LocalWebserviceDeploymentConfiguration(auth_enabled=False)


_CLASS_BY_COMPUTE_TYPE = {"ACI": AciWebservice, "AKS": AksWebservice, "Local": LocalWebservice}
