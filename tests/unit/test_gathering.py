"""gather_all: one failure cancels the rest and surfaces unwrapped."""

from __future__ import annotations

import asyncio

import pytest

from spfed.errors import Unavailable
from spfed.gathering import gather_all


async def test_results_come_back_in_order() -> None:
    async def value(v: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return v

    assert await gather_all(value(1, 0.02), value(2, 0.0)) == [1, 2]
    assert await gather_all() == []


async def test_a_failure_cancels_the_siblings_and_is_raised_as_is() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    async def fail() -> int:
        await asyncio.sleep(0.01)
        raise Unavailable("lower SP gone")

    with pytest.raises(Unavailable, match="lower SP gone"):
        await gather_all(slow(), fail())
    assert cancelled.is_set()


async def test_cancelling_the_caller_cancels_and_awaits_every_child() -> None:
    finished: list[str] = []

    async def child(name: str) -> None:
        try:
            await asyncio.sleep(10)
        finally:
            await asyncio.sleep(0.01)  # cleanup that must complete
            finished.append(name)

    outer = asyncio.ensure_future(gather_all(child("a"), child("b")))
    await asyncio.sleep(0.01)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert sorted(finished) == ["a", "b"]
