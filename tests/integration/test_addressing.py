"""Addressing across a federation of real nodes, end to end through the top node.

Pools that run dry at the top and below; lower SPs that report addresses outside what
they were given; restarts around the plan; descriptor ``cidr`` and ``dhcp`` hints and
customers' NAPs; IPv6 services; and, for every delegated part of the tree, what the
lower SP reports checked against what its upper SP gave it (with ``ipaddress``, not
the production checks, so that the test stands on its own).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import sqlite3
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from spfed.errors import FailedPrecondition, InvalidArgument
from spfed.lifecycle import NodeRuntime
from spfed.model import (
    AddressAssignment,
    AddressConstraint,
    AddressConstraints,
    ConnectivityType,
    InstantiateRequest,
    Nap,
    Operation,
    PartKind,
    PlacementConstraints,
    PortRecord,
    Resources,
    ServiceDescriptors,
    ServiceEvent,
    ServiceRecord,
    ServiceState,
    split_ref,
)
from tests.integration._federation import (
    DEMO_RULES,
    Federation,
    Operator,
    demo_request,
    demo_spec,
    settle,
    tree_addresses,
)
from tests.integration._relaying import Relaying
from upper_sp.delegation import LowerSp

pytestmark = pytest.mark.timeout(60)

ZERO = Resources()


# --- helpers -------------------------------------------------------------------------


def _rt(fed: Federation, op_id: str) -> NodeRuntime:
    lifecycle = fed.nodes[op_id].lifecycle
    assert lifecycle is not None
    return lifecycle.rt


def _held(fed: Federation, op_id: str = "retail") -> dict[str, str]:
    return _rt(fed, op_id).blocks.held()


def _spec(**settings: dict[str, Any]) -> dict[str, Operator]:
    """The demo topology with extra configuration sections for some operators."""
    spec = demo_spec()
    for op_id, sections in settings.items():
        spec[op_id] = replace(spec[op_id], settings=sections)
    return spec


async def _all_released(fed: Federation) -> None:
    """Every PoP of every node back to zero used (bounded wait: deletions may trail)."""
    for _ in range(100):
        if set((await fed.used()).values()) == {ZERO}:
            return
        await asyncio.sleep(0.05)
    assert await fed.used() == dict.fromkeys(fed.nodes, ZERO)


async def _states(fed: Federation, op_id: str) -> list[ServiceState]:
    async with fed.client(op_id) as client:
        return [s.state for s in await client.list_services(include_inactive=True)]


async def _run(fed: Federation, request: InstantiateRequest) -> ServiceRecord:
    async with fed.client("retail") as top:
        op = await top.instantiate(request)
        record, _ = await settle(top, op.service_id)
    return record


async def _terminate(fed: Federation, service_id: str) -> ServiceRecord:
    async with fed.client("retail") as top:
        await top.terminate(service_id, f"t-{service_id}")
        record, _ = await settle(top, service_id)
    return record


def _ports(record: ServiceRecord) -> Iterator[tuple[str, PortRecord]]:
    """Every port of a service tree with the operator that deployed it."""
    for part in record.parts:
        for vnf in part.vnfs:
            for unit in vnf.units:
                for port in unit.ports:
                    yield record.operator, port
        if part.remote is not None:
            yield from _ports(part.remote)


def _with_links(request: InstantiateRequest, **changes: dict[str, Any]) -> InstantiateRequest:
    """The request with some NSD links changed (by link id, ``-`` for ``_``)."""
    assert request.descriptors is not None
    nsd = request.descriptors.nsd
    by_id = {k.replace("_", "-"): v for k, v in changes.items()}
    links = tuple(replace(vl, **by_id[vl.id]) if vl.id in by_id else vl for vl in nsd.virtual_links)
    assert {vl.id for vl in links} >= set(by_id)
    descriptors = ServiceDescriptors(
        replace(nsd, virtual_links=links),
        request.descriptors.vnfds,
        request.descriptors.nested_nsds,
    )
    return replace(request, descriptors=descriptors)


def _secure_chain_elines() -> set[str]:
    request = demo_request("x")
    assert request.descriptors is not None
    return {
        vl.id
        for vl in request.descriptors.nsd.virtual_links
        if vl.connectivity_type is ConnectivityType.E_LINE
    }


# --- an independent audit of a service tree -------------------------------------------


def _inside(address: str, allowed: str) -> bool:
    """``ip/len`` inside a prefix or a ``first-last`` range."""
    ip = ipaddress.ip_interface(address).ip
    if "-" in allowed:
        low, high = (ipaddress.ip_address(x) for x in allowed.split("-"))
        return low.version == ip.version and int(low) <= int(ip) <= int(high)
    network = ipaddress.ip_network(allowed)
    return network.version == ip.version and int(network.network_address) <= int(ip) <= int(
        network.broadcast_address
    )


def _mac_inside(mac: str, block: str) -> bool:
    base, _, length = block.partition("/")
    shift = 48 - int(length)
    return int(mac.replace(":", ""), 16) >> shift == int(base.replace(":", ""), 16) >> shift


def _assignment_faults(c: AddressConstraint, a: AddressAssignment) -> list[str]:
    faults = []
    interface = ipaddress.ip_interface(a.address)
    if not _inside(a.address, c.prefix):
        faults.append(f"{a.address} outside {c.prefix}")
    if str(interface.ip) in {*c.excluded, c.gateway}:
        faults.append(f"{a.address} is excluded")
    subnet = c.subnet or c.prefix
    if "-" not in subnet and interface.network != ipaddress.ip_network(subnet):
        faults.append(f"{a.address} not on the link's subnet {subnet}")
    if c.vni is not None and not c.vni.first <= a.vni <= c.vni.last:
        faults.append(f"VNI {a.vni} outside {c.vni}")
    if c.mac_prefix and not (a.mac and _mac_inside(a.mac, c.mac_prefix)):
        faults.append(f"MAC {a.mac!r} outside {c.mac_prefix}")
    if c.port_id_prefix and not a.port_id.startswith(c.port_id_prefix):
        faults.append(f"port id {a.port_id!r} not under {c.port_id_prefix!r}")
    if c.mtu and not 0 < a.mtu <= c.mtu:
        faults.append(f"MTU {a.mtu} above {c.mtu}")
    return faults


@dataclass
class Audit:
    """What was checked in a service tree, and what was wrong."""

    elines: set[str]
    faults: list[str] = field(default_factory=list)
    assignments: int = 0
    crossing: set[str] = field(default_factory=set)

    def tree(self, record: ServiceRecord, where: str = "") -> None:
        """Every delegated part against its constraints, every crossing link's ends."""
        where = where or record.operator
        ends: dict[str, list[tuple[str, str]]] = {}
        for part in record.parts:
            for vnf in part.vnfs:
                for unit in vnf.units:
                    for port in unit.ports:
                        if not port.private:
                            ends.setdefault(port.virtual_link, []).append((part.id, port.address))
            if part.kind is not PartKind.DELEGATED:
                continue
            remote = part.remote
            if remote is None:
                self.faults.append(f"{where}/{part.id}: no record of the sub-service")
                continue
            given = {c.connection_point: c for c in part.constraints}
            for a in remote.assignments:
                self.assignments += 1
                c = given.get(a.connection_point)
                if c is None:
                    self.faults.append(f"{where}/{part.id}: {a.connection_point} has no constraint")
                    continue
                self.faults += [f"{where}/{part.id}: {f}" for f in _assignment_faults(c, a)]
                ends.setdefault(a.connection_point, []).append((part.id, a.address))
            unanswered = set(given) - {a.connection_point for a in remote.assignments}
            if unanswered:
                self.faults.append(f"{where}/{part.id}: nothing reported for {unanswered}")
            allowed = [part.address_space, *(c.prefix for c in part.constraints)]
            for _, port in _ports(remote):
                if not port.private and not any(_inside(port.address, x) for x in allowed):
                    self.faults.append(f"{where}/{part.id}: port {port.address} outside {allowed}")
            self.tree(remote, f"{where}/{part.lower_sp}")
        for link, link_ends in ends.items():
            if len({p for p, _ in link_ends}) < 2:
                continue
            self.crossing.add(link)
            self._same_link(f"{where}: {link}", link in self.elines, link_ends)

    def own_points(self, record: ServiceRecord, request: InstantiateRequest) -> None:
        """The top's own points: every far end of a point's link lies on the point's
        subnet, and an E-Line point and its one far end are the two ends of a /31 (/127)."""
        assert request.descriptors is not None
        own = {c.connection_point: c for c in record.constraints}
        for vl in request.descriptors.nsd.virtual_links:
            for ref in vl.connection_points_reference:
                member, point = split_ref(ref)
                if member is not None or point not in own:
                    continue
                self.crossing.add(vl.id)
                c = own[point]
                far = _link_ends(record, vl.id) + [
                    (part.id, a.address)
                    for part in record.parts
                    if part.remote is not None
                    for a in part.remote.assignments
                    if a.connection_point == vl.id
                ]
                subnet = ipaddress.ip_network(c.subnet or c.prefix)
                if not far or any(ipaddress.ip_interface(a).network != subnet for _, a in far):
                    self.faults.append(f"own point {point}: far ends {far} not on {subnet}")
                if vl.connectivity_type is ConnectivityType.E_LINE:
                    mine = ipaddress.ip_network(c.prefix).network_address
                    ips = [ipaddress.ip_interface(a).ip for _, a in far]
                    if subnet.num_addresses != 2 or ips != [x for x in subnet if x != mine]:
                        self.faults.append(f"own point {point}: {c.prefix} and {far} no pair")

    def _same_link(self, what: str, eline: bool, link_ends: list[tuple[str, str]]) -> None:
        nets = {ipaddress.ip_interface(a).network for _, a in link_ends}
        ips = [ipaddress.ip_interface(a).ip for _, a in link_ends]
        if len(nets) != 1:
            self.faults.append(f"{what}: ends on different subnets {link_ends}")
        if len(set(ips)) != len(ips):
            self.faults.append(f"{what}: an address twice {link_ends}")
        if eline:
            net = next(iter(nets))
            if len(link_ends) != 2 or net.num_addresses != 2:
                self.faults.append(f"{what}: an E-Line, not a /31 (/127) pair: {link_ends}")

    def unique(self, record: ServiceRecord) -> None:
        """No address, MAC or port id twice in the whole tree."""
        ports = [p for _, p in _ports(record) if not p.private]
        for what, values in (
            ("address", [str(ipaddress.ip_interface(p.address).ip) for p in ports]),
            ("MAC", [p.mac.lower() for p in ports]),
            ("port id", [p.port_id for p in ports]),
        ):
            if not all(values):
                self.faults.append(f"a port without {what}")
            twice = {v for v in values if values.count(v) > 1}
            if twice:
                self.faults.append(f"{what} held twice: {sorted(twice)}")


def _link_ends(record: ServiceRecord, link: str) -> list[tuple[str, str]]:
    return [
        (part.id, port.address)
        for part in record.parts
        for vnf in part.vnfs
        for unit in vnf.units
        for port in unit.ports
        if port.virtual_link == link and not port.private
    ]


def audit(record: ServiceRecord, request: InstantiateRequest) -> Audit:
    """The audit of a settled service tree."""
    result = Audit(_secure_chain_elines())
    result.tree(record)
    result.own_points(record, request)
    result.unique(record)
    return result


# --- test doubles behind the lower-SP client interface --------------------------------


class Lying(Relaying):
    """A lower SP that reports an ACTIVE sub-service other than it is."""

    def __init__(self, inner: LowerSp, lie: Callable[[ServiceRecord], ServiceRecord]) -> None:
        super().__init__(inner)
        self.lie = lie
        self.lies = 0

    async def get_service(self, service_id: str) -> ServiceRecord:
        record = await self.inner.get_service(service_id)
        if record.state is not ServiceState.ACTIVE:
            return record
        self.lies += 1
        return self.lie(record)


class Gated(Relaying):
    """Holds each instantiation until ``admit`` is set, and every watch until ``follow`` is."""

    def __init__(self, inner: LowerSp) -> None:
        super().__init__(inner)
        self.entered = asyncio.Event()
        self.admit = asyncio.Event()
        self.follow = asyncio.Event()

    async def instantiate(self, request: InstantiateRequest) -> Operation:
        self.entered.set()
        await self.admit.wait()
        return await self.inner.instantiate(request)

    async def watch_service(
        self,
        service_id: str,
        *,
        after: int = 0,
        until_settled: bool = False,
        milestones: bool = False,
    ) -> AsyncGenerator[ServiceEvent, None]:
        await self.follow.wait()
        stream = self.inner.watch_service(
            service_id, after=after, until_settled=until_settled, milestones=milestones
        )
        async for event in stream:
            yield event


def install(fed: Federation, op_id: str, lower: str, make: Callable[[LowerSp], Relaying]) -> Any:
    """Put a double in front of one node's client of one of its lower SPs."""
    rt = _rt(fed, op_id)
    lowers: dict[str, LowerSp] = dict(rt.lowers)
    double = lowers[lower] = make(lowers[lower])
    rt.lowers = lowers
    return double


def _assignment(record: ServiceRecord, point: str, **changes: Any) -> ServiceRecord:
    """The record with the first assignment on ``point`` changed."""
    out, done = [], False
    for a in record.assignments:
        changed = not done and a.connection_point == point
        out.append(replace(a, **changes) if changed else a)
        done = done or changed
    assert done, point
    return replace(record, assignments=tuple(out))


def _first_assignment(record: ServiceRecord, point: str) -> AddressAssignment:
    return next(a for a in record.assignments if a.connection_point == point)


def _port(
    record: ServiceRecord, link: str, address: Callable[[ServiceRecord, str], str]
) -> ServiceRecord:
    """The record with the address of the first port on ``link`` changed."""
    new = address(record, link)
    parts, done = [], False
    for part in record.parts:
        vnfs = []
        for vnf in part.vnfs:
            units = []
            for unit in vnf.units:
                ports = []
                for port in unit.ports:
                    changed = not done and port.virtual_link == link
                    ports.append(replace(port, address=new) if changed else port)
                    done = done or changed
                units.append(replace(unit, ports=tuple(ports)))
            vnfs.append(replace(vnf, units=tuple(units)))
        parts.append(replace(part, vnfs=tuple(vnfs)))
    assert done, link
    return replace(record, parts=tuple(parts))


def _peer(record: ServiceRecord, link: str) -> str:
    """The other address of the /31 the upper SP gave on ``link``: the upper's own port."""
    c = next(c for c in record.constraints if c.connection_point == link)
    subnet = ipaddress.ip_network(c.subnet)
    mine = ipaddress.ip_network(c.prefix).network_address
    other = next(ip for ip in (subnet.network_address, subnet.broadcast_address) if ip != mine)
    return f"{other}/{subnet.prefixlen}"


# --- 1. pools run dry -------------------------------------------------------------------


async def test_a_dry_service_pool_fails_the_next_service_and_keeps_nothing_of_it(
    tmp_path: Path,
) -> None:
    one_block = {"service_pool": "10.9.0.0/16", "service_prefix_length": 16}
    fed = await Federation.start(tmp_path, _spec(retail={"addressing": one_block}))
    try:
        first = await _run(fed, demo_request("first"))
        assert first.state is ServiceState.ACTIVE
        assert first.address_space == "10.9.0.0/16"
        held, used = _held(fed), await fed.used()
        assert set(held.values()) == {first.id}
        assert len(held) == 3  # block, VNIs, MACs

        second = await _run(fed, demo_request("second"))
        assert second.state is ServiceState.FAILED
        assert second.error is not None
        assert second.error.code == "RESOURCE_EXHAUSTED"
        assert "services" in second.error.message
        assert [q.subject for q in second.error.quota_violations] == ["pool:services"]
        assert _held(fed) == held
        assert await fed.used() == used
        for lower in ("wholesale-eu", "wholesale-us"):
            assert await _states(fed, lower) == [ServiceState.ACTIVE]

        # Once the first is gone, the pool serves again.
        assert (await _terminate(fed, first.id)).state is ServiceState.TERMINATED
        assert _held(fed) == {}
        third = await _run(fed, demo_request("third"))
        assert third.state is ServiceState.ACTIVE
        assert third.address_space == "10.9.0.0/16"
    finally:
        await fed.stop()


async def test_a_dry_vni_pool_fails_the_next_service_and_releases_its_block_too(
    tmp_path: Path,
) -> None:
    vnis = {"vni_pool": "100000-100099", "service_vnis": 64}
    fed = await Federation.start(tmp_path, _spec(retail={"addressing": vnis}))
    try:
        first = await _run(fed, demo_request("first"))
        assert first.state is ServiceState.ACTIVE
        held, used = _held(fed), await fed.used()
        assert held["100000-100063"] == first.id

        second = await _run(fed, demo_request("second"))
        assert second.state is ServiceState.FAILED
        assert second.error is not None
        assert second.error.code == "RESOURCE_EXHAUSTED"
        assert "vnis" in second.error.message
        assert [q.subject for q in second.error.quota_violations] == ["pool:vnis"]
        # The address block drawn before the VNIs ran out went back as well.
        assert _held(fed) == held
        assert second.id not in _held(fed).values()
        assert await fed.used() == used

        assert (await _terminate(fed, first.id)).state is ServiceState.TERMINATED
        third = await _run(fed, demo_request("third"))
        assert third.state is ServiceState.ACTIVE
        assert set(_held(fed).values()) == {third.id}
    finally:
        await fed.stop()


async def test_a_part_space_too_small_below_fails_the_top_and_compensates_the_tree(
    tmp_path: Path,
) -> None:
    # A /41 MAC block split eight ways leaves each lower SP a /44, which it splits
    # again: two MACs for its own functions, fewer than they have interfaces.
    small = {"service_mac_prefix_length": 41}
    fed = await Federation.start(tmp_path, _spec(retail={"addressing": small}))
    try:
        record = await _run(fed, demo_request("small"))
        assert record.state is ServiceState.FAILED
        assert record.error is not None
        assert record.error.code == "RESOURCE_EXHAUSTED"
        assert record.error.origin[0] == "retail"
        assert record.error.origin[1] in ("wholesale-eu", "wholesale-us")  # raised below
        assert record.error.quota_violations
        assert all(q.subject.startswith("macs:") for q in record.error.quota_violations)
        await _all_released(fed)
        for op_id in fed.nodes:
            assert _held(fed, op_id) == {}, op_id
        for lower in ("wholesale-eu", "wholesale-us", "edge-be"):
            assert set(await _states(fed, lower)) <= {ServiceState.TERMINATED}, lower
        assert record.parts == ()
    finally:
        await fed.stop()


# --- 2. a lower SP that lies about what it chose ----------------------------------------


def _outside_address(r: ServiceRecord) -> ServiceRecord:
    return _assignment(r, "fw-2-dpi", address="192.0.2.1/31")


def _outside_vni(r: ServiceRecord) -> ServiceRecord:
    return _assignment(r, "fw-2-dpi", vni=_first_assignment(r, "fw-2-dpi").vni + 1)


def _outside_mac(r: ServiceRecord) -> ServiceRecord:
    return _assignment(r, "mgmt", mac="02:00:00:00:00:01")


def _outside_port(r: ServiceRecord) -> ServiceRecord:
    return _port(r, "mgmt", lambda _r, _l: "192.0.2.7/24")


def _duplicate_port(r: ServiceRecord) -> ServiceRecord:
    return _port(r, "fw-2-dpi", _peer)


def _deep_mac(r: ServiceRecord) -> ServiceRecord:
    return _assignment(r, "nat-2-cdn", mac="0a:00:00:00:00:01")


LIES = {
    "assignment-in-another-subnet": ("retail", "wholesale-us", _outside_address, "192.0.2.1/31"),
    "vni-outside-range": ("retail", "wholesale-us", _outside_vni, "VNI"),
    "mac-outside-prefix": ("retail", "wholesale-us", _outside_mac, "MAC 02:00:00:00:00:01"),
    "port-in-another-subnet": ("retail", "wholesale-us", _outside_port, "192.0.2.7/24, outside"),
    "port-on-another-parts-address": ("retail", "wholesale-us", _duplicate_port, "held by"),
    "two-levels-down": ("wholesale-eu", "edge-be", _deep_mac, "MAC 0a:00:00:00:00:01"),
}


@pytest.mark.parametrize("case", list(LIES))
async def test_a_lower_sp_reporting_outside_its_constraints_fails_and_compensates(
    tmp_path: Path, case: str
) -> None:
    holder, lower, lie, problem = LIES[case]
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        liar: Lying = install(fed, holder, lower, lambda inner: Lying(inner, lie))
        record = await _run(fed, demo_request(case))
        assert liar.lies >= 1
        assert record.state is ServiceState.FAILED
        assert record.error is not None
        assert record.error.code == "FAILED_PRECONDITION", record.error
        assert record.error.origin == (("retail",) if holder == "retail" else ("retail", holder))
        assert f"lower SP {lower}" in record.error.message
        assert problem in record.error.message
        await _all_released(fed)
        assert _held(fed) == {}
        for op_id in ("wholesale-eu", "wholesale-us", "edge-be"):
            assert set(await _states(fed, op_id)) == {ServiceState.TERMINATED}, op_id
    finally:
        await fed.stop()


# --- 3. restarts ------------------------------------------------------------------------


def _lowers(spec: dict[str, Operator]) -> list[str]:
    return list(spec["retail"].children)


async def test_a_restart_between_plan_and_delegation_releases_the_block(tmp_path: Path) -> None:
    spec = demo_spec()
    fed = await Federation.start(tmp_path, spec)
    try:
        gates: list[Gated] = [install(fed, "retail", lower, Gated) for lower in _lowers(spec)]
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("cut"))
        async with asyncio.timeout(10):
            for gate in gates:
                await gate.entered.wait()
        # Planned (the block is taken), nothing delegated yet.
        assert set(_held(fed).values()) == {op.service_id}
        for lower in _lowers(spec):
            assert await _states(fed, lower) == []
        stopping = asyncio.create_task(fed.nodes["retail"].stop(0))
        for gate in gates:  # admissions in flight run to their end; nothing is followed
            gate.admit.set()
        await stopping
        await fed.start_node("retail", spec)

        async with fed.client("retail") as top:
            record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.FAILED
        assert record.error is not None
        assert record.error.code == "ABORTED"
        await _all_released(fed)
        assert _held(fed) == {}
        for lower in _lowers(spec):
            assert set(await _states(fed, lower)) <= {ServiceState.TERMINATED}

        after = await _run(fed, demo_request("after"))
        assert after.state is ServiceState.ACTIVE
        assert set(_held(fed).values()) == {after.id}
        assert audit(after, demo_request("after")).faults == []
    finally:
        await fed.stop()


async def test_allocations_survive_a_restart_and_terminate_releases_exactly_them(
    tmp_path: Path,
) -> None:
    spec = demo_spec()
    fed = await Federation.start(tmp_path, spec)
    try:
        a = await _run(fed, demo_request("a"))
        b = await _run(fed, demo_request("b"))
        assert a.state is b.state is ServiceState.ACTIVE
        held = _held(fed)
        of_b = {k: v for k, v in held.items() if v == b.id}
        assert len(of_b) == 3
        assert len(held) == 6

        await fed.nodes["retail"].stop()
        await fed.start_node("retail", spec)
        assert _held(fed) == held

        assert (await _terminate(fed, a.id)).state is ServiceState.TERMINATED
        assert _held(fed) == of_b
        c = await _run(fed, demo_request("c"))
        assert c.state is ServiceState.ACTIVE
        assert c.address_space == a.address_space  # first fit: a's block again
        blocks = [ipaddress.ip_network(x) for x in (b.address_space, c.address_space)]
        assert not blocks[0].overlaps(blocks[1])
    finally:
        await fed.stop()


# --- 4. descriptor hints and customers' NAPs -------------------------------------------


def _networks(fed: Federation, op_id: str) -> list[dict[str, Any]]:
    """The networks an operator's emulated PoPs keep, as stored."""
    uri = f"file:{fed.tmp / op_id}.db?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        rows = db.execute("SELECT data FROM emulated_resources WHERE kind = 'network'").fetchall()
    return [json.loads(data) for (data,) in rows]


async def test_descriptor_cidr_and_dhcp_hints_are_honoured_across_the_tree(
    tmp_path: Path,
) -> None:
    one_block = {"service_pool": "10.20.0.0/16", "service_prefix_length": 16}
    fed = await Federation.start(tmp_path, _spec(retail={"addressing": one_block}))
    try:
        # A cidr outside the service's block is refused, naming the link; nothing is kept.
        refused = await _run(
            fed, _with_links(demo_request("far"), fw_2_dpi={"cidr": "192.168.50.0/24"})
        )
        assert refused.state is ServiceState.FAILED
        assert refused.error is not None
        assert refused.error.code == "FAILED_PRECONDITION"
        assert [v.field for v in refused.error.field_violations] == ["virtual_links[fw-2-dpi].cidr"]
        # Two links asking for the same subnet: the second is refused.
        twice = _with_links(
            demo_request("twice"),
            fw_2_dpi={"cidr": "10.20.90.0/28"},
            dpi_2_nat={"cidr": "10.20.90.0/28"},
        )
        clash = await _run(fed, twice)
        assert clash.error is not None
        assert clash.error.code == "FAILED_PRECONDITION"
        assert [v.field for v in clash.error.field_violations] == ["virtual_links[dpi-2-nat].cidr"]
        assert _held(fed) == {}
        await _all_released(fed)
        for lower in ("wholesale-eu", "wholesale-us"):
            assert await _states(fed, lower) == []

        # Honoured: every interface on mgmt, at every level, takes an address of its cidr.
        request = _with_links(
            demo_request("hinted"), mgmt={"cidr": "10.20.77.0/24"}, fw_2_dpi={"dhcp": True}
        )
        record = await _run(fed, request)
        assert record.state is ServiceState.ACTIVE, record.error
        assert record.address_space == "10.20.0.0/16"  # the one block: the refusals gave it back
        mgmt = [p.address for _, p in _ports(record) if p.virtual_link == "mgmt"]
        assert len(mgmt) == 6  # fw, dpi engine and collector, nat, router, cache
        assert {str(ipaddress.ip_interface(a).network) for a in mgmt} == {"10.20.77.0/24"}
        assert audit(record, request).faults == []
        # dhcp reaches the PoP networks on both sides of the link, and only there.
        for op_id in ("retail", "wholesale-us"):
            dhcp = {n["name"].split("-", 1)[1]: n["dhcp"] for n in _networks(fed, op_id)}
            assert dhcp["fw-2-dpi"] is True, op_id
            assert not any(v for k, v in dhcp.items() if k != "fw-2-dpi"), dhcp
    finally:
        await fed.stop()


def _nap_request(request_id: str, *naps: tuple[str, Nap]) -> InstantiateRequest:
    """The demo with the firewall and the edge CDN placed by the customer's NAPs only."""
    rules = {k: v for k, v in DEMO_RULES.rules.items() if k not in ("vnf_fw", "ns_cdn")}
    addressing = AddressConstraints(
        ingresses=tuple(n for side, n in naps if side == "in"),
        egresses=tuple(n for side, n in naps if side == "out"),
    )
    return replace(
        demo_request(request_id, placement=PlacementConstraints(rules=rules)),
        addressing=addressing,
    )


NAP_REFUSALS = {
    "unknown-region": (Nap("mars", "198.51.100.10/32"), FailedPrecondition, "location"),
    "a-network": (Nap("nl", "198.51.100.0/24"), InvalidArgument, "nap"),
    "ipv6-for-ipv4": (Nap("nl", "2001:db8::10/128"), InvalidArgument, "nap"),
    "not-an-address": (Nap("nl", "customer-a"), InvalidArgument, "nap"),
}


async def test_customer_naps_are_honoured_or_refused_at_admission(tmp_path: Path) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        async with fed.client("retail") as top:
            for case, (nap, error, fragment) in NAP_REFUSALS.items():
                with pytest.raises(error) as refused:
                    await top.instantiate(_nap_request(case, ("in", nap)))
                fields = [v.field for v in refused.value.field_violations]
                assert fields == [f"addressing.ingresses[0].{fragment}"], (case, refused.value)
            assert await top.list_services(include_inactive=True) == []

        ingress, egress = Nap("nl", "198.51.100.10/32"), Nap("be", "198.51.100.21/32")
        request = _nap_request("naps", ("in", ingress), ("out", egress))
        record = await _run(fed, request)
        assert record.state is ServiceState.ACTIVE, record.error
        parts = {p.id: p for p in record.parts}
        assert parts["pop:ams"].members == ("vnf_fw",)  # region nl
        assert "ns_cdn" in parts["sp:wholesale-eu"].members  # region be, further down
        own = {c.connection_point: c for c in record.constraints}
        assert (own["input"].prefix, own["input"].subnet) == (
            "198.51.100.10/32",
            "198.51.100.10/31",
        )
        assert (own["output"].prefix, own["output"].subnet) == (
            "198.51.100.21/32",
            "198.51.100.20/31",
        )
        addresses = {(op, p.virtual_link): p.address for op, p in _ports(record)}
        assert addresses["retail", "input-2-fw"] == "198.51.100.11/31"
        assert addresses["edge-be", "cdn-2-output"] == "198.51.100.20/31"
        assert audit(record, request).faults == []
    finally:
        await fed.stop()


# --- 5. IPv6 ----------------------------------------------------------------------------


async def test_an_ipv6_service_is_planned_in_ipv6_at_every_level(tmp_path: Path) -> None:
    v6 = {"service_pool_v6": "fd5f:6::/40", "service_prefix_length_v6": 48}
    fed = await Federation.start(tmp_path, _spec(retail={"addressing": v6}))
    try:
        request = replace(demo_request("v6"), addressing=AddressConstraints(ip_version=6))
        record = await _run(fed, request)
        assert record.state is ServiceState.ACTIVE, record.error
        pool = ipaddress.IPv6Network("fd5f:6::/40")
        block = ipaddress.IPv6Network(record.address_space)  # raises for anything but IPv6
        assert block.prefixlen == 48
        assert block.subnet_of(pool)
        spaces = _part_spaces(record)
        assert len(spaces) == 3  # wholesale-eu, wholesale-us, edge-be
        assert all(ipaddress.IPv6Network(s).subnet_of(block) for s in spaces)
        ports = [p for _, p in _ports(record) if not p.private]
        assert len(ports) == 16
        assert all(ipaddress.ip_interface(p.address).version == 6 for p in ports)
        found = audit(record, request)
        assert found.faults == []
        assert {"fw-2-dpi", "dpi-2-nat", "nat-2-cdn"} <= found.crossing
        transit = {
            ipaddress.ip_interface(p.address).network.prefixlen
            for _, p in _ports(record)
            if p.virtual_link in _secure_chain_elines()
        }
        assert transit == {127}
        assert set(_held(fed)) >= {record.address_space}

        assert (await _terminate(fed, record.id)).state is ServiceState.TERMINATED
        assert _held(fed) == {}
        await _all_released(fed)
    finally:
        await fed.stop()


def _part_spaces(record: ServiceRecord) -> list[str]:
    out = []
    for part in record.parts:
        if part.remote is not None:
            out += [part.address_space, *_part_spaces(part.remote)]
    return out


# --- 6. the whole demo tree, checked independently --------------------------------------


async def test_every_lower_sp_stays_inside_what_its_upper_gave_and_links_line_up(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        request = demo_request("consistent")
        record = await _run(fed, request)
        assert record.state is ServiceState.ACTIVE, record.error
        found = audit(record, request)
        assert found.faults == []
        # Not vacuous: every level reported, every crossing link was seen with both ends.
        assert found.assignments >= 13
        assert found.crossing >= {"mgmt", "fw-2-dpi", "dpi-2-nat", "nat-2-cdn", "cdn-2-output"}
        assert len(tree_addresses(record)) == 16

        # The audit catches what it is meant to: a lie in a copy of the tree.
        us = next(p for p in record.parts if p.lower_sp == "wholesale-us")
        assert us.remote is not None
        for lie in (_outside_address, _outside_vni, _outside_mac, _duplicate_port):
            bent = replace(
                record,
                parts=tuple(
                    replace(p, remote=lie(us.remote)) if p is us else p for p in record.parts
                ),
            )
            assert audit(bent, request).faults, lie.__name__
    finally:
        await fed.stop()
