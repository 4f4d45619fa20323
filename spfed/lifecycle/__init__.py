"""The service lifecycle: instantiate and terminate as workflows on the task engine.

The roles meet here: ``upper_sp`` places and delegates, ``lower_sp`` deploys
leaves onto VIMs, ``addressing`` plans, the engine runs and compensates, and
the storage layer records each step.
"""

from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.context import InstantiateContext, TerminateContext
from spfed.lifecycle.events import EventLog
from spfed.lifecycle.instantiate import INSTANTIATE, instantiate_tasks
from spfed.lifecycle.lifecycle import ServiceLifecycle
from spfed.lifecycle.runtime import NodeRuntime
from spfed.lifecycle.slices import SliceManager
from spfed.lifecycle.terminate import TERMINATE, terminate_registry

__all__ = [
    "INSTANTIATE",
    "TERMINATE",
    "EventLog",
    "InstantiateContext",
    "NodeRuntime",
    "ServiceBlocks",
    "ServiceLifecycle",
    "SliceManager",
    "TerminateContext",
    "instantiate_tasks",
    "terminate_registry",
]
