"""Relaying a sub-service's events up, under the service that delegated it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from spfed.gathering import gather_all
from spfed.lifecycle.context import RemotePart
from spfed.lifecycle.ports import EventPorts
from spfed.model import DelegatedPart, ServiceEvent

__all__ = ["EventRelay"]


class EventRelay:
    """Re-emits a lower SP's events under this service, origin prefixed.

    Events are appended without waiting (they land in order), so a burst
    from below shares transactions; ``flush`` waits for all of them. It
    remembers the last relayed sequence in ``remote``, so a later watch of the
    same sub-service (to release it) does not relay the same events twice.
    """

    def __init__(
        self,
        rt: EventPorts,
        service_id: str,
        operation_id: str,
        part: DelegatedPart,
        remote: RemotePart,
    ) -> None:
        self._rt = rt
        self._service_id = service_id
        self._operation_id = operation_id
        self._part = part
        self._remote = remote
        self._pending: list[asyncio.Future[list[ServiceEvent]]] = []

    async def __call__(self, event: ServiceEvent) -> None:
        relayed = replace(
            event,
            sequence=0,
            service_id=self._service_id,
            operation_id=self._operation_id,
            origin=(self._rt.node_id, *event.origin),
            part_id=str(self._part),
        )
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(self._rt.events.post(self._service_id, [relayed]))
        self._remote.last_sequence = max(self._remote.last_sequence, event.sequence)

    async def flush(self) -> None:
        """Wait until every relayed event is committed (a failed write raises here)."""
        pending, self._pending = self._pending, []
        await gather_all(*pending)
