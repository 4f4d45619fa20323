from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import pytest

from lower_sp.local.vim import EmulatedPop, MemoryPopStateStore, PopStateStore
from spfed.model import Resources

CAPACITY = Resources(vcpus=8, memory_mib=8192, disk_gib=80)


class PopFactory(Protocol):
    def __call__(
        self,
        *,
        capacity: Resources = ...,
        on: PopStateStore | None = ...,
        boot_delay_ms: int = ...,
        clock: Callable[[], float] = ...,
    ) -> Awaitable[EmulatedPop]: ...


@pytest.fixture
def store() -> MemoryPopStateStore:
    return MemoryPopStateStore()


@pytest.fixture
async def make_pop(store: MemoryPopStateStore) -> AsyncIterator[PopFactory]:
    """Start an ``EmulatedPop`` named ``pop-a`` (on ``store`` unless given); closed at the end.

    Calling it twice on one store is a node restart.
    """
    started: list[EmulatedPop] = []

    async def make(
        *,
        capacity: Resources = CAPACITY,
        on: PopStateStore | None = None,
        boot_delay_ms: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> EmulatedPop:
        pop = EmulatedPop(
            "pop-a", "eu-west", capacity, on or store, boot_delay_ms=boot_delay_ms, clock=clock
        )
        await pop.start()
        started.append(pop)
        return pop

    yield make
    for pop in started:
        await pop.close()


@pytest.fixture
async def pop(make_pop: PopFactory) -> EmulatedPop:
    return await make_pop()
