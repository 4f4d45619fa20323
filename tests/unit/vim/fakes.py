"""Test doubles behind the project's own interfaces (``PopStateStore``), and a clock."""

from __future__ import annotations

import asyncio

from lower_sp.local.vim import EmulatedResource, MemoryPopStateStore
from spfed.errors import Unavailable


class YieldingStore(MemoryPopStateStore):
    """A memory store that yields to the event loop before every call.

    Real stores await I/O; yielding lets concurrent PoP calls interleave at
    the write, which is where an unlocked PoP would over-book.
    """

    async def load(self, pop: str) -> list[EmulatedResource]:
        await asyncio.sleep(0)
        return await super().load(pop)

    async def put(self, pop: str, resource: EmulatedResource) -> None:
        await asyncio.sleep(0)
        await super().put(pop, resource)

    async def delete(self, pop: str, kind: str, resource_id: str) -> None:
        await asyncio.sleep(0)
        await super().delete(pop, kind, resource_id)


class FailingStore(MemoryPopStateStore):
    """A memory store whose writes fail while ``failing`` is set, changing nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.failing = False

    def _check(self) -> None:
        if self.failing:
            raise Unavailable("store is down")

    async def put(self, pop: str, resource: EmulatedResource) -> None:
        self._check()
        await super().put(pop, resource)

    async def delete(self, pop: str, kind: str, resource_id: str) -> None:
        self._check()
        await super().delete(pop, kind, resource_id)


class FakeClock:
    """Wall-clock seconds that move only when told."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
