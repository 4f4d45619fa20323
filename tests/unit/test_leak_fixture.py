"""The leak detector behind the autouse ``no_leaked_tasks`` fixture."""

from __future__ import annotations

import asyncio

from tests.conftest import leaked_tasks


async def test_a_running_task_started_after_the_snapshot_is_a_leak() -> None:
    before = asyncio.all_tasks()
    task = asyncio.create_task(asyncio.Event().wait(), name="leaky")
    try:
        assert leaked_tasks(before) == [task]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert leaked_tasks(before) == []


async def test_finished_tasks_are_not_leaks() -> None:
    before = asyncio.all_tasks()
    await asyncio.create_task(asyncio.sleep(0))
    assert leaked_tasks(before) == []
