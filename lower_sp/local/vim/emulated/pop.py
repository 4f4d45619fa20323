"""The embedded emulated PoP: the product's default VIM, with no hypervisor behind it.

It keeps the books a real VIM keeps (compute capacity, subnets and their
addresses, MACs, port bindings) and enforces the ``Vim`` contract exactly, so
placement, admission, address planning and compensation behave as they would
on OpenStack.

By default it has no data plane: packets are the WIM's business. With the
``netns`` option on, it also runs what it books in network namespaces
(``_netns_pop``): a bridge per network in the PoP's gateway, a namespace per
server with a veth per port, and chain routing. The books stay the truth and
are written first, so a node that crashed part-way finds every record it needs
to delete what was built; a call whose data plane fails is undone whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

from lower_sp.local.vim._checks import (
    check_lookup_tag,
    check_own,
    check_segmentation_id,
    check_server_request,
    check_tag,
)
from lower_sp.local.vim._mac import generate_mac, normalise_mac
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
from lower_sp.local.vim.emulated._checks import check_boot_delay, does_not_fit, subnet_full
from lower_sp.local.vim.emulated._netns_plan import plan_vnf, require_segment
from lower_sp.local.vim.emulated._netns_pop import NetnsPop
from lower_sp.local.vim.emulated._options import NetnsPlacement, parse_options
from lower_sp.local.vim.emulated._pop_state import (
    NETWORK,
    PORT,
    SERVER,
    NetworkRecord,
    PopState,
    PortRecord,
    ServerRecord,
)
from lower_sp.local.vim.state import PopStateStore
from spfed.config import PopConfig
from spfed.errors import AlreadyExists, DeadlineExceeded, FailedPrecondition, NotFound
from spfed.model import Resources

__all__ = ["EmulatedPop"]

_log = logging.getLogger(__name__)


_IDS = random.Random()


def _new_id() -> str:
    # Ids need to be unique, not secret; os.urandom (uuid4) costs tens of
    # microseconds on a VM, and a PoP creates many of them.
    return f"{_IDS.getrandbits(128):032x}"


def _compact(resources: Resources) -> str:
    # One token, so that key=value log lines stay parseable.
    return f"{resources.vcpus}vcpu/{resources.memory_mib}MiB/{resources.disk_gib}GiB"


class EmulatedPop:
    """A ``Vim`` kept entirely in this process, persisted through a ``PopStateStore``.

    - Compute: servers are admitted against ``capacity`` on vCPU, memory and
      disk; a server that does not fit is refused whole.
    - Networks hold one subnet; ports take a host address of it (asked, or
      the lowest free one) and a MAC (asked, or a generated locally
      administered one), both unique on the network.
    - Servers hold ports, one server per port. They are ``BUILD`` for
      ``boot_delay_ms`` after creation, then ``ACTIVE``.
    - Networks, ports and servers keep the ``tag`` they were created with,
      saved with them; ``tagged`` reads them from an index by tag.
    - Every change is one store write, made before the in-memory state changes
      and before the call returns, under one ``asyncio.Lock``: concurrent
      calls never over-book, a failed write changes nothing, and a handle the
      caller holds survives a restart.
    """

    def __init__(
        self,
        name: str,
        region: str,
        capacity: Resources,
        store: PopStateStore,
        *,
        boot_delay_ms: int = 0,
        clock: Callable[[], float] = time.time,
        netns: NetnsPlacement | None = None,
    ) -> None:
        """Build a PoP (call ``start()`` before use).

        ``clock`` gives wall-clock seconds; it decides BUILD/ACTIVE, and being
        wall-clock keeps a boot in progress across a restart. ``netns`` runs
        the PoP's networks and servers in network namespaces (needs root).

        Raises:
            InvalidArgument: ``boot_delay_ms`` is negative, or the node id and
                the PoP name make an invalid gateway label.
        """
        check_boot_delay(boot_delay_ms)
        self._name = name
        self._region = region
        self._total = capacity
        self._store = store
        self._boot_delay_s = boot_delay_ms / 1000
        self._clock = clock
        self._lock = asyncio.Lock()
        self._state: PopState | None = None
        self._netns = NetnsPop(name, netns) if netns is not None else None
        # With netns, one network call at a time checks and changes the bridges: a network
        # being deleted frees its segmentation id before its bridge is gone.
        self._bridges = asyncio.Lock()

    @classmethod
    def from_config(cls, pop: PopConfig, store: PopStateStore) -> EmulatedPop:
        """The PoP described by ``pop`` (the ``spfed.vim_drivers`` factory).

        Options: ``boot_delay_ms`` (integer ≥ 0, default 0); ``netns``
        (``on``/``off``, default off) with ``netns_prefix`` and ``netns_node``
        (see ``_emulated_options``).

        Raises:
            InvalidArgument: an option is unknown or malformed; each field
                violation names one as ``pops.<name>.options.<key>``.
        """
        options = parse_options(pop)
        return cls(
            pop.name,
            pop.region,
            pop.capacity.to_resources(),
            store,
            boot_delay_ms=options.boot_delay_ms,
            netns=options.netns,
        )

    @property
    def name(self) -> str:
        """The PoP name."""
        return self._name

    @property
    def region(self) -> str:
        """The region the PoP is in."""
        return self._region

    @property
    def point_to_point(self) -> bool:
        """Both addresses of a /31 (/127) are hosts (RFC 3021, RFC 6164)."""
        return True

    async def start(self) -> None:
        """Load the saved state and recompute used capacity from the saved servers.

        Calling it again reloads from the store. With netns, the PoP's gateway
        namespace is created (or taken over) first.

        Raises:
            Internal: the saved state is corrupt (see ``PopState.from_saved``).
            FailedPrecondition: with netns, namespaces cannot be created (not root).
        """
        if self._netns is not None:
            await self._netns.start()
        async with self._lock:
            state = PopState.from_saved(self._name, await self._store.load(self._name))
            self._state = state
        if not state.used.fits_in(self._total):
            _log.warning(
                "vim.overcommitted pop=%s used=%s total=%s",
                self._name,
                _compact(state.used),
                _compact(self._total),
            )
        _log.info(
            "vim.started pop=%s networks=%d ports=%d servers=%d used=%s",
            self._name,
            len(state.networks),
            len(state.ports),
            len(state.servers),
            _compact(state.used),
        )

    async def _persist(self, write: Coroutine[Any, Any, None], undo: Callable[[], None]) -> None:
        """Make a change durable that is already applied in memory.

        The write is submitted at once (so writes land in the order their
        changes were made) and awaited outside the lock, so concurrent calls
        share transactions instead of queueing one round trip each. If it
        fails, ``undo`` reverts the memory change, and the call raises having
        changed nothing. A caller cancelled meanwhile does not cancel the write.
        """
        task = asyncio.ensure_future(write)

        def settled(done: asyncio.Future[None]) -> None:
            if done.cancelled() or done.exception() is not None:
                undo()

        task.add_done_callback(settled)
        await asyncio.shield(task)

    async def close(self) -> None:
        """Stop serving calls; the saved state stays for the next ``start()``."""
        async with self._lock:
            self._state = None

    async def capacity(self) -> VimCapacity:
        """Total compute from the configuration; used is the sum over live servers."""
        return VimCapacity(total=self._total, used=self._live().used)

    async def create_network(self, request: NetworkRequest) -> NetworkHandle:
        """See ``Vim.create_network``; the gateway defaults to the first host.

        With netns, ``segmentation_id`` is required: the network is the bridge it
        names in the PoP's gateway (created, or taken over from the WIM).
        """
        subnet = SubnetPlan.parse(
            request.cidr, request.gateway, point_to_point=request.point_to_point
        )
        segment = request.segmentation_id
        check_segmentation_id(segment)
        check_tag(request.tag)
        if self._netns is not None:
            require_segment(segment)
        async with self._bridge_changes():
            async with self._lock:
                state = self._live()
                # Two services may put their ends of one link (a slice link) on one
                # segment: then it is one subnet, and addresses are unique across it.
                sharing = state.segments.get(segment, {}) if segment else {}
                others = sorted(
                    n for n in sharing if state.networks[n].subnet.network != subnet.network
                )
                if others:
                    raise AlreadyExists(
                        f"segmentation id {segment} is used by network {others[0]} with"
                        f" another subnet ({state.networks[others[0]].subnet.network})"
                    )
                record = NetworkRecord(
                    _new_id(),
                    _new_id(),
                    request.name,
                    subnet,
                    segment,
                    request.dhcp,
                    request.mtu,
                    request.tag,
                )
                state.add_network(record)
                write = self._store.put(self._name, record.saved())
            await self._persist(write, lambda: state.remove_network(record.id))
            if self._netns is not None:
                await self._build(
                    self._netns.add_network(record),
                    NETWORK,
                    record.id,
                    forget=lambda: state.remove_network(record.id),
                    restore=lambda: state.add_network(record),
                )
        _log.info(
            "vim.network.created pop=%s network=%s cidr=%s", self._name, record.id, subnet.network
        )
        return record.handle(self._name)

    async def delete_network(self, network: NetworkHandle) -> None:
        """See ``Vim.delete_network``.

        With netns, its bridge is deleted unless an interface is still enslaved
        to it (the WIM's segments of the same link, a neighbour's).
        """
        check_own(self._name, network.vim, "network", network.network_id)
        async with self._bridge_changes():
            async with self._lock:
                record = self._deletable_network(network.network_id)
            if record is None:
                return
            if self._netns is not None:
                await self._netns.remove_network(record)
            async with self._lock:
                state = self._live()
                if self._deletable_network(network.network_id) is None:
                    return
                state.remove_network(network.network_id)
                write = self._store.delete(self._name, NETWORK, network.network_id)
            await self._persist(write, lambda: state.add_network(record))
        _log.info("vim.network.deleted pop=%s network=%s", self._name, network.network_id)

    def _deletable_network(self, network_id: str) -> NetworkRecord | None:
        """The network, None if it is gone; call under the lock.

        Raises:
            FailedPrecondition: ports are still on it.
        """
        state = self._live()
        record = state.networks.get(network_id)
        ports = state.ports_on.get(network_id)
        if ports:
            raise FailedPrecondition(
                f"network {network_id} still has {len(ports)} port(s): "
                f"{', '.join(sorted(ports))}; delete them first"
            )
        return record

    def _bridge_changes(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held by network calls: with netns, one at a time; without, no wait at all."""
        return self._bridges if self._netns is not None else contextlib.nullcontext()

    async def _build(
        self,
        build: Coroutine[Any, Any, None],
        kind: str,
        resource_id: str,
        *,
        forget: Callable[[], None],
        restore: Callable[[], None],
    ) -> None:
        """Build the data plane of a saved creation; if that fails, unsave it and raise.

        So the call that created it raises having changed nothing. Should the
        store refuse to unsave it, the record stays (a delete removes it, the
        data plane being undone already) and the data plane's error is raised.
        """
        try:
            await build
        except BaseException:
            try:
                async with self._lock:
                    forget()
                    write = self._store.delete(self._name, kind, resource_id)
                await self._persist(write, restore)
            except Exception as exc:  # the build's error is the one to report
                _log.warning(
                    "vim.undo.failed pop=%s kind=%s id=%s error=%r",
                    self._name,
                    kind,
                    resource_id,
                    exc,
                )
            raise

    async def create_port(self, request: PortRequest) -> PortHandle:
        """See ``Vim.create_port``."""
        check_own(self._name, request.network.vim, "network", request.network.network_id)
        check_tag(request.tag)
        mac = normalise_mac(request.mac) if request.mac else ""
        async with self._lock:
            state = self._live()
            network = state.networks.get(request.network.network_id)
            if network is None:
                raise NotFound(
                    f"network {request.network.network_id} does not exist on {self._name}"
                )
            taken = set().union(*(state.addresses[n] for n in state.segment_of(network.id)))
            if request.address:
                address = network.subnet.claim(request.address, taken)
            else:
                free = network.subnet.next_free(taken)
                if free is None:
                    raise subnet_full(
                        self._name, network.id, network.subnet_id, str(network.subnet.network)
                    )
                address = free
            macs = state.macs[network.id]
            if mac and mac in macs:
                raise AlreadyExists(f"MAC {mac} is already taken on network {network.id}")
            record = PortRecord(
                _new_id(),
                network.id,
                request.name,
                address,
                mac or generate_mac(macs.keys()),
                request.tag,
            )
            state.add_port(record)
            handle = state.port_handle(self._name, record)
            write = self._store.put(self._name, record.saved(network.subnet))
        await self._persist(write, lambda: state.remove_port(record.id))
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
        """See ``Vim.delete_port``."""
        check_own(self._name, port.vim, "port", port.port_id)
        async with self._lock:
            state = self._live()
            if port.port_id not in state.ports:
                return
            holder = state.bound.get(port.port_id)
            if holder is not None:
                raise FailedPrecondition(
                    f"port {port.port_id} is attached to server {holder}; delete the server first"
                )
            port_record = state.ports[port.port_id]
            state.remove_port(port.port_id)
            write = self._store.delete(self._name, PORT, port.port_id)
        await self._persist(write, lambda: state.add_port(port_record))
        _log.info("vim.port.deleted pop=%s port=%s", self._name, port.port_id)

    async def create_server(self, request: ServerRequest) -> ServerHandle:
        """See ``Vim.create_server``; ``flavor`` and ``image_md5`` are recorded only.

        With netns, the server is a namespace with a veth per port on its
        network's bridge, and a router of the chain its metadata names
        (``CHAIN_UPSTREAM_KEY``, ``CHAIN_DOWNSTREAM_KEY``); chain ports that are
        not exactly two of its ports raise ``InvalidArgument``.
        """
        check_server_request(self._name, request)
        async with self._lock:
            state = self._live()
            for port in request.ports:
                if port.port_id not in state.ports:
                    raise NotFound(f"port {port.port_id} does not exist on {self._name}")
                holder = state.bound.get(port.port_id)
                if holder is not None:
                    raise FailedPrecondition(
                        f"port {port.port_id} is already attached to server {holder}"
                    )
            server_id = _new_id()
            plan = None
            if self._netns is not None:
                ports = [state.ports[p.port_id] for p in request.ports]
                on = [(port, state.networks[port.network_id]) for port in ports]
                plan = plan_vnf(server_id, on, request.metadata)
            free = self._total - state.used
            if not request.resources.fits_in(free):
                raise does_not_fit(self._name, request, free)
            record = ServerRecord(
                id=server_id,
                name=request.name,
                image=request.image,
                image_md5=request.image_md5,
                flavor=request.flavor,
                metadata=request.metadata,
                resources=request.resources,
                port_ids=tuple(p.port_id for p in request.ports),
                active_at=self._clock() + self._boot_delay_s,
                tag=request.tag,
            )
            state.add_server(record)
            write = self._store.put(self._name, record.saved())
        await self._persist(write, lambda: state.remove_server(record.id))
        if self._netns is not None and plan is not None:
            await self._build(
                self._netns.add_server(plan),
                SERVER,
                record.id,
                forget=lambda: state.remove_server(record.id),
                restore=lambda: state.add_server(record),
            )
        _log.info(
            "vim.server.created pop=%s server=%s name=%r resources=%s ports=%s",
            self._name,
            record.id,
            record.name,
            _compact(record.resources),
            ",".join(record.port_ids),
        )
        return record.handle(self._name)

    async def server_status(self, server: ServerHandle) -> ServerStatus:
        """See ``Vim.server_status``; ``BUILD`` until ``boot_delay_ms`` has passed."""
        check_own(self._name, server.vim, "server", server.server_id)
        record = self._live().servers.get(server.server_id)
        if record is None:
            return ServerStatus.DELETED
        return ServerStatus.ACTIVE if self._clock() >= record.active_at else ServerStatus.BUILD

    async def wait_active(self, server: ServerHandle, timeout_s: float) -> None:
        """See ``Vim.wait_active``: sleeps until ``boot_delay_ms`` after creation has passed."""
        check_own(self._name, server.vim, "server", server.server_id)
        deadline = time.monotonic() + timeout_s
        while True:
            record = self._live().servers.get(server.server_id)
            if record is None:
                raise FailedPrecondition(f"server {server.name} on pop {self._name} is gone")
            left = record.active_at - self._clock()
            if left <= 0:
                return
            if time.monotonic() + left > deadline:
                raise DeadlineExceeded(
                    f"server {server.name} on pop {self._name} not ACTIVE after {timeout_s:.0f}s"
                )
            await asyncio.sleep(left)

    async def delete_server(self, server: ServerHandle) -> None:
        """See ``Vim.delete_server``; with netns, its namespace and veths go first."""
        check_own(self._name, server.vim, "server", server.server_id)
        async with self._lock:
            found = self._live().servers.get(server.server_id)
        if found is None:
            return
        if self._netns is not None:
            await self._netns.remove_server(found.id, len(found.port_ids))
        async with self._lock:
            state = self._live()
            if server.server_id not in state.servers:
                return
            server_record = state.servers[server.server_id]
            state.remove_server(server.server_id)
            write = self._store.delete(self._name, SERVER, server.server_id)
        await self._persist(write, lambda: state.add_server(server_record))
        _log.info("vim.server.deleted pop=%s server=%s", self._name, server.server_id)

    async def tagged(self, tag: str) -> TaggedResources:
        """See ``Vim.tagged``: read from the tag index, so it costs what carries the tag."""
        check_lookup_tag(tag)
        return self._live().tagged(self._name, tag)

    def networks(self) -> tuple[NetworkHandle, ...]:
        """Handles of every network (emulated only: for audits and tests)."""
        return tuple(n.handle(self._name) for n in self._live().networks.values())

    def ports(self) -> tuple[PortHandle, ...]:
        """Handles of every port (emulated only: for audits and tests)."""
        state = self._live()
        return tuple(state.port_handle(self._name, p) for p in state.ports.values())

    def servers(self) -> tuple[ServerHandle, ...]:
        """Handles of every server (emulated only: for audits and tests)."""
        return tuple(s.handle(self._name) for s in self._live().servers.values())

    def _live(self) -> PopState:
        if self._state is None:
            raise FailedPrecondition(f"pop {self._name} is not started")
        return self._state
