"""Bounded creations of a part (``lower_sp.local.leaves``): how many run at once, failure, cancel.

``deploy_part`` creates a part's networks, ports and servers through
``_bounded`` and ``_Creations``; these tests pin the contract they give it:
at most ``CREATIONS_PER_PART`` in flight, results in order, nothing new
started after a failure, and every started creation finished (so recorded)
even when the caller is cancelled.
"""

from __future__ import annotations

import asyncio

import pytest

from lower_sp.local.leaves import CREATIONS_PER_PART, CREATIONS_PER_VIM, _bounded, _Creations
from spfed.errors import ResourceExhausted


class Vim:
    """Counts concurrent creations; ``fail_at`` makes that item's creation raise."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.running = 0
        self.most = 0
        self.started: list[int] = []
        self.recorded: list[int] = []
        self.fail_at = fail_at

    async def create(self, item: int) -> int:
        self.started.append(item)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
            if item == self.fail_at:
                raise ResourceExhausted(f"no room for {item}")
            self.recorded.append(item)
            return item * 10
        finally:
            self.running -= 1


async def test_at_most_the_bound_in_flight_and_results_in_order() -> None:
    vim = Vim()
    creations = _Creations()
    items = list(range(CREATIONS_PER_PART * 5 + 3))

    results = await _bounded(items, lambda i: creations.run(vim.create(i)))

    assert results == [i * 10 for i in items]
    assert vim.most == CREATIONS_PER_PART
    assert sorted(vim.started) == items


async def test_parts_on_one_vim_share_its_bound() -> None:
    vim = Vim()
    slots = asyncio.Semaphore(CREATIONS_PER_VIM)
    parts = [list(range(p * 100, p * 100 + CREATIONS_PER_PART * 2)) for p in range(4)]

    results = await asyncio.gather(*(_bounded(items, vim.create, slots) for items in parts))

    assert results == [[i * 10 for i in items] for items in parts]
    assert vim.most == CREATIONS_PER_VIM  # four parts, yet no more than the VIM's bound


async def test_no_creation_starts_after_a_failure_and_started_ones_finish() -> None:
    vim = Vim(fail_at=CREATIONS_PER_PART + 1)
    creations = _Creations()
    items = list(range(CREATIONS_PER_PART * 10))

    with pytest.raises(ResourceExhausted):
        await _bounded(items, lambda i: creations.run(vim.create(i)))
    await creations.settle()

    assert len(vim.started) < len(items)  # stopped early
    assert vim.running == 0
    # Every creation that started, apart from the failed one, handed over its result.
    assert sorted(vim.recorded) == sorted(set(vim.started) - {CREATIONS_PER_PART + 1})


async def test_cancelled_caller_leaves_started_creations_to_finish() -> None:
    vim = Vim()
    creations = _Creations()
    items = list(range(CREATIONS_PER_PART * 4))
    caller = asyncio.ensure_future(_bounded(items, lambda i: creations.run(vim.create(i))))
    for _ in range(20):  # until the first creations are under way
        if vim.running:
            break
        await asyncio.sleep(0)
    assert vim.running > 0

    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await creations.settle()

    assert vim.running == 0
    assert 0 < len(vim.started) < len(items)
    assert sorted(vim.recorded) == sorted(vim.started)


async def test_empty_part() -> None:
    assert await _bounded([], Vim().create) == []
