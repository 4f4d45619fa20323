"""``Wim``: the node's WAN infrastructure manager, the API the rest of the node calls.

Creating a connectivity service runs, in order: route (``wim.paths``) →
bandwidth admission (``wim.admission``) → one VNI per segment → the driver
realises it → the handle is stored → ``ACTIVE``. A failure at any step undoes
every earlier one, so nothing stays booked. Deleting runs the reverse, and
``restore`` books again, at start-up, what the store holds.

Concurrency: the node runs on one asyncio loop. Route computation runs in a
thread (on a WAN of 1,000 nodes it takes tens of milliseconds), so a lock
serialises bookings: from the start of a route computation until its
bandwidth and VNIs are held, no other create or restore books anything, and
two concurrent creates can never both take the last room on a link. Releases
take no lock: they only add room, and the ledger checks every booking again
anyway. The driver and the store are called outside the lock; a service being
created or deleted is marked busy meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, replace
from enum import Enum

from addressing import IdPool
from spfed.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    SpfedError,
)
from spfed.model import IdRange
from wim.admission import AdmissionLedger, Booking
from wim.drivers.base import WimDriver
from wim.graph import WanGraph
from wim.paths import Route, compute_route
from wim.services import (
    ConnectivityHandle,
    ConnectivityRequest,
    Segment,
    ServiceStatus,
)
from wim.store import BookingStore

__all__ = ["Wim"]

_log = logging.getLogger(__name__)

_MAX_ID_LENGTH = 255
"""Longest service id (room for ``<service id>/<link id>``); stores may rely on it."""


class _Stage(Enum):
    CREATING = "creating"
    READY = "ready"
    DELETING = "deleting"


@dataclass
class _Entry:
    handle: ConnectivityHandle
    stage: _Stage


def _owner(service_id: str) -> str:
    """The VNI pool owner of a service's segments (the pool may be shared with others)."""
    return f"wim:{service_id}"


class Wim:
    """Connectivity services over one node's WAN.

    ``vnis`` is the pool segment VNIs come from; the WIM allocates from it
    under the owner ``wim:<service id>``.
    """

    def __init__(
        self, graph: WanGraph, driver: WimDriver, vnis: IdPool, store: BookingStore
    ) -> None:
        self._graph = graph
        self._driver = driver
        self._vnis = vnis
        self._store = store
        self._ledger = AdmissionLedger({i: link.capacity_mbps for i, link in graph.links.items()})
        self._services: dict[str, _Entry] = {}
        self._lock = asyncio.Lock()

    @property
    def graph(self) -> WanGraph:
        """The WAN the services run over."""
        return self._graph

    @property
    def ledger(self) -> AdmissionLedger:
        """What is booked on each link; read it, never change it."""
        return self._ledger

    async def restore(self) -> tuple[ConnectivityHandle, ...]:
        """Book again, at start-up, every service the store holds; returns them.

        The driver then ``adopt``s each of them.

        Raises:
            FailedPrecondition: services already exist, or a stored service
                does not fit the configuration any more (a link or VNI it holds
                is gone, or two hold one VNI); nothing is booked then.
            Any error of the store, or of ``adopt`` (the bookings stay then).
        """
        stored = await self._store.load()
        async with self._lock:
            if self._services:
                raise FailedPrecondition("restore runs once, before any connectivity service")
            handles: list[ConnectivityHandle] = []
            for handle in stored:
                try:
                    self._hold(handle)
                except SpfedError as exc:
                    for sid in {handle.service_id, *(h.service_id for h in handles)}:
                        self._forget(sid)
                    raise FailedPrecondition(
                        f"stored connectivity service {handle.service_id} cannot be restored: "
                        f"{exc.message}"
                    ) from exc
                handles.append(handle)
        for handle in handles:
            await self._driver.adopt(handle)
        for link in self._graph.links:
            if self._ledger.free(link) < 0:
                _log.warning(
                    "wim.link.overbooked link=%s booked_mbps=%g capacity_mbps=%g",
                    link,
                    self._ledger.booked(link),
                    self._ledger.capacity(link),
                )
        _log.info("wim.restored services=%d", len(handles))
        return tuple(handles)

    async def create_connectivity_service(
        self, request: ConnectivityRequest, *, service_id: str = ""
    ) -> ConnectivityHandle:
        """Build a connectivity service; returns its handle once it is ACTIVE and stored.

        ``service_id`` is generated when not given.

        Raises:
            InvalidArgument: the request is malformed (see ``compute_route``),
                or ``service_id`` is longer than 255 characters.
            AlreadyExists: a service with that id exists.
            ResourceExhausted: a link lacks bandwidth (``wan-link:<id>``), or
                the VNI pool is dry.
            FailedPrecondition: no route within the latency bound, or the
                endpoints are not connected.
            Any error of the driver or the store. On every error nothing stays
            booked, allocated, realised or stored.
        """
        service_id = service_id or uuid.uuid4().hex
        if len(service_id) > _MAX_ID_LENGTH:
            raise InvalidArgument(
                "invalid connectivity service id",
                field_violations=[
                    FieldViolation("service_id", f"longer than {_MAX_ID_LENGTH} characters")
                ],
            )
        async with self._lock:
            if service_id in self._services:
                raise AlreadyExists(f"connectivity service {service_id} exists")
            route = await asyncio.to_thread(compute_route, self._graph, request, self._ledger.free)
            handle = self._admit(service_id, request, route)
            self._services[service_id] = _Entry(handle, _Stage.CREATING)
        try:
            items = await self._driver.realise(handle)
        except BaseException:
            self._forget(service_id)
            raise
        realised = replace(handle, created_items=items)
        try:
            await self._store.save(realised)
        except BaseException:
            await self._remove_after_failure(realised)
            self._forget(service_id)
            raise
        self._services[service_id] = _Entry(realised, _Stage.READY)
        _log.info(
            "wim.connectivity.created service=%s type=%s links=%s vnis=%s "
            "bandwidth_mbps=%g latency_ms=%g",
            service_id,
            realised.type,
            ",".join(realised.links) or "-",
            ",".join(str(s.vni) for s in realised.segments) or "-",
            realised.bandwidth_mbps,
            realised.latency_ms,
        )
        return realised

    def connectivity_ids(self, prefix: str = "") -> list[str]:
        """Ids of the services whose id starts with ``prefix``, sorted; busy ones included."""
        return sorted(sid for sid in self._services if sid.startswith(prefix))

    def get_connectivity_service(self, service_id: str) -> ConnectivityHandle:
        """The handle of a service.

        Raises:
            NotFound: no service has that id.
        """
        return self._entry(service_id).handle

    async def get_connectivity_service_status(self, service_id: str) -> ServiceStatus:
        """``BUILD`` while being created, then what the driver reports.

        Raises:
            NotFound: no service has that id.
        """
        entry = self._entry(service_id)
        if entry.stage is _Stage.CREATING:
            return ServiceStatus.BUILD
        return await self._driver.status(entry.handle)

    async def delete_connectivity_service(self, service_id: str) -> None:
        """Remove a service and free its bandwidth and VNIs; succeeds if there is none.

        Raises:
            Aborted: the service is being created or deleted right now; retry.
            Any error of the driver or the store; the service then stays, whole.
        """
        entry = self._services.get(service_id)
        if entry is None:
            return
        if entry.stage is not _Stage.READY:
            raise Aborted(f"connectivity service {service_id} is {entry.stage.value}; retry")
        entry.stage = _Stage.DELETING
        try:
            await self._driver.remove(entry.handle)
            await self._store.delete(service_id)
        except BaseException:
            entry.stage = _Stage.READY
            raise
        self._forget(service_id)
        _log.info("wim.connectivity.deleted service=%s", service_id)

    def _entry(self, service_id: str) -> _Entry:
        entry = self._services.get(service_id)
        if entry is None:
            raise NotFound(f"no connectivity service {service_id}")
        return entry

    def _admit(
        self, service_id: str, request: ConnectivityRequest, route: Route
    ) -> ConnectivityHandle:
        """Book the route's bandwidth and one VNI per hop; on failure, hold nothing."""
        self._ledger.book(service_id, [h.link_id for h in route.hops], request.bandwidth_mbps)
        try:
            vnis = [self._vnis.allocate(1, _owner(service_id)).first for _ in route.hops]
        except BaseException:
            self._ledger.release(service_id)
            self._vnis.release(_owner(service_id))
            raise
        return ConnectivityHandle(
            service_id=service_id,
            type=request.type,
            endpoints=request.endpoints,
            segments=tuple(
                Segment(hop.link_id, hop.a, hop.b, vni)
                for hop, vni in zip(route.hops, vnis, strict=True)
            ),
            bandwidth_mbps=request.bandwidth_mbps,
            latency_ms=route.latency_ms,
        )

    def _hold(self, handle: ConnectivityHandle) -> None:
        """Book a stored service again, exactly as it was."""
        sid = handle.service_id
        if sid in self._services:
            raise AlreadyExists(f"connectivity service {sid} is stored twice")
        self._services[sid] = _Entry(handle, _Stage.READY)
        self._ledger.restore(Booking(sid, link, handle.bandwidth_mbps) for link in handle.links)
        for segment in handle.segments:
            self._vnis.reserve(IdRange(segment.vni, segment.vni), _owner(sid))

    def _forget(self, service_id: str) -> None:
        """Drop a service and everything it holds; a no-op for an unknown one."""
        self._ledger.release(service_id)
        self._vnis.release(_owner(service_id))
        self._services.pop(service_id, None)

    async def _remove_after_failure(self, handle: ConnectivityHandle) -> None:
        try:
            await self._driver.remove(handle)
        except Exception:
            # The original failure is what the caller needs; this one must not hide it.
            _log.exception(
                "wim.connectivity.leaked service=%s created_items=%s",
                handle.service_id,
                dict(handle.created_items),
            )
