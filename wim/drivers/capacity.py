"""The capacity-only driver: bandwidth bookkeeping without a data plane.

For nodes that run without root, and for tests. The WIM still computes routes,
books bandwidth and allocates VNIs; this driver builds nothing on the host,
returns no created items and never claims to carry a packet. Its status says
only whether the booking exists: ``ACTIVE`` from ``realise`` (or ``adopt``)
until ``remove``, ``DOWN`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping

from wim.services import ConnectivityHandle, ServiceStatus

__all__ = ["CapacityOnlyDriver"]


class CapacityOnlyDriver:
    """A ``WimDriver`` that keeps track of the services it holds, and nothing else."""

    def __init__(self) -> None:
        self._held: set[str] = set()

    async def realise(self, handle: ConnectivityHandle) -> Mapping[str, tuple[str, ...]]:
        """Hold the service; creates nothing, so returns no created items."""
        self._held.add(handle.service_id)
        return {}

    async def adopt(self, handle: ConnectivityHandle) -> None:
        """Hold a service restored after a restart."""
        self._held.add(handle.service_id)

    async def remove(self, handle: ConnectivityHandle) -> None:
        """Stop holding the service; succeeds if not held."""
        self._held.discard(handle.service_id)

    async def status(self, handle: ConnectivityHandle) -> ServiceStatus:
        """``ACTIVE`` while held, else ``DOWN``."""
        return ServiceStatus.ACTIVE if handle.service_id in self._held else ServiceStatus.DOWN
