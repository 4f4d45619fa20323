"""Network slices on real nodes: the demo federation, slices created at retail.

The project's example templates (``examples/slices``): ``secure-edge`` joins an
edge CDN's output (at edge-be) to the secure chain's input (at retail) by one slice link;
``shared-cdn`` is one edge CDN marked shared.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from spfed.client import PlatformClient
from spfed.descriptors import load_files, parse_document
from spfed.errors import InvalidArgument, NotFound
from spfed.model import (
    CreateSliceRequest,
    PlacementConstraints,
    ServiceRecord,
    ServiceState,
    SliceLinkPoint,
    SliceRecord,
    SliceState,
    SliceTemplate,
)
from tests.integration._federation import (
    DEMO_RULES,
    ROOT,
    Federation,
    demo_spec,
    examples,
    settle,
)
from tests.integration.test_addressing import Gated, install

pytestmark = pytest.mark.timeout(60)

SLICES = ROOT / "examples" / "slices"
NST_SCHEMA = (
    "https://raw.githubusercontent.com/sonata-nfv/tng-schema/master/slice-descriptor/nst-schema.yml"
)


def template(name: str) -> SliceTemplate:
    parsed = parse_document(yaml.safe_load((SLICES / name).read_text()))
    assert isinstance(parsed, SliceTemplate)
    return parsed


def request(request_id: str, nst: SliceTemplate) -> CreateSliceRequest:
    files = examples()
    return CreateSliceRequest(
        request_id=request_id,
        template=nst,
        nsds=files.nsds,
        vnfds=tuple(v for v in files.vnfds if v.ref.name in ("firewall", "dpi", "nat")),
        placement={
            subnet: rules
            for subnet, rules in (
                ("chain", DEMO_RULES),
                ("cdn", PlacementConstraints(default_region="be")),
            )
            if subnet in {s.id for s in nst.subnets}
        },
    )


async def settled(client: PlatformClient, slice_id: str) -> SliceRecord:
    """The slice once it is no longer CREATING or DELETING (at most 30 s)."""
    for _ in range(600):
        record = await client.get_slice(slice_id)
        if record.state not in (SliceState.CREATING, SliceState.DELETING):
            return record
        await asyncio.sleep(0.05)
    raise AssertionError(f"slice {slice_id} did not settle: {record.state}")


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    federation = await Federation.start(tmp_path, demo_spec())
    try:
        yield federation
    finally:
        await federation.stop()


def _slice_pool(fed: Federation) -> dict[str, str]:
    node = fed.nodes["retail"]
    assert node.lifecycle is not None
    return {k: v for k, v in node.lifecycle.rt.blocks.held().items() if v.startswith("slice:")}


def _assigned(service: ServiceRecord, point: str) -> tuple[str, int]:
    found = next(a for a in service.assignments if a.connection_point == point)
    return found.address, found.vni


async def test_a_slice_joins_two_services_on_one_link_and_is_deleted_whole(
    fed: Federation,
) -> None:
    async with fed.client("retail", "alice") as alice, fed.client("retail", "bob") as bob:
        created = await alice.create_slice(request("s1", template("nst-secure-edge.yml")))
        assert created.state is SliceState.CREATING
        assert (await alice.create_slice(request("s1", template("nst-secure-edge.yml")))).id == (
            created.id
        )
        active = await settled(alice, created.id)
        assert active.state is SliceState.ACTIVE, active.error
        services = {s.subnet_id: await alice.get_service(s.service_id) for s in active.subnets}
        assert {k: s.state for k, s in services.items()} == {
            "chain": ServiceState.ACTIVE,
            "cdn": ServiceState.ACTIVE,
        }
        (link,) = active.links
        subnet = ipaddress.ip_network(link.subnet)
        assert subnet.prefixlen == 31
        assert link.vni
        chain_address, chain_vni = _assigned(services["chain"], "input")
        cdn_address, cdn_vni = _assigned(services["cdn"], "output")
        assert ipaddress.ip_interface(chain_address).ip in subnet
        assert ipaddress.ip_interface(cdn_address).ip in subnet
        assert chain_address != cdn_address
        assert chain_vni == cdn_vni == link.vni
        assert {p.ip_address for p in link.points} == {
            str(ipaddress.ip_interface(a).ip) for a in (chain_address, cdn_address)
        }
        assert _slice_pool(fed)

        with pytest.raises(NotFound):
            await bob.get_slice(created.id)
        with pytest.raises(NotFound):
            await bob.delete_slice(created.id)
        assert await bob.list_slices() == []
        assert [s.id for s in await alice.list_slices()] == [created.id]

        await alice.delete_slice(created.id)
        deleted = await settled(alice, created.id)
        assert deleted.state is SliceState.DELETED
        for subnet_record in active.subnets:
            service = await alice.get_service(subnet_record.service_id)
            assert service.state is ServiceState.TERMINATED
        assert _slice_pool(fed) == {}
        assert (await alice.delete_slice(created.id)).state is SliceState.DELETED


async def test_a_shared_subnet_serves_two_slices_until_the_last_is_deleted(
    fed: Federation,
) -> None:
    nst = template("nst-shared-cdn.yml")
    async with fed.client("retail", "alice") as alice:
        first = await settled(alice, (await alice.create_slice(request("a", nst))).id)
        assert first.state is SliceState.ACTIVE, first.error
        second = await settled(alice, (await alice.create_slice(request("b", nst))).id)
        assert second.state is SliceState.ACTIVE, second.error
        (one,), (two,) = first.subnets, second.subnets
        assert one.service_id == two.service_id
        assert one.shared

        await alice.delete_slice(first.id)
        assert (await settled(alice, first.id)).state is SliceState.DELETED
        assert (await alice.get_service(one.service_id)).state is ServiceState.ACTIVE

        await alice.delete_slice(second.id)
        assert (await settled(alice, second.id)).state is SliceState.DELETED
        assert (await alice.get_service(one.service_id)).state is ServiceState.TERMINATED


async def test_a_link_to_an_unknown_point_is_refused_before_anything_is_made(
    fed: Federation,
) -> None:
    nst = template("nst-secure-edge.yml")
    (link,) = nst.links
    bad = replace(
        nst,
        links=(
            replace(
                link,
                connection_points=(
                    link.connection_points[0],
                    SliceLinkPoint("nowhere", "output"),
                ),
            ),
            replace(link, id="second", connection_points=(SliceLinkPoint("cdn", "nope"),)),
        ),
    )
    async with fed.client("retail", "alice") as alice:
        with pytest.raises(InvalidArgument) as raised:
            await alice.create_slice(request("bad", bad))
        fields = {v.field for v in raised.value.field_violations}
        assert "template.links[0].connection_points[1].subnet_ref" in fields
        assert "template.links[1].connection_points" in fields
        assert "template.links[1].connection_points[0].nsd_cp_ref" in fields
        assert await alice.list_slices(include_inactive=True) == []
        assert await alice.list_services(include_inactive=True) == []


async def test_a_slice_link_between_two_services_on_one_pop_shares_its_segment(
    fed: Federation,
) -> None:
    """Both ends of the link land on retail's PoP ams: one segment, two networks, one /31."""
    hop = {"nsd-vendor": "eu.spfed.demo", "nsd-name": "fw-hop", "nsd-version": "1.0"}
    nst = parse_document(
        {
            "descriptor_schema": NST_SCHEMA,
            "vendor": "eu.spfed.test",
            "name": "two-firewalls",
            "version": "1.0",
            "description": "Two firewall services in a row, on one PoP.",
            "slice_ns_subnets": [
                {"id": "first", "nsd-ref": "fw-hop", **hop, "is-shared": False},
                {"id": "second", "nsd-ref": "fw-hop", **hop, "is-shared": False},
            ],
            "slice_vld": [
                {
                    "id": "between",
                    "name": "first to second",
                    "type": "E-LINE",
                    "nsd-connection-point-ref": [
                        {"subnet-ref": "first", "nsd-cp-ref": "output"},
                        {"subnet-ref": "second", "nsd-cp-ref": "input"},
                    ],
                }
            ],
        }
    )
    assert isinstance(nst, SliceTemplate)
    hops = load_files([SLICES / "nsd-fw-hop.yml"], resolve=False)
    firewall = tuple(v for v in examples().vnfds if v.ref.name == "firewall")
    here = PlacementConstraints(default_region="nl")
    async with fed.client("retail", "alice") as alice:
        made = await alice.create_slice(
            CreateSliceRequest(
                request_id="two-fw",
                template=nst,
                nsds=hops.nsds,
                vnfds=firewall,
                placement={"first": here, "second": here},
            )
        )
        active = await settled(alice, made.id)
        assert active.state is SliceState.ACTIVE, active.error
        (link,) = active.links
        services = {s.subnet_id: await alice.get_service(s.service_id) for s in active.subnets}
        first, _ = _assigned(services["first"], "output")
        second, _ = _assigned(services["second"], "input")
        assert {first, second} == {f"{a}/31" for a in ipaddress.ip_network(link.subnet)}
        await alice.delete_slice(made.id)
        assert (await settled(alice, made.id)).state is SliceState.DELETED


async def test_a_slice_cut_by_a_restart_is_undone_and_fails(tmp_path: Path) -> None:
    """retail stops while the slice's services are being delegated; at start-up the slice
    is undone: FAILED, its services ended, its link addresses back in the pool."""
    spec = demo_spec()
    federation = await Federation.start(tmp_path, spec)
    try:
        gates = [install(federation, "retail", lower, Gated) for lower in spec["retail"].children]
        async with federation.client("retail", "alice") as alice:
            made = await alice.create_slice(request("cut", template("nst-secure-edge.yml")))
        for _ in range(200):  # until a sub-service is on its way down (at most 10 s)
            if any(g.entered.is_set() for g in gates):
                break
            await asyncio.sleep(0.05)
        assert any(g.entered.is_set() for g in gates)
        assert _slice_pool(federation)  # the link's /31 is drawn
        stopping = asyncio.create_task(federation.nodes["retail"].stop(0))
        for gate in gates:
            gate.admit.set()
        await stopping
        await federation.start_node("retail", spec)

        async with federation.client("retail", "alice") as alice:
            cut = await settled(alice, made.id)
            assert cut.state is SliceState.FAILED
            assert cut.error is not None
            for subnet in cut.subnets:
                if subnet.service_id:
                    service, _ = await settle(alice, subnet.service_id)
                    assert service.state in (ServiceState.FAILED, ServiceState.TERMINATED)
        assert _slice_pool(federation) == {}
    finally:
        await federation.stop()


async def test_a_service_the_slice_never_got_to_hold_is_still_ended_with_the_slice(
    fed: Federation,
) -> None:
    """The node may stop between instantiating a subnet and storing the slice's hold on
    it; the slice's teardown finds that service by the subnet's request id."""
    async with fed.client("retail", "alice") as alice:
        made = await alice.create_slice(request("orphan", template("nst-secure-edge.yml")))
        active = await settled(alice, made.id)
        assert active.state is SliceState.ACTIVE, active.error
        chain = next(s for s in active.subnets if s.subnet_id == "chain")
        manager = fed.nodes["retail"].slices
        assert manager is not None
        # as if the hold had never been stored
        assert await manager._store.drop(made.id, "chain") == (chain.service_id, 0)

        await alice.delete_slice(made.id)
        assert (await settled(alice, made.id)).state is SliceState.DELETED
        service, _ = await settle(alice, chain.service_id)
        assert service.state is ServiceState.TERMINATED
