"""Handles of the VIM resources a service holds: the type, the port, and a store in memory.

A handle is what the VIM needs to undo a creation. The lifecycle records each
one as soon as the VIM returns it (``spfed.lifecycle.instantiate``), so that
compensation after a failure or a crash deletes exactly what exists; what a
crash cuts off before its record is found by its tag
(``spfed.lifecycle.undo``). The node's database implements the port
(``spfed.storage.HandleStore``); ``InMemoryHandleStore`` serves unit tests.
A deployment writes through a ``HandleJournal``, its unit of work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["HandleJournal", "HandleRecords", "InMemoryHandleStore", "StoredHandle"]


@dataclass(frozen=True)
class StoredHandle:
    """One recorded VIM resource."""

    service_id: str
    """Service holding it."""
    part_id: str
    """Part holding it."""
    vim: str
    """PoP / VIM name."""
    kind: str
    """``network``, ``port`` or ``server``."""
    resource_id: str
    """The VIM's id."""
    handle: str
    """The serialised handle (``lower_sp.local.leaves.encode_handle``)."""


class HandleRecords(Protocol):
    """Where a node records the handles of what its VIMs created.

    ``add`` and ``remove`` queue their write at once and return an awaitable of
    its commit: writes land in call order, so a caller may await a batch of
    them together.
    """

    def add(self, handle: StoredHandle) -> Awaitable[None]:
        """Record a created resource."""
        ...

    def remove(self, vim: str, kind: str, resource_id: str) -> Awaitable[None]:
        """Forget a resource once the VIM deleted it (idempotent)."""
        ...

    async def of_part(self, service_id: str, part_id: str) -> list[StoredHandle]:
        """Every recorded resource of one part, oldest first."""
        ...


class HandleJournal:
    """The records of one deployment's VIM resources, as one unit of work.

    Leaf code reports each resource the moment its VIM returns it, from a
    synchronous callback: ``created`` queues its record's write at once, and
    writes land in the order they were reported. ``commit`` waits until every
    write queued so far has landed and raises the first that failed; a task
    commits before it ends, whether it succeeds or fails, so that whatever
    exists is on record before anything else is decided.
    """

    def __init__(self, records: HandleRecords) -> None:
        self._records = records
        self._writes: list[Awaitable[None]] = []
        self._count = 0

    def created(self, handle: StoredHandle) -> None:
        """Record a resource the VIM has just created."""
        self._writes.append(self._records.add(handle))
        self._count += 1

    @property
    def count(self) -> int:
        """Resources reported so far."""
        return self._count

    async def commit(self) -> None:
        """Wait for every write queued so far.

        Raises:
            Exception: the first write that failed (the others still land).
        """
        writes, self._writes = self._writes, []
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome


class InMemoryHandleStore:
    """``HandleRecords`` in a list, for unit tests (nothing survives the process)."""

    def __init__(self) -> None:
        self._handles: list[StoredHandle] = []

    def add(self, handle: StoredHandle) -> Awaitable[None]:
        """See ``HandleRecords.add``."""
        self._handles.append(handle)
        return _done()

    def remove(self, vim: str, kind: str, resource_id: str) -> Awaitable[None]:
        """See ``HandleRecords.remove``."""
        self._handles = [
            h for h in self._handles if (h.vim, h.kind, h.resource_id) != (vim, kind, resource_id)
        ]
        return _done()

    async def of_part(self, service_id: str, part_id: str) -> list[StoredHandle]:
        """See ``HandleRecords.of_part``."""
        return [h for h in self._handles if (h.service_id, h.part_id) == (service_id, part_id)]


def _done() -> asyncio.Future[None]:
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done
