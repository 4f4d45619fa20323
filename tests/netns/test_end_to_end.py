"""Real packets across three operators: a chain built by real nodes on the netns data plane.

Three operators on two levels: retail (PoP ams) over wholesale-us (nyc) and
wholesale-eu (fra). The service is the three-operator chain (firewall at retail,
DPI at wholesale-us, NAT at wholesale-eu) with the customer's ingress and egress
NAPs. Each node runs its VNFs in namespaces (emulated PoPs with ``netns: on``)
and its WAN with the netns WIM driver; the operators meet in the border
gateways they share. A probe from the customer's ingress namespace reaches the
egress through every function, in order, and terminate leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from spfed.client import PlatformClient
from spfed.descriptors import load_files, parse_document
from spfed.model import (
    AddressConstraints,
    CreateSliceRequest,
    DescriptorRef,
    InstantiateRequest,
    Nap,
    PlacementConstraints,
    PlacementRule,
    PortRecord,
    ServiceDescriptors,
    ServiceRecord,
    ServiceState,
    SliceRecord,
    SliceState,
    SliceTemplate,
)
from spfed.netns import Fabric, inventory, ping, trace, udp_probe
from spfed.topology.access import CustomerAccess, attach_customer, detach_customer
from tests.integration._federation import (
    DESCRIPTORS,
    Federation,
    Operator,
    examples,
    settle,
)
from tests.netns._support import netns_unusable

pytestmark = [
    pytest.mark.skipif(bool(netns_unusable()), reason=netns_unusable() or "usable"),
    pytest.mark.timeout(120),
]

INGRESS, EGRESS = "192.0.2.10", "198.51.100.20"
RULES = PlacementConstraints(
    rules={
        "vnf_fw": PlacementRule(region="nl"),
        "vnf_dpi": PlacementRule(region="us"),
        "vnf_nat": PlacementRule(region="de"),
    }
)


def border(border_id: str, region: str, peer: str) -> dict[str, str]:
    return {"id": border_id, "region": region, "peer": peer}


def wan(link_id: str, a: str, b: str) -> dict[str, Any]:
    return {"id": link_id, "a": a, "b": b, "capacity_mbps": 1000, "latency_ms": 5}


def topology(prefix: str) -> dict[str, Operator]:
    """The three operators, their WANs and data plane (VNIs disjoint per operator)."""

    def operator(
        index: int, pop: str, region: str, borders: list[dict[str, str]], **rest: Any
    ) -> Operator:
        base = (index + 1) * 1_000_000
        settings = {
            "addressing": {"vni_pool": f"{base}-{base + 499_999}"},
            "catalogue": {
                "descriptors": [str(d) for d in rest.pop("descriptors", [])],
                "borders": borders,
            },
            "wim": {
                "enabled": True,
                "driver": "netns",
                "netns_prefix": prefix,
                "vni_pool": f"{base + 500_000}-{base + 999_999}",
                "links": [wan(f"{pop}-{b['id']}", pop, b["id"]) for b in borders],
            },
        }
        return Operator(
            pop,
            region,
            settings=settings,
            pop_options={"netns": "on", "netns_prefix": prefix},
            **rest,
        )

    return {
        "wholesale-us": operator(
            0,
            "nyc",
            "us",
            [border("up", "us", "retail")],
            descriptors=[DESCRIPTORS / "vnfd-dpi.yml"],
        ),
        "wholesale-eu": operator(
            1,
            "fra",
            "de",
            [border("up", "de", "retail")],
            descriptors=[DESCRIPTORS / "vnfd-legacy-nat.yml"],
        ),
        "retail": operator(
            2,
            "ams",
            "nl",
            [border("to-us", "us", "wholesale-us"), border("to-eu", "de", "wholesale-eu")],
            children=["wholesale-eu", "wholesale-us"],
        ),
    }


def chain_request(request_id: str) -> InstantiateRequest:
    files = examples()
    nsd = files.find_nsd(DescriptorRef("eu.spfed.demo", "three-operator-chain", "1.0"))
    assert nsd is not None
    vnfds = tuple(v for v in files.vnfds if v.ref.name in ("firewall", "dpi", "nat"))
    return InstantiateRequest(
        request_id=request_id,
        name="three operators",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=RULES,
        addressing=AddressConstraints(
            ingresses=(Nap("nl", f"{INGRESS}/32"),), egresses=(Nap("de", f"{EGRESS}/32"),)
        ),
    )


def ports(record: ServiceRecord) -> Iterator[tuple[str, PortRecord]]:
    """Every port of the tree, with the function it belongs to."""
    for part in record.parts:
        for vnf in part.vnfs:
            for unit in vnf.units:
                for port in unit.ports:
                    yield vnf.vnf_id, port
        if part.remote is not None:
            yield from ports(part.remote)


def address_on(record: ServiceRecord, vnf_id: str, link: str) -> str:
    """The address of ``vnf_id``'s port on ``link``."""
    [port] = [p for v, p in ports(record) if v == vnf_id and p.virtual_link == link]
    return str(ipaddress.ip_interface(port.address).ip)


async def test_a_probe_crosses_every_function_of_a_three_operator_chain_in_order(
    tmp_path: Path, prefix: str
) -> None:
    fed = await Federation.start(tmp_path, topology(prefix))
    fabric = Fabric(prefix)
    accesses: list[CustomerAccess] = []
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(chain_request("e2e"))
            record, _ = await settle(top, op.service_id)
            assert record.state is ServiceState.ACTIVE, record.error
            record = await top.get_service(record.id)
        accesses = await attach_customer(fabric, record)
        assert sorted(a.address for a in accesses) == [INGRESS, EGRESS]
        ingress = next(a for a in accesses if a.address == INGRESS)
        egress = next(a for a in accesses if a.address == EGRESS)

        pinged = await ping(ingress.namespace.name, EGRESS, count=3, timeout_s=2.0)
        assert pinged.received == 3, pinged

        traced = await trace(ingress.namespace.name, EGRESS, max_hops=8, timeout_s=2.0)
        assert traced.reached, traced
        # every function answers from its upstream port: firewall, DPI, NAT, in order
        assert traced.routers == (
            address_on(record, "vnf_fw", "input-2-fw"),
            address_on(record, "vnf_dpi", "fw-2-dpi"),
            address_on(record, "vnf_nat", "dpi-2-nat"),
        ), traced

        probe = await udp_probe(ingress.namespace.name, egress.namespace.name, EGRESS, 40_001)
        assert probe.delivered == probe.sent == 5, probe

        await detach_customer(fabric, accesses)
        accesses = []
        async with fed.client("retail") as top:
            await top.terminate(record.id, "t-e2e")
            done, _ = await settle(top, record.id)
        assert done.state is ServiceState.TERMINATED
        left = await inventory(prefix)
        # what stays is the operators' WAN (gateways and their veths), no service of it
        for namespace in left.namespaces:
            assert "vnf" not in namespace.name, left
            kinds = {link.kind for link in namespace.links}
            assert "vxlan" not in kinds, left
            assert "bridge" not in kinds, left
    finally:
        await detach_customer(fabric, accesses)
        await fed.stop()


async def test_two_services_with_the_same_customer_addresses_never_reach_each_other(
    tmp_path: Path, prefix: str
) -> None:
    fed = await Federation.start(tmp_path, topology(prefix))
    fabric = Fabric(prefix)
    accesses: list[CustomerAccess] = []
    try:
        records = []
        async with fed.client("retail") as top:
            for name in ("one", "two"):
                op = await top.instantiate(chain_request(name))
                record, _ = await settle(top, op.service_id)
                assert record.state is ServiceState.ACTIVE, record.error
                records.append(await top.get_service(record.id))
        one, two = [await attach_customer(fabric, r) for r in records]
        accesses = one + two
        # the same NAP addresses on both: only the layer-2 domains tell them apart
        assert sorted(a.address for a in one) == sorted(a.address for a in two)
        in_one = next(a for a in one if a.address == INGRESS).namespace.name
        out_one = next(a for a in one if a.address == EGRESS).namespace.name
        out_two = next(a for a in two if a.address == EGRESS).namespace.name

        ours = await udp_probe(in_one, out_one, EGRESS, 40_002)
        assert ours.delivered == ours.sent == 5, ours
        theirs = await udp_probe(in_one, out_two, EGRESS, 40_003, timeout_s=1.0)
        assert theirs.sent == 5
        assert theirs.delivered == 0, theirs
    finally:
        await detach_customer(fabric, accesses)
        await fed.stop()


# --- a slice across the three operators ---------------------------------------------------

SLICES = DESCRIPTORS.parent / "slices"


def three_operator_slice(request_id: str) -> CreateSliceRequest:
    """Three one-function services (retail, wholesale-us, wholesale-eu) joined by two links."""
    files = load_files([SLICES, DESCRIPTORS], resolve=False)
    nst = parse_document(yaml.safe_load((SLICES / "nst-three-operators.yml").read_text()))
    assert isinstance(nst, SliceTemplate)
    return CreateSliceRequest(
        request_id=request_id,
        template=nst,
        nsds=tuple(n for n in files.nsds if n.ref.name.endswith("-hop")),
        vnfds=tuple(v for v in files.vnfds if v.ref.name in ("firewall", "dpi", "nat")),
        placement={
            "fw": PlacementConstraints(default_region="nl"),
            "dpi": PlacementConstraints(default_region="us"),
            "nat": PlacementConstraints(default_region="de"),
        },
    )


async def slice_settled(client: PlatformClient, slice_id: str) -> SliceRecord:
    """The slice once it is no longer CREATING or DELETING (at most 60 s)."""
    for _ in range(600):
        record = await client.get_slice(slice_id)
        if record.state not in (SliceState.CREATING, SliceState.DELETING):
            return record
        await asyncio.sleep(0.1)
    raise AssertionError(f"slice {slice_id} did not settle: {record.state}")


async def test_a_slice_across_three_operators_carries_packets_and_deletes_whole(
    tmp_path: Path, prefix: str
) -> None:
    fed = await Federation.start(tmp_path, topology(prefix))
    fabric = Fabric(prefix)
    accesses: list[CustomerAccess] = []
    try:
        async with fed.client("retail") as top:
            created = await top.create_slice(three_operator_slice("slice-e2e"))
            made = await slice_settled(top, created.id)
            assert made.state is SliceState.ACTIVE, made.error
            services = {s.subnet_id: await top.get_service(s.service_id) for s in made.subnets}
            # each slice link crosses the WAN: booked on retail's WIM between its ends
            for link in made.links:
                assert link.connectivity_ids, link
            for record in services.values():
                accesses += await attach_customer(fabric, record)
            ingress = next(a for a in accesses if a.address == INGRESS)
            egress = next(a for a in accesses if a.address == EGRESS)

            pinged = await ping(ingress.namespace.name, EGRESS, count=3, timeout_s=2.0)
            assert pinged.received == 3, pinged
            traced = await trace(ingress.namespace.name, EGRESS, max_hops=8, timeout_s=2.0)
            assert traced.reached, traced
            assert traced.routers == (
                address_on(services["fw"], "vnf_fw", "in"),
                address_on(services["dpi"], "vnf_dpi", "in"),
                address_on(services["nat"], "vnf_nat", "in"),
            ), traced
            probe = await udp_probe(ingress.namespace.name, egress.namespace.name, EGRESS, 40_004)
            assert probe.delivered == probe.sent == 5, probe

            await detach_customer(fabric, accesses)
            accesses = []
            await top.delete_slice(made.id)
            deleted = await slice_settled(top, made.id)
            assert deleted.state is SliceState.DELETED, deleted.error
            for record in services.values():
                assert (await top.get_service(record.id)).state is ServiceState.TERMINATED
        for op_id in fed.nodes:
            lifecycle = fed.nodes[op_id].lifecycle
            assert lifecycle is not None
            assert lifecycle.rt.wim is not None
            assert lifecycle.rt.wim.connectivity_ids("") == []
        left = await inventory(prefix)
        for namespace in left.namespaces:
            assert "vnf" not in namespace.name, left
            assert not {"vxlan", "bridge"} & {link.kind for link in namespace.links}, left
    finally:
        await detach_customer(fabric, accesses)
        await fed.stop()


async def test_two_slices_with_the_same_customer_addresses_never_reach_each_other(
    tmp_path: Path, prefix: str
) -> None:
    fed = await Federation.start(tmp_path, topology(prefix))
    fabric = Fabric(prefix)
    accesses: list[list[CustomerAccess]] = []
    try:
        async with fed.client("retail") as top:
            for name in ("slice-a", "slice-b"):
                created = await top.create_slice(three_operator_slice(name))
                made = await slice_settled(top, created.id)
                assert made.state is SliceState.ACTIVE, made.error
                found = []
                for subnet in made.subnets:
                    found += await attach_customer(fabric, await top.get_service(subnet.service_id))
                accesses.append(found)
        a, b = accesses
        # the same NAP addresses in both slices: only their layer-2 domains tell them apart
        assert sorted(x.address for x in a) == sorted(x.address for x in b) == [INGRESS, EGRESS]
        a_in = next(x for x in a if x.address == INGRESS).namespace.name
        a_out = next(x for x in a if x.address == EGRESS).namespace.name
        b_out = next(x for x in b if x.address == EGRESS).namespace.name

        ours = await udp_probe(a_in, a_out, EGRESS, 40_005)
        assert ours.delivered == ours.sent == 5, ours
        theirs = await udp_probe(a_in, b_out, EGRESS, 40_006, timeout_s=1.0)
        assert theirs.sent == 5
        assert theirs.delivered == 0, theirs
    finally:
        for found in accesses:
            await detach_customer(fabric, found)
        await fed.stop()
