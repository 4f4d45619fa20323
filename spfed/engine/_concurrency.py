"""Structured concurrency for one step: run children, stop at the first failure or abort.

No child outlives the call that started it, whatever happens to the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from spfed.engine.ids import TaskId
from spfed.errors import SpfedError

__all__ = ["StepEnd", "cancel_and_wait", "run_concurrently"]


@dataclass(frozen=True)
class StepEnd:
    """How ``run_concurrently`` ended."""

    failed: TaskId | None = None
    """The first child, in the given order, that returned an error."""
    error: SpfedError | None = None
    """That error."""
    aborted: bool = False
    """Whether the abort event stopped the step (and no child failed first)."""
    cancelled: tuple[TaskId, ...] = ()
    """Children cancelled before they finished, in the given order."""


async def run_concurrently(
    children: Mapping[TaskId, Coroutine[Any, Any, SpfedError | None]],
    abort: asyncio.Event | None,
    *,
    name: str,
) -> StepEnd:
    """Run each coroutine as a child task; a child reports failure by returning an error.

    Returns when all children have finished, or when one fails or ``abort``
    is set; in the latter cases the others are cancelled first and waited for.

    Raises:
        Exception: what a child raised, once the others are cancelled and finished.
        asyncio.CancelledError: the caller was cancelled; the children are
            cancelled and finished first.
    """
    tasks = {key: asyncio.create_task(coro, name=f"{name}/{key}") for key, coro in children.items()}
    aborted = asyncio.create_task(abort.wait(), name=f"{name}/abort") if abort else None
    watched: set[asyncio.Task[Any]] = {*tasks.values(), *([aborted] if aborted else [])}
    failed: TaskId | None = None
    error: SpfedError | None = None
    abort_seen = False
    try:
        while error is None and not abort_seen and not all(t.done() for t in tasks.values()):
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            watched -= done
            for key, task in tasks.items():
                result = task.result() if task in done else None
                if result is not None and error is None:
                    failed, error = key, result
            abort_seen = error is None and aborted is not None and aborted in done
        in_flight = [task for task in tasks.values() if not task.done()]
        await cancel_and_wait(in_flight)
        for task in in_flight:
            if not task.cancelled():
                task.result()  # raises what a child raised while being cancelled
        cancelled = tuple(key for key, task in tasks.items() if task.cancelled())
        return StepEnd(failed, error, abort_seen, cancelled)
    finally:
        await cancel_and_wait([*tasks.values(), *([aborted] if aborted else [])])


async def cancel_and_wait(tasks: Collection[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and return once every one of them has finished.

    Being cancelled meanwhile does not cut the wait short, so no task outlives
    the caller; the cancellation is re-raised once all have finished. Their
    exceptions are marked as retrieved (the caller inspects them if it cares).
    A task that ignores cancellation keeps the caller waiting.
    """
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    interrupted = False
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            interrupted = True
    for task in tasks:
        if not task.cancelled():
            task.exception()
    if interrupted:
        raise asyncio.CancelledError
