"""The WIM driver interface: what builds a connectivity service's data plane.

The WIM (``wim.manager.Wim``) decides everything a service is: its route, the
bandwidth it books and one VXLAN VNI per segment. A driver only makes that
real, or reports on it. It receives the whole ``ConnectivityHandle``:

- ``handle.endpoints``: the connection points to attach, each a node of the
  WAN graph with an optional interface and VLAN id;
- ``handle.segments``: per WAN link of the route, the two nodes it joins
  (``a``, ``b``), the link id and the segment's VNI;
- ``handle.bandwidth_mbps``: what the service may carry (for shaping);
- ``handle.created_items``: empty when realising; what ``realise`` returned
  for every other call.

Contract shared by every driver:

- ``realise`` returns what it created, by kind (e.g. ``{"netns": ("wim-3f…",),
  "vxlan": (…)}``), the created items the WIM stores with the handle. A
  ``realise`` that raises (or is cancelled) leaves nothing behind.
- ``remove`` is idempotent: removing what is already gone succeeds, so
  compensation can be retried blindly.
- ``adopt`` is called once per stored service when the node restarts, before
  any other call for it; it re-attaches to what ``realise`` created without
  creating or removing anything, and does not raise because it is gone
  (``status`` then says ``DOWN``).
- ``status`` never raises ``NotFound``: a service it does not hold is ``DOWN``.
- Errors are ``spfed.errors`` leaves; drivers translate their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from wim.services import ConnectivityHandle, ServiceStatus

__all__ = ["WimDriver"]


@runtime_checkable
class WimDriver(Protocol):
    """Builds and removes the data plane of connectivity services."""

    async def realise(self, handle: ConnectivityHandle) -> Mapping[str, tuple[str, ...]]:
        """Build the service's data plane; returns the created items, by kind.

        Raises:
            Unavailable: the data plane cannot be reached (temporary).
            Internal: building failed; nothing is left behind.
        """
        ...

    async def adopt(self, handle: ConnectivityHandle) -> None:
        """Take back a service realised before the node restarted; creates nothing."""
        ...

    async def remove(self, handle: ConnectivityHandle) -> None:
        """Remove everything ``realise`` created for the service; succeeds if already gone.

        Raises:
            Unavailable: the data plane cannot be reached (temporary).
        """
        ...

    async def status(self, handle: ConnectivityHandle) -> ServiceStatus:
        """The service's status now: ``ACTIVE``, ``DOWN`` (or gone), ``ERROR`` or ``BUILD``."""
        ...
