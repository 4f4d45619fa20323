"""Running awaitables together, so that one failure stops the rest.

``asyncio.gather`` leaves the other awaitables running when one fails: a
sibling delegation would go on creating a sub-service while compensation
already runs. ``TaskGroup`` cancels them, but wraps errors in an
``ExceptionGroup``, which the task engine cannot classify. ``gather_all``
cancels the rest, waits until they are done, and raises the first error as it
was raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Collection
from typing import Any, TypeVar

__all__ = ["gather_all"]

T = TypeVar("T")


async def gather_all(*awaitables: Awaitable[T]) -> list[T]:
    """Results of every awaitable, in order; on the first failure, cancel the rest and raise.

    Cancelling the caller cancels them all, and waits until they finished.
    """
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    if not tasks:
        return []
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        await _cancel(tasks)
        raise
    failed = [t for t in tasks if t in done and not t.cancelled() and t.exception() is not None]
    if failed:
        await _cancel(list(pending))
        error = failed[0].exception()
        assert error is not None
        raise error
    return [t.result() for t in tasks]


async def _cancel(tasks: Collection[asyncio.Future[Any]]) -> None:
    for task in tasks:
        task.cancel()
    while tasks:
        try:
            await asyncio.wait(tasks)
            break
        except asyncio.CancelledError:
            continue  # finish waiting: a caller must not outlive its children
