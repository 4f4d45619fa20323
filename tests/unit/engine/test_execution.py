"""One attempt of a task becomes an outcome; nothing but cancellation escapes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from spfed.engine import (
    PermanentFailure,
    Succeeded,
    TaskDefinition,
    TaskRegistry,
    TemporaryFailure,
    execute_once,
    execute_with_retries,
)
from spfed.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    ResourceExhausted,
    SpfedError,
    Unavailable,
)
from tests.unit.engine.fakes import Ctx, FakeSleep


def define(fn: object, *, compensate: object = None) -> TaskDefinition[Ctx]:
    tasks: TaskRegistry[Ctx] = TaskRegistry()
    definition = tasks.task("work")(fn)  # type: ignore[arg-type]
    if compensate is not None:
        definition = definition.compensator(compensate)  # type: ignore[arg-type]
    return definition


async def test_success() -> None:
    async def work(ctx: Ctx) -> None:
        ctx.log.append("ran")

    ctx = Ctx()
    assert await execute_once(define(work), ctx, 1.0) == Succeeded()
    assert ctx.log == ["ran"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (Unavailable("vim down"), TemporaryFailure),
        (ResourceExhausted("pop full"), PermanentFailure),
        (FailedPrecondition("no offer"), PermanentFailure),
    ],
)
async def test_domain_errors_are_classified_by_temporary(
    error: SpfedError, expected: type[TemporaryFailure | PermanentFailure]
) -> None:
    async def work(ctx: Ctx) -> None:
        raise error

    outcome = await execute_once(define(work), Ctx(), 1.0)
    assert isinstance(outcome, expected)
    assert outcome.error is error


async def test_overrunning_the_deadline_is_a_temporary_deadline_exceeded() -> None:
    async def work(ctx: Ctx) -> None:
        await asyncio.Event().wait()

    outcome = await execute_once(define(work), Ctx(), 0.01)
    assert isinstance(outcome, TemporaryFailure)
    assert isinstance(outcome.error, DeadlineExceeded)
    assert outcome.error.message == "task work timed out after 0.01s"


async def test_code_answering_the_deadline_with_its_own_error_still_times_out() -> None:
    async def work(ctx: Ctx) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise FailedPrecondition("interrupted") from None

    outcome = await execute_once(define(work), Ctx(), 0.01)
    assert isinstance(outcome, TemporaryFailure)
    assert isinstance(outcome.error, DeadlineExceeded)


async def test_a_crash_is_internal_and_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def work(ctx: Ctx) -> None:
        _ = 1 / 0

    with caplog.at_level(logging.ERROR, logger="spfed.engine"):
        outcome = await execute_once(define(work), Ctx(), 1.0)
    assert isinstance(outcome, PermanentFailure)
    assert isinstance(outcome.error, Internal)
    assert outcome.error.message == "task work crashed: ZeroDivisionError: division by zero"
    assert isinstance(outcome.error.__cause__, ZeroDivisionError)
    [record] = caplog.records
    assert record.getMessage() == "task=work phase=run outcome=crash error_type=ZeroDivisionError"
    assert record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


async def test_the_codes_own_timeout_error_is_a_crash_not_a_deadline() -> None:
    async def work(ctx: Ctx) -> None:
        raise TimeoutError("socket read")

    outcome = await execute_once(define(work), Ctx(), 1.0)
    assert isinstance(outcome, PermanentFailure)
    assert isinstance(outcome.error, Internal)


async def test_a_stray_cancelled_error_without_cancellation_is_a_crash() -> None:
    async def work(ctx: Ctx) -> None:
        raise asyncio.CancelledError

    outcome = await execute_once(define(work), Ctx(), 1.0)
    assert isinstance(outcome, PermanentFailure)
    assert "crashed: CancelledError" in outcome.error.message


async def test_cancellation_from_outside_propagates() -> None:
    started = asyncio.Event()

    async def work(ctx: Ctx) -> None:
        started.set()
        await asyncio.Event().wait()

    attempt = asyncio.create_task(execute_once(define(work), Ctx(), None))
    await started.wait()
    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt


async def test_compensate_runs_the_compensator_or_succeeds_without_one() -> None:
    async def work(ctx: Ctx) -> None:
        ctx.log.append("run")

    async def undo(ctx: Ctx) -> None:
        raise Unavailable("vim down")

    ctx = Ctx()
    assert await execute_once(define(work), ctx, 1.0, compensate=True) == Succeeded()
    outcome = await execute_once(define(work, compensate=undo), ctx, 1.0, compensate=True)
    assert isinstance(outcome, TemporaryFailure)
    assert ctx.log == []


async def test_compensation_timeout_names_the_compensation() -> None:
    async def work(ctx: Ctx) -> None:
        return None

    async def undo(ctx: Ctx) -> None:
        await asyncio.Event().wait()

    outcome = await execute_once(define(work, compensate=undo), Ctx(), 0.01, compensate=True)
    assert isinstance(outcome, TemporaryFailure)
    assert outcome.error.message == "compensation of task work timed out after 0.01s"


async def test_retries_back_off_exponentially_through_the_injected_sleep() -> None:
    calls: list[int] = []

    async def work(ctx: Ctx) -> None:
        calls.append(len(calls) + 1)
        if len(calls) < 4:
            raise Unavailable("try later")

    sleep = FakeSleep()
    outcome, attempts = await execute_with_retries(
        define(work),
        Ctx(),
        run_id="r1",
        timeout_s=1.0,
        max_attempts=5,
        retry_delay_s=0.5,
        sleep=sleep,
    )
    assert outcome == Succeeded()
    assert attempts == 4
    assert sleep.delays == [0.5, 1.0, 2.0]
