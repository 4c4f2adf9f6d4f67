"""Compute targets (azureml.core v1's ``ComputeTarget`` and ``AmlCompute``).

::

    from gantry import AmlCompute, ComputeTarget, ComputeTargetException

    try:
        compute_target = ComputeTarget(workspace=ws, name="gpu-cluster")
    except ComputeTargetException:
        config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", max_nodes=4)
        compute_target = ComputeTarget.create(ws, "gpu-cluster", config)
        compute_target.wait_for_completion(show_output=True)

A Gantry cluster is local: it runs at most ``max_nodes`` jobs at once on the server's
machine, each given the node shape of ``vm_size`` (CPUs, memory, GPUs) in its environment.
It is ready as soon as it is created, so ``wait_for_completion`` returns at once. Here a
"node" is one of those job slots. The built-in target ``local`` is always there.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional

from . import _paths
from ._names import check_name
from ._workspace_base import check_workspace
from .errors import GantryError, InvalidArgumentError, in_family

__all__ = ["ComputeTarget", "AmlCompute", "AmlComputeProvisioningConfiguration",
           "AmlComputeStatus", "ScaleSettings", "ComputeTargetException"]

_ACTIVE_STATUSES = ("Preparing", "Starting", "Running", "Finalizing", "CancelRequested")


class ComputeTargetException(GantryError):
    """A compute target operation failed (azureml's ``ComputeTargetException``).

    Errors from the server are raised as a class that derives from both this and the
    server's error class, so ``except ComputeTargetException`` and ``except NotFoundError``
    both catch a missing target.
    """


def _wrap(error: GantryError) -> GantryError:
    """``error`` as a ComputeTargetException of the same code (transport errors as they are)."""
    return in_family(ComputeTargetException, error)


class ScaleSettings:
    """A cluster's ``minimum_node_count``, ``maximum_node_count`` and
    ``idle_seconds_before_scaledown``."""

    def __init__(self, minimum_node_count: int = 0, maximum_node_count: int = 4,
                 idle_seconds_before_scaledown: Optional[int] = None):
        self.minimum_node_count = minimum_node_count
        self.maximum_node_count = maximum_node_count
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown

    def serialize(self) -> Dict[str, Any]:
        return {"minNodeCount": self.minimum_node_count, "maxNodeCount": self.maximum_node_count,
                "nodeIdleTimeBeforeScaleDown": "PT%dS" % (self.idle_seconds_before_scaledown or 0)}

    def __repr__(self) -> str:
        return "ScaleSettings(minimum_node_count=%r, maximum_node_count=%r, " \
               "idle_seconds_before_scaledown=%r)" % (self.minimum_node_count,
                                                      self.maximum_node_count,
                                                      self.idle_seconds_before_scaledown)


class ComputeTarget:
    """A compute target of a workspace: ``ComputeTarget(workspace, name)`` finds it
    (ComputeTargetException when there is none) and gives an :class:`AmlCompute` for a
    cluster. ``ComputeTarget.create``, ``ComputeTarget.list`` and ``.delete()`` manage them.
    """

    _type: Optional[str] = None  # the server's type a subclass stands for

    def __new__(cls, workspace: Any = None, name: Optional[str] = None) -> "ComputeTarget":
        if workspace is None and name is None:
            return super().__new__(cls)
        check_workspace(workspace)
        check_name("compute target name", name)
        try:
            data = workspace._client().get(_paths.compute(name)) or {}
        except GantryError as e:
            raise _wrap(e) from None
        target = _class_for(data.get("type"))
        if not issubclass(target, cls):
            raise ComputeTargetException("compute target %r is of type %r, not %s"
                                         % (name, data.get("type"), cls.__name__))
        obj = super().__new__(target)
        obj._set(workspace, data)
        return obj

    def __init__(self, workspace: Any = None, name: Optional[str] = None):
        pass  # __new__ did the work

    @classmethod
    def _from_json(cls, workspace: Any, data: Dict[str, Any]) -> "ComputeTarget":
        obj = object.__new__(_class_for(data.get("type")))
        obj._set(workspace, data)
        return obj

    def _set(self, workspace: Any, data: Dict[str, Any]) -> None:
        self._workspace = workspace
        self._data = dict(data)
        self._just_created = False

    # -- properties

    @property
    def workspace(self) -> Any:
        return self._workspace

    @property
    def name(self) -> str:
        return self._data.get("name", "")

    @property
    def type(self) -> str:
        """``"AmlCompute"`` for a cluster, ``"local"`` for the built-in target."""
        kind = self._data.get("type", "")
        return "AmlCompute" if kind == "amlcompute" else kind

    @property
    def provisioning_state(self) -> str:
        return self._data.get("provisioning_state", "")

    @property
    def vm_size(self) -> str:
        return self._data.get("vm_size", "")

    @property
    def node(self) -> Dict[str, Any]:
        """The shape each job gets: ``{"cpus", "memory_gb", "gpus"}``."""
        return dict(self._data.get("node") or {})

    @property
    def created_on(self) -> str:
        return self._data.get("created_at", "")

    @property
    def provisioning_errors(self) -> List[Any]:
        return []

    def serialize(self) -> Dict[str, Any]:
        """The target as the server describes it."""
        return dict(self._data)

    def refresh_state(self) -> None:
        """Reads the target again from the server."""
        try:
            self._data = self._workspace._client().get(_paths.compute(self.name)) or self._data
        except GantryError as e:
            raise _wrap(e) from None

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ComputeTarget) and (self._workspace, self.name) == (
            other._workspace, other.name)

    def __hash__(self) -> int:
        return hash((self._workspace, self.name))

    def __repr__(self) -> str:
        return "%s(workspace=%r, name=%s, provisioning_state=%s, vm_size=%s)" % (
            type(self).__name__, self._workspace, self.name, self.provisioning_state, self.vm_size)

    # -- management

    @staticmethod
    def create(workspace: Any, name: str, provisioning_configuration: Any) -> "ComputeTarget":
        """Creates target ``name`` from a provisioning configuration
        (:meth:`AmlCompute.provisioning_configuration`) and returns it, ready to use.
        ComputeTargetException (also AlreadyExistsError) when the name is taken, (also
        NotFoundError) for an unknown ``vm_size``."""
        check_workspace(workspace)
        body_of = getattr(provisioning_configuration, "_gantry_body", None)
        if not callable(body_of):
            raise TypeError("provisioning_configuration must come from "
                            "AmlCompute.provisioning_configuration(...), got %s"
                            % type(provisioning_configuration).__name__)
        check_name("compute target name", name)
        body = dict(body_of(), name=name)
        try:
            data = workspace._client().post(_paths.computes(), body) or {}
        except GantryError as e:
            raise _wrap(e) from None
        target = ComputeTarget._from_json(workspace, data)
        target._just_created = True
        return target

    @staticmethod
    def list(workspace: Any) -> List["ComputeTarget"]:
        """Every compute target of the workspace, the built-in ``local`` first."""
        check_workspace(workspace)
        try:
            body = workspace._client().get(_paths.computes()) or {}
        except GantryError as e:
            raise _wrap(e) from None
        return [ComputeTarget._from_json(workspace, d) for d in body.get("computes") or []]

    def delete(self) -> None:
        """Deletes the target. ComputeTargetException (also FailedPreconditionError) while
        jobs are queued or running on it."""
        try:
            self._workspace._client().delete(_paths.compute(self.name))
        except GantryError as e:
            raise _wrap(e) from None
        self._data["provisioning_state"] = "Deleted"

    def detach(self) -> None:
        """Same as :meth:`delete` (Gantry does not attach outside resources)."""
        self.delete()

    def wait_for_completion(self, show_output: bool = False, is_delete_operation: bool = False) -> None:
        """Waits for provisioning to finish; a Gantry target is ready at once."""
        if not is_delete_operation:
            self.refresh_state()
        if show_output:
            _print_provisioned(self, None)

    def get_status(self) -> "AmlComputeStatus":
        """The target's state now (see :class:`AmlComputeStatus`)."""
        self.refresh_state()
        return AmlComputeStatus._of(self)


class AmlComputeProvisioningConfiguration:
    """What :meth:`AmlCompute.provisioning_configuration` returns: the cluster's ``vm_size``,
    ``min_nodes``, ``max_nodes`` and ``idle_seconds_before_scaledown``; the other settings
    are kept but have no effect on a local cluster."""

    def __init__(self, vm_size: str = "", vm_priority: str = "dedicated", min_nodes: int = 0,
                 max_nodes: Optional[int] = 4, idle_seconds_before_scaledown: Optional[int] = 1800,
                 **other: Any):
        self.vm_size = vm_size
        self.vm_priority = vm_priority
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.idle_seconds_before_scaledown = idle_seconds_before_scaledown
        self.other = other
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """InvalidArgumentError for settings a cluster cannot have."""
        if not isinstance(self.vm_size, str):
            raise InvalidArgumentError("vm_size must be a string such as 'STANDARD_NC6'")
        if self.vm_priority not in ("dedicated", "lowpriority"):
            raise InvalidArgumentError("vm_priority must be 'dedicated' or 'lowpriority', got %r"
                                       % (self.vm_priority,))
        for field in ("min_nodes", "max_nodes", "idle_seconds_before_scaledown"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidArgumentError("%s must be a non-negative int, got %r" % (field, value))
        if self.max_nodes is not None and self.max_nodes < 1:
            raise InvalidArgumentError("max_nodes must be at least 1, got %r" % (self.max_nodes,))
        if self.max_nodes is not None and self.min_nodes > self.max_nodes:
            raise InvalidArgumentError("min_nodes (%d) must not exceed max_nodes (%d)"
                                       % (self.min_nodes, self.max_nodes))

    def _gantry_body(self) -> Dict[str, Any]:
        self.validate_configuration()
        body: Dict[str, Any] = {
            "type": "amlcompute", "min_nodes": self.min_nodes,
            "max_nodes": 4 if self.max_nodes is None else self.max_nodes,
            "idle_seconds_before_scaledown": (1800 if self.idle_seconds_before_scaledown is None
                                              else self.idle_seconds_before_scaledown)}
        if self.vm_size:  # else the server's default size
            body["vm_size"] = self.vm_size
        return body

    def __repr__(self) -> str:
        return ("AmlComputeProvisioningConfiguration(vm_size=%r, min_nodes=%r, max_nodes=%r, "
                "idle_seconds_before_scaledown=%r)" % (self.vm_size, self.min_nodes, self.max_nodes,
                                                        self.idle_seconds_before_scaledown))


class AmlCompute(ComputeTarget):
    """A cluster (``type: amlcompute``): runs at most ``max_nodes`` jobs at once, each with
    the shape of ``vm_size``."""

    _type = "amlcompute"

    @staticmethod
    def provisioning_configuration(vm_size: str = "", vm_priority: str = "dedicated",
                                   min_nodes: int = 0, max_nodes: Optional[int] = 4,
                                   idle_seconds_before_scaledown: Optional[int] = 1800,
                                   admin_username: Optional[str] = None,
                                   admin_user_password: Optional[str] = None,
                                   admin_user_ssh_key: Optional[str] = None,
                                   vnet_resourcegroup_name: Optional[str] = None,
                                   vnet_name: Optional[str] = None, subnet_name: Optional[str] = None,
                                   tags: Optional[Dict[str, str]] = None,
                                   description: Optional[str] = None,
                                   remote_login_port_public_access: str = "NotSpecified",
                                   identity_type: Optional[str] = None,
                                   identity_id: Optional[List[str]] = None,
                                   location: Optional[str] = None,
                                   enable_node_public_ip: bool = True
                                   ) -> AmlComputeProvisioningConfiguration:
        """A cluster's configuration for :meth:`ComputeTarget.create`. ``vm_size`` picks the
        node shape from the server's catalogue (``gantry compute sizes``; '' takes the
        server's default); ``max_nodes`` is how many jobs run at once. Networking, identity,
        login and priority settings are accepted for compatibility and have no effect."""
        return AmlComputeProvisioningConfiguration(
            vm_size=vm_size, vm_priority=vm_priority, min_nodes=min_nodes, max_nodes=max_nodes,
            idle_seconds_before_scaledown=idle_seconds_before_scaledown,
            admin_username=admin_username, admin_user_password=admin_user_password,
            admin_user_ssh_key=admin_user_ssh_key, vnet_resourcegroup_name=vnet_resourcegroup_name,
            vnet_name=vnet_name, subnet_name=subnet_name, tags=tags, description=description,
            remote_login_port_public_access=remote_login_port_public_access,
            identity_type=identity_type, identity_id=identity_id, location=location,
            enable_node_public_ip=enable_node_public_ip)

    @property
    def scale_settings(self) -> ScaleSettings:
        return ScaleSettings(self._data.get("min_nodes", 0), self._data.get("max_nodes", 0),
                             self._data.get("idle_seconds_before_scaledown"))

    @property
    def vm_priority(self) -> str:
        return "dedicated"

    @property
    def cluster_location(self) -> str:
        return "local"

    def wait_for_completion(self, show_output: bool = False, min_node_count: Optional[int] = None,
                            timeout_in_minutes: int = 20, is_delete_operation: bool = False) -> None:
        """Waits until the cluster is provisioned (with ``min_node_count`` nodes). A Gantry
        cluster is ready as soon as it is created, so this returns at once; with
        ``show_output`` it prints the provisioning outcome as Azure ML does."""
        if not is_delete_operation:
            self.refresh_state()
            if self.provisioning_state not in ("Succeeded", ""):
                raise ComputeTargetException("compute target %s is %s"
                                             % (self.name, self.provisioning_state))
        if show_output:
            _print_provisioned(self, min_node_count)

    def get_status(self) -> "AmlComputeStatus":
        """The cluster's state now: ``current_node_count`` is the jobs running on it."""
        return super().get_status()


class AmlComputeStatus:
    """A compute target's state: ``provisioning_state``, ``allocation_state`` (always
    ``"Steady"``), ``current_node_count`` (jobs active on it now), ``target_node_count``,
    ``queued_job_count``, ``node_state_counts`` and ``scale_settings``; ``serialize()``
    gives Azure's dict shape."""

    def __init__(self) -> None:
        self.provisioning_state = ""
        self.provisioning_errors: List[Any] = []
        self.allocation_state = "Steady"
        self.current_node_count = 0
        self.target_node_count = 0
        self.queued_job_count = 0
        self.node_state_counts: Dict[str, int] = {}
        self.scale_settings: Optional[ScaleSettings] = None
        self.vm_size = ""
        self.vm_priority = "dedicated"
        self.creation_time = ""

    @classmethod
    def _of(cls, target: ComputeTarget) -> "AmlComputeStatus":
        s = cls()
        data = target._data
        client = target._workspace._client()
        counts = {}
        for status in _ACTIVE_STATUSES + ("Queued",):
            runs = (client.get(_paths.runs(), {"status": status, "limit": 1000000}) or {}).get("runs") or []
            counts[status] = sum(1 for r in runs if r.get("compute") == target.name)
        active = sum(counts[st] for st in _ACTIVE_STATUSES)
        s.provisioning_state = data.get("provisioning_state", "")
        s.current_node_count = s.target_node_count = active
        s.queued_job_count = counts["Queued"]
        s.node_state_counts = {"idleNodeCount": 0, "runningNodeCount": counts["Running"],
                               "preparingNodeCount": active - counts["Running"],
                               "unusableNodeCount": 0, "leavingNodeCount": 0,
                               "preemptedNodeCount": 0}
        s.scale_settings = ScaleSettings(data.get("min_nodes", 0), data.get("max_nodes", 0),
                                         data.get("idle_seconds_before_scaledown"))
        s.vm_size = data.get("vm_size", "")
        s.creation_time = data.get("created_at", "")
        return s

    def serialize(self) -> Dict[str, Any]:
        return {"currentNodeCount": self.current_node_count,
                "targetNodeCount": self.target_node_count,
                "nodeStateCounts": dict(self.node_state_counts),
                "allocationState": self.allocation_state,
                "errors": None, "creationTime": self.creation_time,
                "provisioningState": self.provisioning_state,
                "provisioningErrors": None,
                "scaleSettings": self.scale_settings.serialize() if self.scale_settings else None,
                "vmPriority": self.vm_priority.capitalize(), "vmSize": self.vm_size,
                "queuedJobCount": self.queued_job_count}

    def __repr__(self) -> str:
        return "AmlComputeStatus(%r)" % (self.serialize(),)


def _class_for(kind: Any) -> type:
    return AmlCompute if kind == AmlCompute._type else ComputeTarget


def _print_provisioned(target: ComputeTarget, min_node_count: Optional[int]) -> None:
    out = sys.stdout
    if target._just_created:
        out.write("Creating...\n")
    out.write('%sProvisioning operation finished, operation "%s"\n'
              % (target.provisioning_state, target.provisioning_state))
    out.write("%s\n%s wait for completion finished\n"
              % (target.provisioning_state, type(target).__name__))
    if min_node_count is not None:
        out.write("\nMinimum number of nodes requested have been provisioned\n")
    out.flush()
    target._just_created = False
