"""The lifecycle's intent journal port: effects announced before they are made.

See ``spfed.model.intents`` for what an intent is. The lifecycle opens one,
and waits until it is durable, before every external effect it makes for a
service: a local part's VIM creations (one intent per part; every object
carries the part's tag), a delegation (per part; keyed by its request id),
the service's WAN bookings (per service). It closes it only once the effect
is undone (``spfed.lifecycle.undo``). The node's database implements this
port (``spfed.storage.IntentJournal``); ``InMemoryIntentStore`` serves unit
tests.
"""

from __future__ import annotations

from typing import Protocol

from spfed.model import Intent

__all__ = ["InMemoryIntentStore", "IntentStore"]


class IntentStore(Protocol):
    """Where a node keeps its open intents."""

    async def open(self, intent: Intent) -> None:
        """Record ``intent`` (idempotent per key); durable when this returns."""
        ...

    async def close(self, key: str) -> None:
        """Forget the intent ``key`` once its effect is undone (idempotent)."""
        ...

    async def of_service(self, service_id: str) -> list[Intent]:
        """A service's open intents, oldest first."""
        ...

    async def all_open(self) -> list[Intent]:
        """Every open intent, oldest first."""
        ...


class InMemoryIntentStore:
    """``IntentStore`` in a dictionary, for unit tests (nothing survives the process)."""

    def __init__(self) -> None:
        self._open: dict[str, Intent] = {}

    async def open(self, intent: Intent) -> None:
        """See ``IntentStore.open``."""
        self._open.setdefault(intent.key, intent)

    async def close(self, key: str) -> None:
        """See ``IntentStore.close``."""
        self._open.pop(key, None)

    async def of_service(self, service_id: str) -> list[Intent]:
        """See ``IntentStore.of_service``."""
        return [i for i in self._open.values() if i.service_id == service_id]

    async def all_open(self) -> list[Intent]:
        """See ``IntentStore.all_open``."""
        return list(self._open.values())
