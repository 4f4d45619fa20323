"""Publishing: one current, signed catalogue version, pushed to every subscriber.

A new version is issued when the content changes (an offer added or
withdrawn, a price or SLA figure changed, capacity crossing the configured
step, regions changed); bursts of changes within the debounce window become
one version. Each version is valid for ``validity_s``; it is re-issued when
half of that has passed, so subscribers always hold a valid one while the
node runs. Version numbers keep growing across restarts (the last one is
stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from capability_catalog.signing import CatalogueSigner
from spfed.errors import Unavailable
from spfed.model import Catalogue, SignedCatalogue

__all__ = ["CataloguePublisher", "OwnCatalogueStore"]

log = logging.getLogger(__name__)
Build = Callable[[int, datetime, datetime], Awaitable[Catalogue]]
"""``build(version, issued, valid_until)``: an unsigned version."""
_MIN_RENEW_S = 1.0


class OwnCatalogueStore(Protocol):
    """Where the node keeps its latest own version."""

    async def save(self, signed: SignedCatalogue, *, own: bool) -> None:
        """Keep a version."""
        ...

    async def latest(self, publisher: str, *, own: bool) -> SignedCatalogue | None:
        """The latest kept version."""
        ...


def _moved(free: int, was: int, total: int, step: float) -> bool:
    # Running out (or no longer), and becoming wholly free again, are always news: an
    # upper SP must not see a PoP as full when it is not, nor an idle PoP as partly used
    # for ever (a small release after a restart would otherwise stay unpublished below the
    # step). Leaving "wholly free" is not: below the step an upper SP may over-estimate,
    # and the lower SP's own admission refuses what does not fit.
    if (free <= 0) != (was <= 0) or (free >= total > was):
        return True
    return abs(free - was) >= max(1.0, total * step / 100)


def _same_content(fresh: Catalogue, published: Catalogue, step: float) -> bool:
    """Whether ``fresh`` says nothing new: same offers (prices included), SLA,
    borders and services, same regions, totals and PoPs, and no region's free
    capacity moved by ``step`` percent of its total, ran out or became wholly free."""
    said = ("offers", "sla", "borders", "wim_services", "address_constraints")
    if any(getattr(fresh, what) != getattr(published, what) for what in said):
        return False
    if [(r.region, r.total, r.pops) for r in fresh.regions] != [
        (r.region, r.total, r.pops) for r in published.regions
    ]:
        return False
    for new, old in zip(fresh.regions, published.regions, strict=True):
        for axis in ("vcpus", "memory_mib", "disk_gib"):
            total = getattr(new.total, axis)
            if _moved(getattr(new.free, axis), getattr(old.free, axis), total, step):
                return False
    return True


class CataloguePublisher:
    """Holds the node's current signed catalogue and pushes new versions to watchers."""

    def __init__(
        self,
        node_id: str,
        build: Build,
        signer: CatalogueSigner,
        store: OwnCatalogueStore,
        *,
        validity_s: float,
        debounce_s: float,
        capacity_step_percent: float = 0.0,
    ) -> None:
        self._node_id = node_id
        self._step = capacity_step_percent
        self._build = build
        self._signer = signer
        self._store = store
        self._validity = timedelta(seconds=validity_s)
        self._debounce_s = debounce_s
        self._current: SignedCatalogue | None = None
        self._changed = asyncio.Condition()
        self._pending: asyncio.Task[None] | None = None
        self._renewer: asyncio.Task[None] | None = None
        self._dirty = False
        self._lock = asyncio.Lock()
        self._closed = False

    async def start(self) -> None:
        """Publish a first version, numbered after the last stored one, and keep
        re-issuing before validity ends."""
        self._current = await self._store.latest(self._node_id, own=True)
        await self.refresh(force=True)
        self._renewer = asyncio.get_running_loop().create_task(self._renew())

    @property
    def current(self) -> Catalogue:
        """The current version.

        Raises:
            Unavailable: before ``start``.
        """
        return self.current_signed.catalogue

    @property
    def current_signed(self) -> SignedCatalogue:
        """The current version as signed.

        Raises:
            Unavailable: before ``start``.
        """
        if self._current is None:
            raise Unavailable("the catalogue is not published yet")
        return self._current

    def changed(self) -> None:
        """Note that something a catalogue shows may have changed (debounced).

        A change noted while a rebuild runs makes another rebuild follow it,
        so nothing noted is ever left unpublished.
        """
        if self._closed:
            return
        self._dirty = True
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._debounced())

    async def _debounced(self) -> None:
        while self._dirty and not self._closed:
            await asyncio.sleep(self._debounce_s)
            self._dirty = False
            try:
                await self.refresh()
            except Exception:  # a failed rebuild keeps the last good version
                log.exception("event=catalogue_refresh_failed node=%s", self._node_id)

    async def _renew(self) -> None:
        """Re-issue the current content once half its validity has passed."""
        while not self._closed:
            until = self.current.valid_until
            left = (until - datetime.now(UTC)).total_seconds() if until else 0.0
            half = self._validity.total_seconds() / 2
            await asyncio.sleep(max(_MIN_RENEW_S, left - half))
            try:
                await self.refresh(force=True)
            except Exception:
                log.exception("event=catalogue_renewal_failed node=%s", self._node_id)

    async def refresh(self, *, force: bool = False) -> Catalogue:
        """Rebuild now; publish a new version if the content changed (or ``force``)."""
        async with self._lock:
            held = self._current.catalogue if self._current else None
            issued = datetime.now(UTC)
            fresh = await self._build(
                (held.version if held else 0) + 1, issued, issued + self._validity
            )
            if not force and held is not None and _same_content(fresh, held, self._step):
                return held
            signed = self._signer.sign(fresh)
            await self._store.save(signed, own=True)
            async with self._changed:
                self._current = signed
                self._changed.notify_all()
            log.info(
                "event=catalogue_published node=%s version=%d offers=%d valid_until=%s",
                self._node_id,
                fresh.version,
                len(fresh.offers),
                fresh.valid_until.isoformat() if fresh.valid_until else "-",
            )
            return fresh

    async def watch(self, after_version: int) -> AsyncIterator[SignedCatalogue]:
        """The current version if newer than ``after_version``, then each new one."""
        seen = after_version

        def newer() -> bool:
            current = self._current
            return self._closed or (current is not None and current.catalogue.version > seen)

        while not self._closed:
            async with self._changed:
                await self._changed.wait_for(newer)
                current = self._current
            if self._closed or current is None:
                return
            seen = current.catalogue.version
            yield current

    async def close(self) -> None:
        """Stop pending refreshes and renewals, and end every watch."""
        self._closed = True
        for task in (self._pending, self._renewer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        async with self._changed:
            self._changed.notify_all()
