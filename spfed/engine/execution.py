"""Running a task (or its compensator): one attempt, and attempts with retries.

``execute_once`` is the only place where task code is called, and it turns
everything the code can do into an ``Outcome``:

* returns: ``Succeeded``, with what the task body returned (its output);
* overruns its per-attempt deadline (whatever it then raises):
  ``TemporaryFailure(DeadlineExceeded("task X timed out after Ns"))``;
* raises a ``SpfedError`` with ``.temporary``: ``TemporaryFailure(error)``;
* raises another ``SpfedError``: ``PermanentFailure(error)``;
* raises anything else, a bug: ``PermanentFailure(Internal("task X crashed: ..."))``,
  chained to the exception, whose traceback is logged;
* is cancelled from outside: ``asyncio.CancelledError`` propagates.

``execute_with_retries`` repeats temporary failures with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from spfed.engine.outcome import Outcome, PermanentFailure, Succeeded, TemporaryFailure
from spfed.engine.registry import TaskDefinition
from spfed.errors import DeadlineExceeded, Internal, SpfedError

__all__ = ["execute_once", "execute_with_retries"]

C = TypeVar("C")

logger = logging.getLogger(__name__)


async def execute_once(
    definition: TaskDefinition[C],
    ctx: C,
    timeout_s: float | None,
    *,
    compensate: bool = False,
) -> Outcome:
    """Run one attempt of ``definition`` (or, with ``compensate``, of its compensator).

    ``timeout_s`` bounds this attempt only (``None``: no bound). A task
    without a compensator compensates trivially (``Succeeded``).

    Never raises, except ``asyncio.CancelledError`` when the calling task is
    cancelled; a ``CancelledError`` the task code raises on its own, without
    anyone cancelling it, is a crash like any other.
    """
    fn = definition.compensate if compensate else definition.run
    if fn is None:
        return Succeeded()
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            output = await fn(ctx)
    except asyncio.CancelledError as exc:
        current = asyncio.current_task()
        if current is None or current.cancelling():
            raise
        return _failure(definition.id, compensate, exc, timeout_s, expired=False)
    except Exception as exc:
        return _failure(definition.id, compensate, exc, timeout_s, expired=deadline.expired())
    return Succeeded(None if compensate else output)


async def execute_with_retries(
    definition: TaskDefinition[C],
    ctx: C,
    *,
    run_id: str,
    timeout_s: float | None,
    max_attempts: int,
    retry_delay_s: float,
    sleep: Callable[[float], Awaitable[object]],
    compensate: bool = False,
    before_attempt: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[Outcome, int]:
    """Run attempts until one succeeds, fails permanently, or ``max_attempts`` are used.

    ``before_attempt(n)`` is awaited before attempt ``n`` (1-based). After a
    temporary failure, waits ``delay_s`` if the outcome names one, else
    ``retry_delay_s * 2**(n - 1)``, through ``sleep``. Returns the last
    outcome and the number of attempts made; ``run_id`` only labels the logs.

    Never raises, except what ``before_attempt`` or ``sleep`` raise and
    ``asyncio.CancelledError``.
    """
    phase = "compensate" if compensate else "run"
    attempt = 0
    while True:
        attempt += 1
        if before_attempt is not None:
            await before_attempt(attempt)
        outcome = await execute_once(definition, ctx, timeout_s, compensate=compensate)
        if isinstance(outcome, Succeeded):
            logger.info(
                "task=%s run=%s phase=%s attempt=%d outcome=succeeded",
                definition.id,
                run_id,
                phase,
                attempt,
            )
            return outcome, attempt
        retry = isinstance(outcome, TemporaryFailure) and attempt < max_attempts
        logger.warning(
            "task=%s run=%s phase=%s attempt=%d outcome=%s error=%r",
            definition.id,
            run_id,
            phase,
            attempt,
            "temporary" if retry else "failed",
            outcome.error.describe(),
        )
        if not retry:
            return outcome, attempt
        delay_s = retry_delay_s * 2 ** (attempt - 1)
        if isinstance(outcome, TemporaryFailure) and outcome.delay_s is not None:
            delay_s = outcome.delay_s
        await sleep(delay_s)


def _failure(
    task: str, compensate: bool, exc: BaseException, timeout_s: float | None, *, expired: bool
) -> TemporaryFailure | PermanentFailure:
    """Classify what an attempt raised; see the table in the module docstring."""
    what = f"compensation of task {task}" if compensate else f"task {task}"
    if expired:  # whatever the code raised, it was answering our cancellation
        return TemporaryFailure(DeadlineExceeded(f"{what} timed out after {timeout_s:g}s"))
    if isinstance(exc, SpfedError):
        return TemporaryFailure(exc) if exc.temporary else PermanentFailure(exc)
    logger.error(
        "task=%s phase=%s outcome=crash error_type=%s",
        task,
        "compensate" if compensate else "run",
        type(exc).__name__,
        exc_info=exc,
    )
    error = Internal(f"{what} crashed: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return PermanentFailure(error)
