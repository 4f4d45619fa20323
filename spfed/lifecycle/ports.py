"""What each lifecycle task may touch: narrow views of the node's collaborators.

Every task of the instantiate workflow (and the compensators terminate runs)
binds its context's ``NodeRuntime`` to one of these protocols and uses only
that; every helper it calls takes the narrowest one it needs. So mypy proves
which collaborators each task touches, and a test can run a task or a helper
with a small object that has only those members. Members are read-only
properties: ``NodeRuntime``'s dataclass fields satisfy them structurally.

Who uses which (a port extends those in brackets):

    validate                         ValidatePorts (AdmissionPorts)
    place                            PlacePorts (AdmissionPorts)
    plan_addresses, verify_addresses AddressPorts (NodeIdentity)
    deploy_local                     DeployPorts (UndeployPorts, EventPorts, FaultPorts)
    delegate_subservices             DelegationPorts (ReleasePorts, FaultPorts)
    connect_wan                      WanPorts (WanReleasePorts, EventPorts)
    activate                         ActivatePorts
    undeploy_local                   UndeployPorts (NodeIdentity)
    release_subservices, release.py  ReleasePorts (EventPorts)
    disconnect_wan                   WanReleasePorts
    reconcile_intents                UndoPorts (UndeployPorts, ReleasePorts, WanReleasePorts)
    EventRelay                       EventPorts (NodeIdentity)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from lower_sp.local.handles import HandleRecords
from lower_sp.local.vim import Vim
from spfed.config import NodeConfig
from spfed.descriptors import DescriptorSet
from spfed.engine.runner import FaultHook
from spfed.lifecycle.admission_control import AdmissionWorker
from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.events import EventLog
from spfed.lifecycle.intents import IntentStore
from spfed.model import Catalogue, DescriptorRef, OfferKind
from spfed.storage import ServiceStore
from upper_sp.delegation import LowerSp
from wim import Wim

__all__ = [
    "ActivatePorts",
    "AddressPorts",
    "AdmissionPorts",
    "DelegationPorts",
    "DeployPorts",
    "EventPorts",
    "FaultPorts",
    "NodeIdentity",
    "PlacePorts",
    "ReleasePorts",
    "UndeployPorts",
    "UndoPorts",
    "ValidatePorts",
    "WanPorts",
    "WanReleasePorts",
]

# --- shared pieces --------------------------------------------------------------------


class NodeIdentity(Protocol):
    """Who this node is: what intent keys and request ids are derived from."""

    @property
    def node_id(self) -> str:
        """This node's operator id."""
        ...


class EventPorts(NodeIdentity, Protocol):
    """Emitting a service's events, and relaying those of its sub-services."""

    @property
    def origin(self) -> tuple[str, ...]:
        """Origin path of events this node emits."""
        ...

    @property
    def events(self) -> EventLog:
        """Event logs and live watchers."""
        ...


class FaultPorts(Protocol):
    """The crash tests' hook, for tasks that make effects one by one (``mid_effect``)."""

    @property
    def fault_hook(self) -> FaultHook | None:
        """Crash injection; ``None`` in production."""
        ...


# --- admission: validate, place -------------------------------------------------------


class AdmissionPorts(Protocol):
    """What the tasks run inside the InstantiateService call share: limits, the lower
    SPs' catalogues and the admission worker."""

    @property
    def config(self) -> NodeConfig:
        """The node's configuration."""
        ...

    @property
    def lower_catalogues(self) -> Callable[[], Mapping[str, Catalogue | None]]:
        """Latest catalogue of each lower SP."""
        ...

    @property
    def admission(self) -> AdmissionWorker:
        """Where the CPU-bound work of admission and planning runs."""
        ...


class ValidatePorts(AdmissionPorts, Protocol):
    """``validate``: resolves the request against the onboarded descriptors too."""

    @property
    def onboarded(self) -> DescriptorSet:
        """Descriptors onboarded at this node."""
        ...


class PlacePorts(AdmissionPorts, Protocol):
    """``place``: reads the PoPs' capacity and the offers of the lower SPs."""

    @property
    def vims(self) -> Mapping[str, Vim]:
        """Own PoPs by name."""
        ...

    @property
    def lowers(self) -> Mapping[str, LowerSp]:
        """Lower SPs by id."""
        ...

    @property
    def withdrawn(self) -> Callable[[], frozenset[tuple[OfferKind, DescriptorRef]]]:
        """Offers the operator withdrew."""
        ...


# --- addresses: plan_addresses (and its compensator), verify_addresses ---------------


class AddressPorts(NodeIdentity, Protocol):
    """``plan_addresses`` and its compensator, ``verify_addresses``: the node's pools and
    the service's record."""

    @property
    def config(self) -> NodeConfig:
        """The node's configuration."""
        ...

    @property
    def blocks(self) -> ServiceBlocks:
        """Address blocks of top-level services."""
        ...

    @property
    def services(self) -> ServiceStore:
        """Service records."""
        ...

    @property
    def intents(self) -> IntentStore:
        """The intent journal (an open delegation keeps the block)."""
        ...

    @property
    def lowers(self) -> Mapping[str, LowerSp]:
        """Lower SPs by id."""
        ...

    @property
    def admission(self) -> AdmissionWorker:
        """Where planning runs, off the event loop."""
        ...


# --- undoing effects (spfed.lifecycle.undo, release) ----------------------------------


class UndeployPorts(NodeIdentity, Protocol):
    """Finding and undoing a service's local parts: their handles, tags and intents."""

    @property
    def vims(self) -> Mapping[str, Vim]:
        """Own PoPs by name."""
        ...

    @property
    def handles(self) -> HandleRecords:
        """Handles of created VIM resources."""
        ...

    @property
    def services(self) -> ServiceStore:
        """Service records and their parts."""
        ...

    @property
    def intents(self) -> IntentStore:
        """The intent journal."""
        ...

    @property
    def capacity_changed(self) -> Callable[[], None]:
        """Tell the catalogue publisher that capacity changed."""
        ...


class ReleasePorts(EventPorts, Protocol):
    """Finding and releasing the sub-services of delegated parts."""

    @property
    def config(self) -> NodeConfig:
        """The node's configuration (``federation.delegation_timeout_s``)."""
        ...

    @property
    def lowers(self) -> Mapping[str, LowerSp]:
        """Lower SPs by id."""
        ...

    @property
    def services(self) -> ServiceStore:
        """Service records and their parts."""
        ...

    @property
    def intents(self) -> IntentStore:
        """The intent journal."""
        ...


class WanReleasePorts(Protocol):
    """Releasing a service's WAN bookings."""

    @property
    def wim(self) -> Wim | None:
        """The node's WIM, when it has one."""
        ...

    @property
    def intents(self) -> IntentStore:
        """The intent journal."""
        ...


class UndoPorts(UndeployPorts, ReleasePorts, WanReleasePorts, Protocol):
    """Undoing any effect: the start-up reconciliation of the intent journal."""


# --- making effects: deploy_local, delegate_subservices, connect_wan, activate --------


class DeployPorts(UndeployPorts, EventPorts, FaultPorts, Protocol):
    """``deploy_local``: creates on the PoPs what ``UndeployPorts`` undoes, and reports it."""


class DelegationPorts(ReleasePorts, FaultPorts, Protocol):
    """``delegate_subservices``: sends what ``ReleasePorts`` releases, and relays its events."""


class WanPorts(WanReleasePorts, EventPorts, Protocol):
    """``connect_wan``: books what ``WanReleasePorts`` releases, through the node's borders."""

    @property
    def config(self) -> NodeConfig:
        """The node's configuration (``catalogue.borders``)."""
        ...


class ActivatePorts(Protocol):
    """``activate``: waits for the servers on the PoPs."""

    @property
    def config(self) -> NodeConfig:
        """The node's configuration (``workflow.task_timeout_s``)."""
        ...

    @property
    def vims(self) -> Mapping[str, Vim]:
        """Own PoPs by name."""
        ...
