"""Suite-wide fixtures: every async test fails if it leaves an asyncio task running.

Synchronous tests (most property tests) run no loop and are left alone, so they pay nothing.

Hypothesis runs derandomized by default, so that ``make test`` (and CI) gives the same
verdict on the same code; ``HYPOTHESIS_PROFILE=explore`` draws new examples each run,
to hunt for counterexamples.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import AsyncIterator, Set
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

__all__ = ["leaked_tasks"]

_SETTLE_TURNS = 3
"""Loop turns granted to tasks that were just cancelled or just finished."""


def leaked_tasks(before: Set[asyncio.Task[Any]]) -> list[asyncio.Task[Any]]:
    """Tasks of the running loop that are not done, were not in ``before`` and are not current."""
    current = asyncio.current_task()
    return [
        task
        for task in asyncio.all_tasks()
        if task not in before and task is not current and not task.done()
    ]


@pytest.fixture
async def _async_task_leak_guard() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    for _ in range(_SETTLE_TURNS):
        await asyncio.sleep(0)
    leaked = leaked_tasks(before)
    if leaked:
        for task in leaked:
            task.cancel()
        await asyncio.wait(leaked, timeout=1.0)
        names = ", ".join(sorted(task.get_name() for task in leaked))
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")


@pytest.fixture(autouse=True)
def no_leaked_tasks(request: pytest.FixtureRequest) -> None:
    """Fail an async test whose asyncio tasks are still running at its end.

    Leaked tasks are cancelled (so they do not spill into the next test) and named in the
    failure.
    """
    test = getattr(request.node, "obj", None)
    if test is not None and inspect.iscoroutinefunction(test):
        request.getfixturevalue("_async_task_leak_guard")
