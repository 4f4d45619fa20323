"""Handles of the VIM resources a service holds: the type, the port, and a store in memory.

A handle is what the VIM needs to undo a creation. The lifecycle records each
one as soon as the VIM returns it (``spfed.lifecycle.instantiate``), so that
compensation after a failure or a crash deletes exactly what exists; what a
crash cuts off before its record is found by its tag
(``spfed.lifecycle.undo``). The node's database implements the port
(``spfed.storage.HandleStore``); ``InMemoryHandleStore`` serves unit tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["HandleRecords", "InMemoryHandleStore", "StoredHandle"]


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
