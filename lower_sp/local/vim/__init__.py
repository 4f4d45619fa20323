"""VIMs: the interface to a point of presence, its drivers, and the embedded emulated PoP.

- ``base``: the ``Vim`` protocol with its requests and handles.
- ``registry``: drivers by name, built in or installed through entry points.
- ``emulated``: ``EmulatedPop``, the default driver; with the ``netns`` option
  it runs VNFs in network namespaces (``NetnsPlacement``, ``with_netns_node``).
- ``state``: where the emulated PoP persists its state.
"""

from lower_sp.local.vim.base import (
    CHAIN_DOWNSTREAM_KEY,
    CHAIN_UPSTREAM_KEY,
    TAG_PATTERN,
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
    ServerStatus,
    TaggedResources,
    Vim,
    VimCapacity,
)
from lower_sp.local.vim.emulated import EmulatedPop
from lower_sp.local.vim.emulated._options import NetnsPlacement, with_netns_node
from lower_sp.local.vim.registry import (
    BUILTIN_VIM_DRIVERS,
    VIM_DRIVER_ENTRY_POINT_GROUP,
    UnknownVimDriver,
    VimDriver,
    VimDriverRegistry,
)
from lower_sp.local.vim.state import EmulatedResource, MemoryPopStateStore, PopStateStore

__all__ = [
    "BUILTIN_VIM_DRIVERS",
    "CHAIN_DOWNSTREAM_KEY",
    "CHAIN_UPSTREAM_KEY",
    "TAG_PATTERN",
    "VIM_DRIVER_ENTRY_POINT_GROUP",
    "EmulatedPop",
    "EmulatedResource",
    "MemoryPopStateStore",
    "NetnsPlacement",
    "NetworkHandle",
    "NetworkRequest",
    "PopStateStore",
    "PortHandle",
    "PortRequest",
    "ServerHandle",
    "ServerRequest",
    "ServerStatus",
    "TaggedResources",
    "UnknownVimDriver",
    "Vim",
    "VimCapacity",
    "VimDriver",
    "VimDriverRegistry",
    "with_netns_node",
]
