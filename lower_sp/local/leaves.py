"""Leaves: the functions of a local part, mapped onto one of the node's VIMs.

For a part on a PoP: one network per link the part touches (subnet from the
address plan), one port per attached unit connection point (address from the
plan), one server per VM or container unit. Every handle is handed to
``record`` the moment the VIM returns it, so that compensation after any
failure, or after a crash, deletes exactly what exists.

At most ``CREATIONS_PER_PART`` creations of a part, and ``CREATIONS_PER_VIM``
of all the parts deploying on one VIM, are in flight at once. A VIM gains
nothing from hundreds of concurrent calls (OpenStack queues them in its thread
pool, the emulated PoP under one lock), while each call in flight holds a
task, a coroutine and their closures, and keeps callbacks in the event loop's
queue: with dozens of services deploying, every other caller of the node
waited behind all of them (the noisy-neighbour benchmark).
"""

from __future__ import annotations

import asyncio
import ipaddress
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter

from addressing import AddressPlan
from lower_sp.local.vim import (
    CHAIN_DOWNSTREAM_KEY,
    CHAIN_UPSTREAM_KEY,
    NetworkHandle,
    NetworkRequest,
    PortHandle,
    PortRequest,
    ServerHandle,
    ServerRequest,
    Vim,
)
from spfed.errors import Internal
from spfed.gathering import gather_all
from spfed.model import PortRecord, UnitKind, UnitRecord, VnfDescriptor, VnfRecord, split_ref

__all__ = [
    "CREATIONS_PER_PART",
    "CREATIONS_PER_VIM",
    "Handle",
    "HandleKind",
    "LocalMember",
    "PortBinding",
    "decode_handle",
    "deploy_part",
    "encode_handle",
    "handle_id",
    "port_bindings",
    "undeploy",
]

T = TypeVar("T")
A = TypeVar("A")
Handle = NetworkHandle | PortHandle | ServerHandle
HandleKind = Literal["network", "port", "server"]
Record = Callable[[HandleKind, str, Handle], None]
_HANDLES: dict[HandleKind, TypeAdapter[Handle]] = {
    "network": TypeAdapter(NetworkHandle),
    "port": TypeAdapter(PortHandle),
    "server": TypeAdapter(ServerHandle),
}


CREATIONS_PER_PART = 16
"""VIM creations (networks, then ports, then servers) of one part in flight at once."""
CREATIONS_PER_VIM = 16
"""VIM creations in flight at once on one VIM, over every part deploying on it."""

_VIM_SLOTS: weakref.WeakKeyDictionary[Vim, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _slots(vim: Vim) -> asyncio.Semaphore:
    """The node-wide bound on ``vim``'s creations in flight (``CREATIONS_PER_VIM``)."""
    slots = _VIM_SLOTS.get(vim)
    if slots is None:
        slots = _VIM_SLOTS[vim] = asyncio.Semaphore(CREATIONS_PER_VIM)
    return slots


def encode_handle(kind: HandleKind, handle: Handle) -> str:
    """Serialise a handle for the handle store."""
    return _HANDLES[kind].dump_json(handle).decode()


def decode_handle(kind: str, text: str) -> Handle:
    """Read a handle written by ``encode_handle``."""
    if kind not in _HANDLES:
        raise Internal(f"unknown handle kind {kind!r}")
    return _HANDLES[kind].validate_json(text)


@dataclass(frozen=True)
class LocalMember:
    """A function deployed in the part."""

    member: str
    """Member id in the service."""
    vnfd: VnfDescriptor
    """Its descriptor."""


@dataclass(frozen=True)
class PortBinding:
    """A unit connection point attached to a link of the deployed service."""

    member: str
    """Member id."""
    unit: str
    """Unit id."""
    cp: str
    """Unit connection point."""
    link: str
    """Link id in the service (a service link, or ``member/vl`` for links inside the function)."""

    @property
    def endpoint(self) -> str:
        """Endpoint name in the address plan."""
        return f"{self.member}/{self.unit}:{self.cp}"


def port_bindings(
    member: str, vnfd: VnfDescriptor, external: Mapping[str, str]
) -> list[PortBinding]:
    """Where each unit connection point of a function attaches.

    ``external`` maps the function's external points to the service links
    they sit on. A VNFD link that reaches an external point joins that
    service link; any other VNFD link is internal (``member/vl``).
    """
    out: list[PortBinding] = []
    for vl in vnfd.virtual_links:
        link = f"{member}/{vl.id}"
        for ref in vl.connection_points_reference:
            owner, cp = split_ref(ref)
            if owner is None and cp in external:
                link = external[cp]
        for ref in vl.connection_points_reference:
            owner, cp = split_ref(ref)
            if owner is not None:
                out.append(PortBinding(member, owner, cp, link))
    return out


def _two_address(subnet: str) -> bool:
    return ipaddress.ip_network(subnet).num_addresses == 2


def _bare(address: str) -> str:
    return str(ipaddress.ip_interface(address).ip) if address else ""


class _Creations:
    """VIM creations that run to the end once started, even if the caller is cancelled.

    A creation is the VIM call plus handing its handle to ``record``; cut
    between the two, a resource would exist that nothing knows how to
    delete. ``settle`` waits until every started creation has finished.
    """

    def __init__(self) -> None:
        # Only unfinished creations: a finished one holds nothing settle must wait for.
        self._running: set[asyncio.Future[Any]] = set()

    async def run(self, creation: Awaitable[T]) -> T:
        task: asyncio.Future[T] = asyncio.ensure_future(creation)
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def settle(self) -> None:
        while self._running:
            await asyncio.wait(set(self._running))


async def _bounded(
    items: Sequence[A], create: Callable[[A], Awaitable[T]], slots: asyncio.Semaphore | None = None
) -> list[T]:
    """``create(item)`` for each item, ``CREATIONS_PER_PART`` at most at once; results in order.

    On the first failure no further item starts and the error is raised as
    ``gather_all`` raises it; cancelled, likewise. A creation already handed
    to ``_Creations.run`` finishes regardless (``deploy_part`` settles it).
    """
    results: dict[int, T] = {}
    # One iterator shared by the workers: each index is taken exactly once.
    indexes = iter(range(len(items)))

    async def worker() -> None:
        for i in indexes:
            if slots is None:
                results[i] = await create(items[i])
            else:
                async with slots:
                    results[i] = await create(items[i])

    await gather_all(*(worker() for _ in range(min(CREATIONS_PER_PART, len(items)))))
    return [results[i] for i in range(len(items))]


async def deploy_part(
    vim: Vim,
    label: str,
    members: Sequence[LocalMember],
    bindings: Sequence[PortBinding],
    plan: AddressPlan,
    record: Record,
    chains: Mapping[tuple[str, str], tuple[str, str]] | None = None,
    tag: str = "",
) -> tuple[VnfRecord, ...]:
    """Create the networks, ports and servers of a part on ``vim``.

    Every object carries ``tag`` (the part's intent key, ``spfed.model.vim_tag``),
    so that one created but never handed to ``record`` (the node crashed in
    between) is still found, with ``Vim.tagged``, and deleted.

    ``chains`` gives, for a ``(member, unit)`` a forwarding path crosses, its
    upstream and downstream connection points; the server's metadata names the
    two ports (``CHAIN_UPSTREAM_KEY``, ``CHAIN_DOWNSTREAM_KEY``), so that a VIM
    that runs functions as routers forwards along the chain.

    ``record`` gets every handle the moment the VIM returns it; it queues the
    handle's record (without blocking), and the caller makes sure the records
    are durable before it reports the part deployed.

    Every creation that started has handed its handle to ``record`` by the
    time this returns or raises, cancellation included.

    Raises:
        SpfedError: from the VIM (e.g. ``ResourceExhausted``); what was
            created so far has been passed to ``record`` and must be undone
            by the caller with ``undeploy``.
    """
    creations = _Creations()
    try:
        return await _deploy(
            vim, label, members, bindings, plan, record, creations, chains or {}, tag
        )
    finally:
        await creations.settle()


async def _deploy(
    vim: Vim,
    label: str,
    members: Sequence[LocalMember],
    bindings: Sequence[PortBinding],
    plan: AddressPlan,
    record: Record,
    creations: _Creations,
    chains: Mapping[tuple[str, str], tuple[str, str]],
    tag: str,
) -> tuple[VnfRecord, ...]:

    def port_name(member: str, unit: str, cp: str) -> str:
        return f"{label}-{member}-{unit}-{cp}"

    # Lookups by member and unit go through indexes, not scans of every member or
    # port: a part at ``limits.max_functions`` has hundreds of each.
    vnfds = {m.member: m.vnfd for m in members}

    async def network(link: str) -> tuple[str, NetworkHandle]:
        lp = plan.links[link]
        request = NetworkRequest(
            name=f"{label}-{link}",
            cidr=lp.subnet,
            gateway=lp.gateway,
            point_to_point=not lp.gateway and _two_address(lp.subnet),
            segmentation_id=lp.vni,
            dhcp=lp.dhcp,
            mtu=lp.mtu,
            tag=tag,
        )

        async def create() -> NetworkHandle:
            handle = await vim.create_network(request)
            record("network", handle.network_id, handle)
            return handle

        return link, await creations.run(create())

    links = sorted({b.link for b in bindings if b.link in plan.links})
    networks = dict(await _bounded(links, network, _slots(vim)))

    async def port(binding: PortBinding) -> tuple[PortBinding, PortHandle]:
        cp = next(
            (
                c
                for u in vnfds[binding.member].deployment_units
                if u.id == binding.unit
                for c in u.connection_points
                if c.id == binding.cp
            ),
            None,
        )
        link_plan = plan.links[binding.link]
        request = PortRequest(
            name=port_name(binding.member, binding.unit, binding.cp),
            network=networks[binding.link],
            address=_bare(plan.address_of(binding.link, binding.endpoint)),
            # The plan's MAC keeps MACs unique across the service's whole tree; a MAC the
            # descriptor fixes is used only where the plan has none.
            mac=link_plan.macs.get(binding.endpoint, "") or (cp.mac if cp is not None else ""),
            tag=tag,
        )

        async def create() -> PortHandle:
            handle = await vim.create_port(request)
            record("port", handle.port_id, handle)
            return handle

        return binding, await creations.run(create())

    attached = [b for b in bindings if b.link in networks]
    ports = dict(await _bounded(attached, port, _slots(vim)))
    ports_of: dict[tuple[str, str], list[tuple[PortBinding, PortHandle]]] = {}
    for b, h in ports.items():
        ports_of.setdefault((b.member, b.unit), []).append((b, h))

    async def server(member: LocalMember, unit_id: str) -> tuple[str, str, ServerHandle | None]:
        unit = next(u for u in member.vnfd.deployment_units if u.id == unit_id)
        if unit.kind is UnitKind.PHYSICAL:
            return member.member, unit_id, None
        unit_ports = tuple(h for _, h in ports_of.get((member.member, unit_id), ()))
        metadata = {"spfed-member": member.member, "spfed-unit": unit_id}
        chain = chains.get((member.member, unit_id))
        if chain is not None:
            metadata[CHAIN_UPSTREAM_KEY] = port_name(member.member, unit_id, chain[0])
            metadata[CHAIN_DOWNSTREAM_KEY] = port_name(member.member, unit_id, chain[1])
        request = ServerRequest(
            name=f"{label}-{member.member}-{unit_id}",
            image=unit.vm_image or unit.vm_image_md5 or member.vnfd.ref.name,
            resources=unit.resource_requirements,
            ports=unit_ports,
            image_md5=unit.vm_image_md5,
            flavor=unit.vm_flavor,
            metadata=metadata,
            tag=tag,
        )

        async def create() -> ServerHandle:
            handle = await vim.create_server(request)
            record("server", handle.server_id, handle)
            return handle

        return member.member, unit_id, await creations.run(create())

    unit_ids = [(m, u.id) for m in members for u in m.vnfd.deployment_units]
    servers = await _bounded(unit_ids, lambda mu: server(*mu), _slots(vim))
    by_unit = {(m, u): h for m, u, h in servers}
    records = []
    for m in members:
        units = []
        for u in m.vnfd.deployment_units:
            handle = by_unit.get((m.member, u.id))
            units.append(
                UnitRecord(
                    unit_id=u.id,
                    server_id=handle.server_id if handle else "",
                    resources=handle.resources if handle else u.resource_requirements,
                    ports=tuple(
                        PortRecord(
                            b.cp,
                            b.link,
                            h.address,
                            h.mac,
                            plan.links[b.link].port_ids.get(b.endpoint, ""),
                            plan.links[b.link].vni,
                            plan.links[b.link].mtu,
                            plan.links[b.link].private,
                        )
                        for b, h in ports_of.get((m.member, u.id), ())
                    ),
                )
            )
        records.append(VnfRecord(m.member, m.vnfd.ref, vim.name, tuple(units)))
    return tuple(records)


def handle_id(handle: Handle) -> str:
    """The VIM's id of the resource a handle names."""
    if isinstance(handle, ServerHandle):
        return handle.server_id
    if isinstance(handle, PortHandle):
        return handle.port_id
    return handle.network_id


async def undeploy(
    vim: Vim, handles: Sequence[tuple[str, Handle]], forget: Callable[[str, str], Awaitable[None]]
) -> None:
    """Delete recorded resources: servers, then ports, then networks.

    Idempotent; ``forget(kind, id)`` is called after each deletion.
    """
    for kind in ("server", "port", "network"):
        batch = [h for k, h in handles if k == kind]

        async def delete(handle: Handle, kind: str = kind) -> None:
            if isinstance(handle, ServerHandle):
                await vim.delete_server(handle)
            elif isinstance(handle, PortHandle):
                await vim.delete_port(handle)
            else:
                await vim.delete_network(handle)
            await forget(kind, handle_id(handle))

        await gather_all(*(delete(h) for h in batch))
