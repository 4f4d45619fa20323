"""How much admission work may run at once, and where it runs.

``AdmissionWorker`` runs the CPU-bound stages of admission (descriptor
checks, graph building, placement, address planning) away from the event
loop, under a deadline, so the node keeps serving other callers meanwhile.

By default they run in a worker *process* (``limits.admission_processes``).
Threads were not enough: a busy admission thread holds the GIL for up to the
switch interval at a time, and the event loop, which gives the GIL up at
every socket and epoll call, waited that long to take it back each time (the
convoy effect). Under one customer's storm of maximal requests another
caller's GetCatalogue then took 70-150 ms at p99; with the stages in a
process of their own it took under 30 ms (docs/benchmarks.md). The pool is
one per process, shared by every node in it (a test process runs many), and
started on first use: starting a worker costs about a second of imports.
A stage that outlives its deadline has its worker process ended, so it
cannot hold the pool; a new worker takes its place. With
``admission_processes: 0`` the stages run on threads of the node's process.
A small request (``limits.admission_inline_below``) is admitted on the event
loop itself: its stages take well under a millisecond, less than a trip to
the worker and back (which, three stages at each level of a federation, made
the demo service's instantiation 20-30% slower).

``AccountGate`` bounds the admissions one account has in progress; the
excess is refused at once (RESOURCE_EXHAUSTED with a retry delay) rather
than queued, so one customer's storm cannot fill the worker's queue.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import importlib
import multiprocessing
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from pebble import ProcessPool

from spfed.errors import DeadlineExceeded, QuotaViolation, ResourceExhausted

__all__ = ["AccountGate", "AdmissionWorker"]

P = ParamSpec("P")
T = TypeVar("T")

ADMISSION_THREADS = 2
"""Threads of the in-process pool (``admission_processes: 0``). More would not
compute faster (the GIL), and each busy one lengthens the loop's wait for it."""

_pools: dict[int, ProcessPool] = {}
_pools_lock = threading.Lock()


def _process_pool(processes: int) -> ProcessPool:
    """This process's pool of ``processes`` admission workers, started on first use.

    ``spawn``, not ``fork``: the node's process runs gRPC's threads, which a
    forked child would inherit in an undefined state.
    """
    with _pools_lock:
        pool = _pools.get(processes)
        if pool is None or not pool.active:
            pool = ProcessPool(max_workers=processes, context=multiprocessing.get_context("spawn"))
            _pools[processes] = pool
        return pool


@atexit.register
def _stop_pools() -> None:
    with _pools_lock:
        for pool in _pools.values():
            pool.stop()  # type: ignore[no-untyped-call]  # pebble leaves it unannotated
            pool.join(timeout=5)
        _pools.clear()


_STAGES = "spfed.lifecycle.admission"
"""The module of the admission stages, and through it everything they import."""


def _import_stages() -> None:
    """In a worker: import the stages now, not at the first admission."""
    importlib.import_module(_STAGES)


class AdmissionWorker:
    """Runs pure admission stages away from the event loop, one deadline each.

    With ``processes`` > 0 a stage and its arguments must pickle (module-level
    functions, the domain's dataclasses and errors); a stage past its deadline
    has its worker process ended. With 0 it runs on one of the node's
    ``ADMISSION_THREADS`` threads, which cannot be interrupted: the caller gets
    DEADLINE_EXCEEDED at the deadline and the thread runs on until it ends.
    """

    def __init__(self, processes: int = 1, inline_below: int = 0) -> None:
        self._processes = processes
        self._inline_below = inline_below
        self._threads: ThreadPoolExecutor | None = None

    async def run(
        self,
        timeout_s: float,
        size: int,
        fn: Callable[P, T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """``fn(*args, **kwargs)`` in an admission worker; its result or its exception.

        ``size`` is the request's (``admission.request_size``): below the worker's
        ``inline_below`` the stage runs at once, on the caller's thread.

        Raises:
            DeadlineExceeded: it did not finish within ``timeout_s``
                (``limits.admission_timeout_s``), waiting for a worker included.
        """
        if size < self._inline_below:
            return fn(*args, **kwargs)
        try:
            async with asyncio.timeout(timeout_s):
                if self._processes > 0:
                    # Cancelling the wrapped future at the deadline ends the worker running it.
                    future = _process_pool(self._processes).schedule(fn, args, kwargs)
                    return await asyncio.wrap_future(future)
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._thread_pool(), functools.partial(fn, *args, **kwargs)
                )
        except TimeoutError:
            raise DeadlineExceeded(
                f"admission took longer than {timeout_s:g}s (limits.admission_timeout_s);"
                " the request is too large for this node"
            ) from None

    def start(self) -> None:
        """Start the worker processes now, and have them import the stages, without waiting.

        A worker takes about a second to start and import; a node's lifecycle calls
        this when it is made, so that its first admission does not wait for that.
        """
        if self._processes > 0:
            pool = _process_pool(self._processes)
            for _ in range(self._processes):
                pool.schedule(_import_stages)

    def _thread_pool(self) -> Executor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(
                ADMISSION_THREADS, thread_name_prefix="spfed-admission"
            )
        return self._threads

    def close(self) -> None:
        """Drop queued stages and let the node's threads end (running ones finish on their own).

        The process pool is the process's, shared with other nodes in it: it stops at exit.
        """
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None


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
