"""Fakes behind the WIM's own interfaces: a booking store in memory and a scriptable driver."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from spfed.errors import Internal, Unavailable
from wim import ConnectivityHandle, ServiceStatus


class MemoryBookingStore:
    """A ``BookingStore`` in memory; ``fail_saves`` / ``fail_deletes`` make the next calls fail."""

    def __init__(self) -> None:
        self.saved: dict[str, ConnectivityHandle] = {}
        self.fail_saves = 0
        self.fail_deletes = 0

    async def load(self) -> list[ConnectivityHandle]:
        return list(self.saved.values())

    async def save(self, handle: ConnectivityHandle) -> None:
        await asyncio.sleep(0)
        if self.fail_saves:
            self.fail_saves -= 1
            raise Unavailable("store down")
        self.saved[handle.service_id] = handle

    async def delete(self, service_id: str) -> None:
        await asyncio.sleep(0)
        if self.fail_deletes:
            self.fail_deletes -= 1
            raise Unavailable("store down")
        self.saved.pop(service_id, None)


@dataclass
class ScriptedDriver:
    """A ``WimDriver`` that records calls, yields to the loop, and fails when told to."""

    fail_realise: int = 0
    fail_remove: int = 0
    delay_s: float = 0.0
    items: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {"vxlan": ("vx0",)})
    live: dict[str, ConnectivityHandle] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)

    async def realise(self, handle: ConnectivityHandle) -> Mapping[str, tuple[str, ...]]:
        assert not handle.created_items
        await asyncio.sleep(self.delay_s)
        if self.fail_realise:
            self.fail_realise -= 1
            raise Internal("realise failed")
        self.live[handle.service_id] = handle
        return dict(self.items)

    async def adopt(self, handle: ConnectivityHandle) -> None:
        self.adopted.append(handle.service_id)
        self.live[handle.service_id] = handle

    async def remove(self, handle: ConnectivityHandle) -> None:
        await asyncio.sleep(self.delay_s)
        if self.fail_remove:
            self.fail_remove -= 1
            raise Unavailable("data plane unreachable")
        self.removed.append(handle.service_id)
        self.live.pop(handle.service_id, None)

    async def status(self, handle: ConnectivityHandle) -> ServiceStatus:
        return ServiceStatus.ACTIVE if handle.service_id in self.live else ServiceStatus.DOWN
