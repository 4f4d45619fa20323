"""Subscribing: keep the latest valid catalogue of every lower SP, pushed not polled.

One stream per lower SP, resumed from the last version held; when it breaks,
it reconnects with exponential backoff and full jitter. Every version is
checked before it is used (``signing.check_signed``: the lower SP's key, the
signature, the publisher, validity, a version above the one held); a
rejected version is logged and counted, and the last good one stays in use
until its validity ends. Then the lower SP is *stale*: its offers are no
longer used, and the node is told so it can re-publish without them.
Accepted versions are stored, so placement has them at once after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from capability_catalog.signing import CatalogueRejected, check_signed
from spfed.errors import SpfedError
from spfed.model import Catalogue, SignedCatalogue

__all__ = [
    "CatalogueSource",
    "CatalogueSubscriber",
    "LowerCatalogueState",
    "ReceivedCatalogueStore",
]

log = logging.getLogger(__name__)


class CatalogueSource(Protocol):
    """A lower SP, as far as its catalogue goes."""

    id: str

    def watch_signed_catalogue(self, after_version: int = 0) -> AsyncIterator[SignedCatalogue]:
        """Its signed versions after ``after_version``."""
        ...


class ReceivedCatalogueStore(Protocol):
    """Where received versions are kept."""

    async def save(self, signed: SignedCatalogue, *, own: bool) -> None:
        """Keep a version."""
        ...

    async def latest(self, publisher: str, *, own: bool) -> SignedCatalogue | None:
        """The latest kept version."""
        ...


@dataclass(frozen=True)
class LowerCatalogueState:
    """What a node holds of one lower SP's catalogue."""

    lower_sp: str
    version: int
    """Last accepted version (0: none)."""
    valid_until: datetime | None
    """When it stops being used."""
    stale: bool
    """No valid version: its offers are not used."""
    rejected: dict[str, int]
    """Versions rejected so far, by reason."""


class CatalogueSubscriber:
    """The latest valid catalogue of each lower SP."""

    def __init__(
        self,
        sources: Sequence[CatalogueSource],
        keys: Mapping[str, Ed25519PublicKey],
        store: ReceivedCatalogueStore,
        on_change: Callable[[str], None],
        *,
        initial_backoff_s: float,
        max_backoff_s: float,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._sources = list(sources)
        self._keys = dict(keys)
        self._store = store
        self._on_change = on_change
        self._initial = initial_backoff_s
        self._max = max_backoff_s
        self._rng = rng or random.Random()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._held: dict[str, Catalogue | None] = {s.id: None for s in sources}
        self._rejected: Counter[tuple[str, str]] = Counter()
        self._expiries: dict[str, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._received = asyncio.Condition()

    async def start(self) -> None:
        """Load stored versions that still check out, and open one stream per lower SP."""
        for source in self._sources:
            stored = await self._store.latest(source.id, own=False)
            if stored is None:
                continue
            try:
                check_signed(stored, source.id, self._keys[source.id], self._clock())
            except CatalogueRejected as exc:
                log.info(
                    "event=stored_catalogue_dropped lower_sp=%s reason=%s",
                    source.id,
                    exc.rejection,
                )
                continue
            self._hold(source.id, stored.catalogue)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._follow(s), name=f"catalogue:{s.id}") for s in self._sources
        ]

    def latest(self) -> dict[str, Catalogue | None]:
        """The valid version per lower SP (None until one arrived, and once it expired)."""
        now = self._clock()
        return {k: c if c is not None and c.valid_at(now) else None for k, c in self._held.items()}

    def states(self) -> list[LowerCatalogueState]:
        """What is held of each lower SP's catalogue, and what was rejected."""
        now = self._clock()
        out = []
        for lower, held in self._held.items():
            out.append(
                LowerCatalogueState(
                    lower,
                    held.version if held else 0,
                    held.valid_until if held else None,
                    held is None or not held.valid_at(now),
                    {r: n for (k, r), n in self._rejected.items() if k == lower},
                )
            )
        return out

    async def wait_for_all(self, timeout_s: float) -> bool:
        """Wait until every lower SP's catalogue is known; False on timeout."""
        try:
            async with asyncio.timeout(timeout_s), self._received:
                await self._received.wait_for(
                    lambda: all(v is not None for v in self.latest().values())
                )
        except TimeoutError:
            return False
        return True

    def _hold(self, lower: str, catalogue: Catalogue) -> None:
        self._held[lower] = catalogue
        previous = self._expiries.pop(lower, None)
        if previous is not None:
            previous.cancel()
        if catalogue.valid_until is None:
            return
        loop = asyncio.get_running_loop()
        left = (catalogue.valid_until - self._clock()).total_seconds()
        self._expiries[lower] = loop.call_later(max(0.0, left), self._expired, lower)

    def _expired(self, lower: str) -> None:
        self._expiries.pop(lower, None)
        log.warning(
            "event=catalogue_stale lower_sp=%s reason=validity_ended; its offers are no longer"
            " used until a new version arrives",
            lower,
        )
        self._on_change(lower)

    async def _accept(self, source: CatalogueSource, signed: SignedCatalogue) -> None:
        held = self._held.get(source.id)
        try:
            check_signed(
                signed,
                source.id,
                self._keys[source.id],
                self._clock(),
                held.version if held else 0,
            )
        except CatalogueRejected as exc:
            self._rejected[(source.id, exc.rejection)] += 1
            log.warning(
                "event=catalogue_rejected lower_sp=%s reason=%s version=%d detail=%r",
                source.id,
                exc.rejection,
                signed.catalogue.version,
                exc.message,
            )
            return
        await self._store.save(signed, own=False)
        async with self._received:
            self._hold(source.id, signed.catalogue)
            self._received.notify_all()
        log.info(
            "event=catalogue_received lower_sp=%s version=%d", source.id, signed.catalogue.version
        )
        self._on_change(source.id)

    async def _follow(self, source: CatalogueSource) -> None:
        failures = 0
        while True:
            held = self._held.get(source.id)
            try:
                async for signed in source.watch_signed_catalogue(held.version if held else 0):
                    failures = 0
                    await self._accept(source, signed)
                reason = "stream ended"
            except SpfedError as exc:
                reason = exc.describe()
            except Exception as exc:  # a stream that breaks in any other way is retried too
                log.warning("event=catalogue_stream_error lower_sp=%s", source.id, exc_info=True)
                reason = f"{type(exc).__name__}: {exc}"
            failures += 1
            ceiling = min(self._max, self._initial * 2 ** (failures - 1))
            delay = self._rng.uniform(0, ceiling)
            log.info(
                "event=catalogue_reconnect lower_sp=%s in_s=%.2f reason=%s",
                source.id,
                delay,
                reason,
            )
            await asyncio.sleep(delay)

    async def close(self) -> None:
        """Stop every stream and expiry timer."""
        for handle in self._expiries.values():
            handle.cancel()
        self._expiries.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
