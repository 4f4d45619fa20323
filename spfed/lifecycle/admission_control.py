"""How much admission work may run at once, and where it runs.

``AdmissionWorker`` runs the CPU-bound stages of admission (descriptor
checks, graph building, placement, address planning) on a small pool of
threads of their own, under a deadline, so the event loop keeps serving
other callers meanwhile. Python threads share the GIL: a busy worker still
takes CPU from the loop, which is why the pool is small and the input is
bounded before any of it runs (``spfed.lifecycle.admission``).

``AccountGate`` bounds the admissions one account has in progress; the
excess is refused at once (RESOURCE_EXHAUSTED with a retry delay) rather
than queued, so one customer's storm cannot fill the worker's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from spfed.errors import DeadlineExceeded, QuotaViolation, ResourceExhausted

__all__ = ["AccountGate", "AdmissionWorker"]

P = ParamSpec("P")
T = TypeVar("T")

ADMISSION_THREADS = 2
"""Threads of the admission pool. More would not compute faster (the GIL), and
each busy one lengthens the loop's wait for the GIL."""


class AdmissionWorker:
    """Runs pure admission stages off the event loop, one deadline each.

    The pool is created on first use and closed by ``close``; a stage that
    outlives its deadline keeps its thread until it ends (threads cannot be
    interrupted), but its caller gets DEADLINE_EXCEEDED at the deadline and a
    stage still queued is dropped.
    """

    def __init__(self, threads: int = ADMISSION_THREADS) -> None:
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None

    async def run(
        self, timeout_s: float, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(*args, **kwargs)`` on an admission thread; its result or its exception.

        Raises:
            DeadlineExceeded: it did not finish within ``timeout_s``
                (``limits.admission_timeout_s``).
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="spfed-admission")
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        try:
            async with asyncio.timeout(timeout_s):
                return await loop.run_in_executor(self._pool, call)
        except TimeoutError:
            raise DeadlineExceeded(
                f"admission took longer than {timeout_s:g}s (limits.admission_timeout_s);"
                " the request is too large for this node"
            ) from None

    def close(self) -> None:
        """Drop queued stages and let the threads end (running ones finish on their own)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


class AccountGate:
    """At most ``limit`` admissions per account at once (the caller may name a larger one).

    Only accounts with an admission in progress have an entry, so memory is
    bounded by the calls in progress, not by how many accounts ever called.
    """

    def __init__(self, limit: int, retry_after_s: float) -> None:
        self._limit = limit
        self._retry_after_s = retry_after_s
        self._running: dict[str, int] = {}

    def running(self, account: str) -> int:
        """Admissions of ``account`` in progress."""
        return self._running.get(account, 0)

    @contextlib.asynccontextmanager
    async def admit(
        self, account: str, limit: int | None = None, setting: str = "admissions_per_account"
    ) -> AsyncIterator[None]:
        """Hold one of ``account``'s admission slots for the body.

        ``limit`` replaces the gate's own for this account (an upper SP's account
        gets more); ``setting`` is the configuration field named in the refusal.

        Raises:
            ResourceExhausted: ``account`` already holds ``limit`` slots; retry
                after ``retry_after_s``.
        """
        limit = self._limit if limit is None else limit
        held = self._running.get(account, 0)
        if held >= limit:
            raise ResourceExhausted(
                f"account {account} already has {held} instantiations being admitted"
                f" (limits.{setting} is {limit}); retry when one is answered",
                quota_violations=[
                    QuotaViolation(
                        f"account:{account}/admissions",
                        f"{held} in progress, at most {limit}",
                    )
                ],
                retry_after_s=self._retry_after_s,
            )
        self._running[account] = held + 1
        try:
            yield
        finally:
            left = self._running[account] - 1
            if left:
                self._running[account] = left
            else:
                del self._running[account]
