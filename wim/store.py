"""Where the WIM keeps its connectivity services, so that they survive a restart.

``Wim`` saves a service's handle once it is realised, deletes it once it is
removed, and loads every one at start-up to book its bandwidth and VNIs
again. The WIM owns this port and the types it speaks (``ConnectivityHandle``);
the node injects the SQL adapter of its storage layer
(``spfed.storage.WimConnectivityStore``), which sits above the roles and
imports them; tests use one in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from wim.services import ConnectivityHandle

__all__ = ["BookingStore"]


class BookingStore(Protocol):
    """Durable storage of the WIM's connectivity services, keyed by service id.

    Contract: a call that returns has made its change durable; a call that
    raises has made none.
    """

    async def load(self) -> Sequence[ConnectivityHandle]:
        """Every service saved and not deleted, in any order.

        Raises:
            FailedPrecondition: a stored service is not readable (an unknown type).
        """
        ...

    async def save(self, handle: ConnectivityHandle) -> None:
        """Insert the service, or replace the one saved with that id.

        Raises:
            AlreadyExists: another service holds one of its VNIs.
        """
        ...

    async def delete(self, service_id: str) -> None:
        """Remove the service with that id; succeeds if absent."""
        ...
