"""``OpenStackVim``: the ``Vim`` protocol on an OpenStack cloud, through openstacksdk.

The mapping is one to one (``base`` was shaped after OpenStack): a network is a
Neutron network with one subnet, a port a Neutron port with the plan's fixed
address and MAC, a server a Nova server booted on those ports from the smallest
flavor that covers the unit (``choices``).

How it runs:

- openstacksdk blocks, so every call runs on a pool of worker threads
  (``workers``), never on the event loop; N boots wait in parallel.
- Requests are checked before any API call, with the emulated PoP's checks
  (``lower_sp.local.vim._checks``, ``_subnet``, ``_mac``), so malformed input gets the
  same field violations from both drivers and never reaches the cloud.
- Errors come back through one table (``errors.translate``).
- A create that its caller cancels still runs to its end on its thread; what
  it made is then deleted in the background (``close`` waits for that), so a
  cancelled call leaves nothing behind either.
- Nova binds a port only when the compute host builds the server, so until
  then the driver remembers which of its servers claimed a port: two servers
  never get one port, even in that window. After a restart Neutron's binding
  is the only record, and it is set by then.
- Handles hold the cloud's ids; deletes of what is gone succeed (404 is
  success), and ``delete_server`` waits (``wait_for_delete``) until Nova has
  given back the ports and the quota.
- A request's tag is set by the create call itself (Neutron and Nova tags), and
  ``tagged`` asks the cloud for what carries it: the cloud is the record, so a
  restarted node finds what its lost handles named.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Generic, TypeVar

from lower_sp.local.vim._checks import (
    check_lookup_tag,
    check_own,
    check_segmentation_id,
    check_server_request,
    check_tag,
)
from lower_sp.local.vim._mac import normalise_mac
from lower_sp.local.vim._subnet import SubnetPlan
from lower_sp.local.vim.base import (
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
    ServerStatus,
    TaggedResources,
    VimCapacity,
)
from lower_sp.local.vim.openstack.capacity import CapacitySources, combine
from lower_sp.local.vim.openstack.choices import Flavor, Image, choose_flavor, choose_image
from lower_sp.local.vim.openstack.cloud import Cloud
from lower_sp.local.vim.openstack.errors import translate
from lower_sp.local.vim.openstack.options import OpenStackOptions, parse_options
from lower_sp.local.vim.state import PopStateStore
from spfed.config import PopConfig
from spfed.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    NotFound,
    SpfedError,
)
from spfed.model import Resources

__all__ = ["OpenStackVim"]

_log = logging.getLogger(__name__)

T = TypeVar("T")
V = TypeVar("V")

_STATUSES = {
    "ACTIVE": ServerStatus.ACTIVE,
    "BUILD": ServerStatus.BUILD,
    "REBUILD": ServerStatus.BUILD,
    "ERROR": ServerStatus.ERROR,
    "DELETED": ServerStatus.DELETED,
    "SOFT_DELETED": ServerStatus.DELETED,
}
"""Nova's statuses as the protocol's; any other (SHUTOFF, PAUSED, …) is not serving: ERROR."""

_LOOKUP_TTL_S = 60.0
"""How long the flavor and image lists are trusted before they are read again."""


class _Listing(Generic[V]):
    """A list read from the cloud and kept for a while; read again when stale or asked to."""

    def __init__(self, read: Callable[[], list[V]]) -> None:
        self._read = read
        self._items: list[V] = []
        self._read_at = -_LOOKUP_TTL_S

    def get(self, *, fresh: bool = False) -> list[V]:
        """The list, read again if older than ``_LOOKUP_TTL_S`` or if ``fresh``."""
        now = time.monotonic()
        if fresh or now - self._read_at >= _LOOKUP_TTL_S:
            self._items = self._read()
            self._read_at = now
        return self._items


def _check_neutron_accepts(subnet: SubnetPlan, address: str) -> None:
    """Neutron takes the lower address of an IPv4 /31 for a network address and refuses
    it on a port (RFC 3021 notwithstanding); say so, and what to change, before asking.

    Raises:
        FailedPrecondition: ``address`` is that address.
    """
    network = subnet.network
    if network.version == 4 and subnet.point_to_point and address == str(network[0]):
        description = (
            f"Neutron refuses {address}, the lower address of the /31 {network}; plan"
            " links that cross parts with a gateway instead (addressing.point_to_point_links:"
            " false on the node that plans the link)"
        )
        raise FailedPrecondition(
            description,
            field_violations=[FieldViolation("addressing.point_to_point_links", description)],
        )


class OpenStackVim:
    """A PoP on an OpenStack cloud (the ``openstack`` VIM driver).

    Configured by ``PopConfig.options`` (``options.OpenStackOptions``):
    ``cloud`` names the ``clouds.yaml`` entry. Its state is the cloud's: it
    keeps nothing but the handles its callers record.
    """

    def __init__(
        self,
        name: str,
        region: str,
        options: OpenStackOptions,
        configured: Resources,
        *,
        cloud: Cloud | None = None,
    ) -> None:
        """Build a PoP (call ``start()`` before use); ``cloud`` replaces the connection in tests."""
        self._name = name
        self._region = region
        self._options = options
        self._configured = configured
        self._cloud = cloud or Cloud(name, options)
        self._pool: ThreadPoolExecutor | None = None
        self._flavors = _Listing(self._cloud.flavors)
        self._images = _Listing(self._cloud.images)
        self._claims: dict[str, str] = {}
        """Port id → id of the server of ours that was given it (until Nova binds it)."""
        self._held: dict[str, tuple[str, ...]] = {}
        """Server id → the ports it was booted on, for the servers this driver made."""
        self._cleanups: set[asyncio.Future[None]] = set()
        self._closing = threading.Event()

    @classmethod
    def from_config(cls, pop: PopConfig, store: PopStateStore) -> OpenStackVim:
        """The PoP described by ``pop`` (the ``spfed.vim_drivers`` factory).

        ``store`` is not used: the cloud keeps the state.

        Raises:
            InvalidArgument: an option is unknown or malformed; each field
                violation names one as ``pops.<name>.options.<key>``.
        """
        del store
        return cls(pop.name, pop.region, parse_options(pop), pop.capacity.to_resources())

    @property
    def name(self) -> str:
        """The PoP name."""
        return self._name

    @property
    def region(self) -> str:
        """The region the PoP is in (spfed's region, not OpenStack's ``region_name``)."""
        return self._region

    @property
    def point_to_point(self) -> bool:
        """False: Neutron refuses the lower address of an IPv4 /31."""
        return False

    # --- running blocking calls ------------------------------------------------------

    def _workers(self) -> ThreadPoolExecutor:
        if self._pool is None:
            raise FailedPrecondition(f"pop {self._name} is not started")
        return self._pool

    def _submit(self, action: str, call: Callable[[], T]) -> asyncio.Future[T]:
        """``call`` started on a worker thread; its errors come back translated."""
        return asyncio.get_running_loop().run_in_executor(
            self._workers(), functools.partial(self._translated, action, call)
        )

    async def _run(self, action: str, call: Callable[[], T]) -> T:
        """Run ``call`` on a worker thread; its errors come back translated."""
        return await self._submit(action, call)

    def _translated(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            raise translate(exc, action, self._name) from exc

    async def _create(self, action: str, call: Callable[[], T], undo: Callable[[T], None]) -> T:
        """Like ``_run``, for a creation: if the caller is cancelled, what the call made
        is deleted (``undo``) once it returns, in the background."""
        future = self._submit(action, call)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            cleanup = asyncio.ensure_future(self._undo_when_done(action, future, undo))
            self._cleanups.add(cleanup)
            cleanup.add_done_callback(self._cleanups.discard)
            raise

    async def _undo_when_done(
        self, action: str, future: asyncio.Future[T], undo: Callable[[T], None]
    ) -> None:
        try:
            made = await future
        except Exception:
            return  # nothing was made
        try:
            await self._run(f"undo {action}", functools.partial(undo, made))
            _log.info("vim.openstack.cancelled.undone pop=%s action=%r", self._name, action)
        except Exception as exc:
            _log.warning(
                "vim.openstack.cancelled.undo_failed pop=%s action=%r error=%r",
                self._name,
                action,
                exc,
            )

    # --- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, authenticate, read the flavors, and check that capacity is known.

        Raises:
            Unavailable: the cloud cannot be reached.
            FailedPrecondition: the cloud is not in ``clouds.yaml``, refuses the
                credentials, or bounds an axis of capacity nobody configured.
        """
        if self._pool is None:
            self._closing.clear()
            self._pool = ThreadPoolExecutor(
                max_workers=self._options.workers, thread_name_prefix=f"openstack-{self._name}"
            )
        try:
            await self._run("connect", self._cloud.connect)
            await self._run("list flavors", functools.partial(self._flavors.get, fresh=True))
            capacity = await self.capacity()
        except BaseException:
            await self.close()
            raise
        _log.info(
            "vim.started pop=%s driver=openstack cloud=%s total=%s used=%s",
            self._name,
            self._options.cloud,
            capacity.total,
            capacity.used,
        )

    async def close(self) -> None:
        """Finish pending clean-ups, stop the waits, and drop the connection. Idempotent."""
        if self._cleanups:
            await asyncio.gather(*self._cleanups, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is None:
            return
        self._closing.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(pool, self._cloud.close)
        await loop.run_in_executor(None, functools.partial(pool.shutdown, wait=True))

    # --- capacity --------------------------------------------------------------------

    async def capacity(self) -> VimCapacity:
        """Total and used compute; see ``capacity`` for the sources and the rule."""
        return await self._run("read capacity", self._read_capacity)

    def _read_capacity(self) -> VimCapacity:
        cloud = self._cloud
        auto = self._options.capacity == "auto"
        configured = self._configured
        sources = CapacitySources(
            configured=configured,
            # What the project's servers hold counts only against a configured axis.
            project_used=cloud.project_used() if configured != Resources() else Resources(),
            quota=cloud.quota() if auto else None,
            hosts=cloud.hosts() if auto else None,
        )
        capacity, _ = combine(sources, pop=self._name)
        return capacity

    # --- networks --------------------------------------------------------------------

    async def create_network(self, request: NetworkRequest) -> NetworkHandle:
        """See ``Vim.create_network``; a Neutron network with one subnet.

        With ``network_type`` set, a provider network of that type carrying the
        request's segmentation id (the account must be allowed to).
        """
        subnet = SubnetPlan.parse(
            request.cidr, request.gateway, point_to_point=request.point_to_point
        )
        check_segmentation_id(request.segmentation_id)
        check_tag(request.tag)
        handle = await self._create(
            f"create network {request.name}",
            functools.partial(self._cloud.create_network, request, subnet),
            lambda made: self._cloud.delete_network(made.network_id),
        )
        _log.info(
            "vim.network.created pop=%s network=%s cidr=%s",
            self._name,
            handle.network_id,
            handle.cidr,
        )
        return handle

    async def delete_network(self, network: NetworkHandle) -> None:
        """See ``Vim.delete_network``."""
        check_own(self._name, network.vim, "network", network.network_id)
        await self._run(
            f"delete network {network.network_id}",
            functools.partial(self._cloud.delete_network, network.network_id),
        )
        _log.info("vim.network.deleted pop=%s network=%s", self._name, network.network_id)

    # --- ports -----------------------------------------------------------------------

    async def create_port(self, request: PortRequest) -> PortHandle:
        """See ``Vim.create_port``; Neutron picks the address when none is asked."""
        network = request.network
        check_own(self._name, network.vim, "network", network.network_id)
        check_tag(request.tag)
        address = ""
        if request.address:
            # The gateway is the cloud's to check: the handle does not carry it.
            hosts = SubnetPlan(ipaddress.ip_network(network.cidr), None)
            address = hosts.text(hosts.claim(request.address, frozenset()))
            _check_neutron_accepts(hosts, address)
        mac = normalise_mac(request.mac) if request.mac else ""
        handle = await self._create(
            f"create port {request.name}",
            functools.partial(
                self._cloud.create_port, request.name, network, address, mac, request.tag
            ),
            lambda made: self._cloud.delete_port(made.port_id),
        )
        _log.info(
            "vim.port.created pop=%s port=%s network=%s address=%s mac=%s",
            self._name,
            handle.port_id,
            handle.network_id,
            handle.address,
            handle.mac,
        )
        return handle

    async def delete_port(self, port: PortHandle) -> None:
        """See ``Vim.delete_port``: refused while a server holds the port."""
        check_own(self._name, port.vim, "port", port.port_id)
        holder = self._claims.get(port.port_id) or await self._run(
            f"read port {port.port_id}",
            functools.partial(self._cloud.port_holder, port.port_id),
        )
        if holder:
            raise FailedPrecondition(
                f"port {port.port_id} is attached to server {holder}; delete the server first"
            )
        await self._run(
            f"delete port {port.port_id}", functools.partial(self._cloud.delete_port, port.port_id)
        )
        _log.info("vim.port.deleted pop=%s port=%s", self._name, port.port_id)

    # --- servers ---------------------------------------------------------------------

    async def create_server(self, request: ServerRequest) -> ServerHandle:
        """See ``Vim.create_server``.

        The flavor is ``request.flavor`` if given, else the smallest that covers
        ``request.resources``; the handle's resources are the flavor's. The image
        is found by id, name or md5 (``choices.choose_image``). Nova's quota
        decides whether it fits.
        """
        check_server_request(self._name, request)
        flavor, image = await self._run(
            f"choose flavor and image for {request.name}",
            functools.partial(self._flavor_and_image, request),
        )
        port_ids = tuple(p.port_id for p in request.ports)
        for port_id in port_ids:
            holder = self._claims.get(port_id)
            if holder is not None:
                raise FailedPrecondition(f"port {port_id} is already attached to server {holder}")
        claim = f"(booting {request.name})"
        self._claims.update(dict.fromkeys(port_ids, claim))
        try:
            handle = await self._create(
                f"create server {request.name}",
                functools.partial(
                    self._cloud.create_server,
                    request.name,
                    flavor,
                    image,
                    port_ids,
                    dict(request.metadata),
                    request.tag,
                ),
                lambda made: self._cloud.delete_server(made.server_id),
            )
        except BaseException:
            for port_id in port_ids:
                if self._claims.get(port_id) == claim:
                    del self._claims[port_id]
            raise
        self._claims.update(dict.fromkeys(port_ids, handle.server_id))
        self._held[handle.server_id] = port_ids
        _log.info(
            "vim.server.created pop=%s server=%s name=%r flavor=%s image=%s ports=%s",
            self._name,
            handle.server_id,
            handle.name,
            flavor.name,
            image.id,
            ",".join(port_ids),
        )
        return handle

    def _flavor_and_image(self, request: ServerRequest) -> tuple[Flavor, Image]:
        """The flavor and image of a server; on a miss the lists are read again, once."""
        try:
            return self._choose(request, fresh=False)
        except SpfedError:
            return self._choose(request, fresh=True)

    def _choose(self, request: ServerRequest, *, fresh: bool) -> tuple[Flavor, Image]:
        flavors, images = self._flavors.get(fresh=fresh), self._images.get(fresh=fresh)
        pop = self._name
        return (
            choose_flavor(flavors, request.resources, pop=pop, named=request.flavor),
            choose_image(images, request.image, request.image_md5, pop=pop),
        )

    async def server_status(self, server: ServerHandle) -> ServerStatus:
        """See ``Vim.server_status``."""
        check_own(self._name, server.vim, "server", server.server_id)
        status = await self._run(
            f"read server {server.server_id}",
            functools.partial(self._cloud.server_status, server.server_id),
        )
        return _STATUSES.get(status, ServerStatus.ERROR)

    async def wait_active(self, server: ServerHandle, timeout_s: float) -> None:
        """See ``Vim.wait_active``: openstacksdk's ``wait_for_server`` on a worker thread.

        A cancelled wait stops at its next poll.
        """
        check_own(self._name, server.vim, "server", server.server_id)
        stop = threading.Event()
        closing = self._closing

        def aborted() -> bool:
            return stop.is_set() or closing.is_set()

        try:
            await self._run(
                f"wait for server {server.name} to be ACTIVE",
                functools.partial(self._cloud.wait_active, server.server_id, timeout_s, aborted),
            )
        except asyncio.CancelledError:
            stop.set()
            raise
        except DeadlineExceeded as exc:
            raise DeadlineExceeded(
                f"server {server.name} on pop {self._name} not ACTIVE after {timeout_s:.0f}s",
                metadata=exc.metadata,
            ) from exc
        except NotFound as exc:
            raise FailedPrecondition(f"server {server.name} on pop {self._name} is gone") from exc

    async def delete_server(self, server: ServerHandle) -> None:
        """See ``Vim.delete_server``; returns once Nova has let the server go."""
        check_own(self._name, server.vim, "server", server.server_id)
        await self._run(
            f"delete server {server.server_id}",
            functools.partial(self._cloud.delete_server, server.server_id),
        )
        # The handle may come from ``tagged``, with only the ports Nova had bound by then.
        for port_id in (*server.port_ids, *self._held.pop(server.server_id, ())):
            if self._claims.get(port_id) == server.server_id:
                del self._claims[port_id]
        _log.info("vim.server.deleted pop=%s server=%s", self._name, server.server_id)

    # --- by tag ----------------------------------------------------------------------

    async def tagged(self, tag: str) -> TaggedResources:
        """See ``Vim.tagged``: the cloud's lists, filtered by tag (``Cloud.tagged``).

        A server this driver made keeps its ports in the order it was booted on them.
        """
        check_lookup_tag(tag)
        found = await self._run(
            f"list what carries tag {tag}", functools.partial(self._cloud.tagged, tag)
        )
        servers = tuple(
            replace(s, port_ids=self._held[s.server_id]) if s.server_id in self._held else s
            for s in found.servers
        )
        return replace(found, servers=servers)
