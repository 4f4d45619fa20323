"""What the lifecycle's tasks work with: the node's collaborators, in one place."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lower_sp.local.handles import HandleRecords
from lower_sp.local.vim import Vim
from spfed.config import NodeConfig
from spfed.descriptors import DescriptorSet
from spfed.engine import WorkflowPlugin
from spfed.engine.runner import FaultHook
from spfed.lifecycle.admission_control import AdmissionWorker
from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.events import EventLog
from spfed.lifecycle.intents import IntentStore
from spfed.metrics import NodeMetrics
from spfed.model import Catalogue, DescriptorRef, OfferKind
from spfed.storage import ServiceRunStore, ServiceStore
from upper_sp.delegation import LowerSp
from wim import Wim

__all__ = ["NodeRuntime"]


@dataclass
class NodeRuntime:
    """The collaborators of one node, assembled by the composition root."""

    node_id: str
    """This node's operator id."""
    config: NodeConfig
    """Its configuration."""
    services: ServiceStore
    """Service records, operations, parts and event logs."""
    progress: ServiceRunStore
    """The workflow progress of their operations (``services.progress``)."""
    handles: HandleRecords
    """Handles of created VIM resources."""
    intents: IntentStore
    """Effects announced before they are made (``spfed.lifecycle.intents``)."""
    events: EventLog
    """Event logs and live watchers."""
    blocks: ServiceBlocks
    """Address blocks of top-level services."""
    vims: Mapping[str, Vim]
    """Own PoPs by name."""
    lowers: Mapping[str, LowerSp]
    """Lower SPs by id."""
    onboarded: DescriptorSet
    """Descriptors onboarded at this node."""
    lower_catalogues: Callable[[], Mapping[str, Catalogue | None]]
    """Latest catalogue of each lower SP."""
    capacity_changed: Callable[[], None]
    """Tell the catalogue publisher that capacity changed."""
    withdrawn: Callable[[], frozenset[tuple[OfferKind, DescriptorRef]]] = frozenset
    """Offers the operator withdrew: placement leaves them out."""
    plugins: list[WorkflowPlugin[Any]] = field(default_factory=list)
    """Service-specific plug-ins."""
    wim: Wim | None = None
    """The node's WAN infrastructure manager, when it has one (``wim.enabled``)."""
    admission: AdmissionWorker = field(default_factory=AdmissionWorker)
    """Where the CPU-bound work of admission and planning runs, off the event loop."""
    fault_hook: FaultHook | None = None
    """Crash injection for the crash tests (``spfed.faults``); ``None`` in production."""
    metrics: NodeMetrics | None = None
    """Where workflow runs and tasks are timed (``spfed.lifecycle.metering``); ``None``: not."""

    @property
    def origin(self) -> tuple[str, ...]:
        """Origin path of events this node emits."""
        return (self.node_id,)
