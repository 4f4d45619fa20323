"""Figures read at scrape time: the catalogue version, catalogue rejections, pool usage.

These live in the node's objects, which belong to its event loop; the HTTP server
scrapes from a thread of its own. ``NodeGauges`` therefore takes each snapshot on the
node's loop (``loop.call_soon_threadsafe``) and waits a bounded time for it: a scrape
never reads a structure the loop is changing. A scrape made on the loop itself (a test
calling ``generate_latest``) takes it directly. A loop that does not answer in
time yields no snapshot figures for that scrape (the instruments are still served).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["CatalogueRejections", "NodeGauges", "NodeSnapshot", "PoolUsage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PoolUsage:
    """One pool of the node's address plan."""

    pool: str
    """Pool name (a fixed name per kind: addresses, VNIs, MACs)."""
    used: int
    """Addresses or ids allocated."""
    size: int
    """Addresses or ids in the pool."""


@dataclass(frozen=True)
class CatalogueRejections:
    """Versions of one lower SP's catalogue refused for one reason."""

    lower_sp: str
    """The lower SP (an operator id from the configuration)."""
    reason: str
    """Why (a code of ``capability_catalog``)."""
    count: int
    """Since the node started."""


@dataclass(frozen=True)
class NodeSnapshot:
    """What ``NodeGauges`` serves, read at once."""

    catalogue_version: int | None
    """Version of the node's own published catalogue (None: none yet)."""
    pools: tuple[PoolUsage, ...] = ()
    """Usage of each pool."""
    rejections: tuple[CatalogueRejections, ...] = ()
    """Lower catalogues refused, by lower SP and reason."""


class NodeGauges(Collector):
    """A collector of ``NodeSnapshot``s taken on ``loop``."""

    def __init__(
        self,
        snapshot: Callable[[], NodeSnapshot],
        loop: asyncio.AbstractEventLoop,
        *,
        timeout_s: float = 2.0,
    ) -> None:
        self._snapshot = snapshot
        self._loop = loop
        self._timeout_s = timeout_s

    def describe(self) -> list[Metric]:
        """Nothing up front: families are produced at scrape time only."""
        return []

    def _take(self) -> NodeSnapshot | None:
        if _running_here(self._loop):
            return self._snapshot()
        if self._loop.is_closed():
            return None
        future: concurrent.futures.Future[NodeSnapshot] = concurrent.futures.Future()

        def take() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(self._snapshot())
            except Exception as exc:  # handed to the scraping thread, which logs it
                future.set_exception(exc)

        try:
            self._loop.call_soon_threadsafe(take)
        except RuntimeError:  # the loop closed meanwhile
            return None
        try:
            return future.result(self._timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            log.warning("event=metrics_snapshot_late timeout_s=%.1f", self._timeout_s)
            return None

    def collect(self) -> Iterator[Metric]:
        """The snapshot's families (none when the loop did not answer in time)."""
        snap = self._take()
        if snap is None:
            return
        version = GaugeMetricFamily(
            "spfed_catalogue_version",
            "Version of the node's own published catalogue.",
        )
        if snap.catalogue_version is not None:
            version.add_metric((), snap.catalogue_version)
        yield version
        rejected = CounterMetricFamily(
            "spfed_catalogue_rejections",
            "Lower SP catalogue versions refused, by lower SP and reason.",
            labels=("lower_sp", "reason"),
        )
        for r in snap.rejections:
            rejected.add_metric((r.lower_sp, r.reason), r.count)
        yield rejected
        used = GaugeMetricFamily(
            "spfed_pool_used", "Addresses or ids allocated, by pool.", labels=("pool",)
        )
        size = GaugeMetricFamily(
            "spfed_pool_size", "Addresses or ids in the pool, by pool.", labels=("pool",)
        )
        for p in snap.pools:
            used.add_metric((p.pool,), p.used)
            size.add_metric((p.pool,), p.size)
        yield used
        yield size


def _running_here(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
