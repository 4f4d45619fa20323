"""Where the embedded emulated PoP keeps its state, so that it survives a restart.

``EmulatedPop`` writes every change through a ``PopStateStore`` before the call
that made it returns. The node injects the SQL store of its storage layer;
``MemoryPopStateStore`` serves ephemeral nodes and tests.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["EmulatedResource", "MemoryPopStateStore", "PopStateStore"]


@dataclass(frozen=True)
class EmulatedResource:
    """One saved network, port or server of an emulated PoP."""

    kind: str
    """``"network"``, ``"port"`` or ``"server"``."""
    id: str
    """Its id, unique within the PoP and kind."""
    data: Mapping[str, Any]
    """Everything else about it; JSON-serialisable (the shape is the PoP's business)."""


class PopStateStore(Protocol):
    """Durable key/value storage of emulated PoPs' resources, keyed by (pop, kind, id).

    Contract: a call that returns has made its change durable; a call that
    raises has made none. ``EmulatedPop`` relies on this to keep each change a
    single write.
    """

    async def load(self, pop: str) -> list[EmulatedResource]:
        """Every resource saved for ``pop``, in any order; [] for an unknown PoP."""
        ...

    async def put(self, pop: str, resource: EmulatedResource) -> None:
        """Insert or replace the resource with that (pop, kind, id)."""
        ...

    async def delete(self, pop: str, kind: str, resource_id: str) -> None:
        """Remove the resource with that (pop, kind, id); succeeds if absent."""
        ...


class MemoryPopStateStore:
    """A ``PopStateStore`` in memory: state lives as long as this object.

    Data goes through a JSON round trip on ``put``. That checks it is
    serialisable (so what passes here also passes the SQL store) and keeps the
    stored copy independent of the caller's objects.

    Raises:
        TypeError, ValueError: from ``put``, when ``data`` is not JSON-serialisable.
    """

    def __init__(self) -> None:
        self._pops: dict[str, dict[tuple[str, str], str]] = {}

    async def load(self, pop: str) -> list[EmulatedResource]:
        """Every resource saved for ``pop``, each a fresh copy."""
        return [
            EmulatedResource(kind=kind, id=resource_id, data=json.loads(encoded))
            for (kind, resource_id), encoded in self._pops.get(pop, {}).items()
        ]

    async def put(self, pop: str, resource: EmulatedResource) -> None:
        """Insert or replace the resource with that (pop, kind, id)."""
        encoded = json.dumps(dict(resource.data), allow_nan=False, sort_keys=True)
        self._pops.setdefault(pop, {})[(resource.kind, resource.id)] = encoded

    async def delete(self, pop: str, kind: str, resource_id: str) -> None:
        """Remove the resource with that (pop, kind, id); succeeds if absent."""
        self._pops.get(pop, {}).pop((kind, resource_id), None)
