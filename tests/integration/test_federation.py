"""A 4-operator, 3-level federation of real nodes, end to end through the top node."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from spfed.errors import AlreadyExists, InvalidArgument, ResourceExhausted
from spfed.model import (
    OperationState,
    PartKind,
    PlacementRule,
    Resources,
    ServiceEventKind,
    ServiceState,
    VirtualLink,
)
from tests.integration._federation import (
    DEMO_RULES,
    Federation,
    Operator,
    demo_request,
    demo_spec,
    edge_cdn,
    settle,
    tree_addresses,
    tree_operators,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Federation]:
    fed = await Federation.start(tmp_path, demo_spec())
    try:
        yield fed
    finally:
        await fed.stop()


async def test_demo_service_spans_three_operators_on_two_levels_below_the_top(
    demo: Federation,
) -> None:
    async with demo.client("retail") as top:
        op = await top.instantiate(demo_request("demo-1"))
        assert op.state is OperationState.RUNNING
        record, events = await settle(top, op.service_id)

        assert record.state is ServiceState.ACTIVE
        levels = tree_operators(record)
        assert levels == {"retail": 1, "wholesale-eu": 2, "wholesale-us": 2, "edge-be": 3}
        parts = {p.id: p for p in record.parts}
        assert set(parts) == {"pop:ams", "sp:wholesale-eu", "sp:wholesale-us"}
        assert parts["pop:ams"].members == ("vnf_fw",)
        # Everything for wholesale-eu travels as one sub-service: a function and a nested service.
        eu = parts["sp:wholesale-eu"]
        assert set(eu.members) == {"vnf_nat", "ns_cdn"}
        assert eu.remote is not None
        edge = next(p for p in eu.remote.parts if p.kind is PartKind.DELEGATED)
        assert edge.lower_sp == "edge-be"
        assert edge.remote is not None
        assert {v.vnf_id for p in edge.remote.parts for v in p.vnfs} == {
            "ns_cdn/vnf_router",
            "ns_cdn/vnf_cache",
        }

        # Every port has an address, and no address is used twice anywhere.
        addresses = tree_addresses(record)
        assert addresses
        assert all(addresses)
        ips = [ipaddress.ip_interface(a).ip for a in addresses]
        assert len(ips) == len(set(ips))
        # A delegated part's addresses lie in its block or in the slices it was given.
        for part in record.parts:
            if part.remote is None:
                continue
            allowed = [ipaddress.ip_network(part.address_space)] + [
                ipaddress.ip_network(c.prefix) for c in part.constraints
            ]
            for address in tree_addresses(part.remote):
                ip = ipaddress.ip_interface(address).ip
                assert any(ip in n for n in allowed), (part.id, address)
        # Interfaces on one link share its prefix length across operators.
        fw = parts["pop:ams"].vnfs[0]
        dpi_remote = parts["sp:wholesale-us"].remote
        assert dpi_remote is not None
        fw_side = {p.virtual_link: p.address for u in fw.units for p in u.ports}
        dpi_side = {
            p.virtual_link: p.address
            for part in dpi_remote.parts
            for v in part.vnfs
            for u in v.units
            for p in u.ports
        }
        link = "fw-2-dpi"
        assert (
            ipaddress.ip_interface(fw_side[link]).network
            == ipaddress.ip_interface(dpi_side[link]).network
        )

        # Events streamed up the tree, from every operator.
        origins = {e.origin for e in events}
        assert {
            ("retail",),
            ("retail", "wholesale-us"),
            ("retail", "wholesale-eu"),
            ("retail", "wholesale-eu", "edge-be"),
        } <= origins
        assert [e.sequence for e in events] == sorted(e.sequence for e in events)
        assert events[-1].kind is ServiceEventKind.STATE_CHANGED
        assert events[-1].state is ServiceState.ACTIVE

        used = await demo.used()
        assert all(u.vcpus > 0 for u in used.values())

        # Terminate cascades down; every PoP is back where it started.
        term = await top.terminate(op.service_id, "t-1")
        record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.TERMINATED
        assert record.parts == ()
        assert (await top.get_operation(term.id)).state is OperationState.SUCCEEDED
        assert set((await demo.used()).values()) == {Resources()}
        assert demo.nodes["retail"].lifecycle is not None
        assert demo.nodes["retail"].lifecycle.rt.blocks.held() == {}
        for lower in ("wholesale-eu", "wholesale-us", "edge-be"):
            async with demo.client(lower) as client:
                states = {s.state for s in await client.list_services(include_inactive=True)}
                assert states == {ServiceState.TERMINATED}, lower


async def test_invalid_descriptor_is_rejected_with_field_paths_and_creates_nothing(
    demo: Federation,
) -> None:
    request = demo_request("bad-1")
    assert request.descriptors is not None
    nsd = request.descriptors.nsd
    broken = replace(
        nsd,
        virtual_links=(
            VirtualLink(
                "fw-2-dpi", nsd.virtual_links[1].connectivity_type, ("vnf_fw:output", "vnf_dp:in")
            ),
            *nsd.virtual_links[2:],
        ),
    )
    request = replace(request, descriptors=replace(request.descriptors, nsd=broken))
    async with demo.client("retail") as top:
        with pytest.raises(InvalidArgument) as caught:
            await top.instantiate(request)
        assert caught.value.origin == ("retail",)
        fields = {v.field: v.description for v in caught.value.field_violations}
        assert any(f.startswith("descriptors.nsd.virtual_links[0]") for f in fields), fields
        assert any("vnf_dpi" in d for d in fields.values()), fields  # did you mean
        assert await top.list_services(include_inactive=True) == []
    assert set((await demo.used()).values()) == {Resources()}


async def test_unknown_lower_sp_in_placement_is_invalid_argument(demo: Federation) -> None:
    rules = dict(DEMO_RULES.rules)
    rules["vnf_dpi"] = PlacementRule(operator="wholesale-moon")
    request = demo_request("moon", placement=replace(DEMO_RULES, rules=rules))
    async with demo.client("retail") as top:
        with pytest.raises(InvalidArgument) as caught:
            await top.instantiate(request)
        violation = caught.value.field_violations[0]
        assert violation.field == "placement.rules[vnf_dpi].operator"
        assert "wholesale-moon" in violation.description
        assert "wholesale-eu" in violation.description
        assert await top.list_services(include_inactive=True) == []


async def test_full_pop_at_the_top_is_refused_at_admission(tmp_path: Path) -> None:
    tiny = Operator("ams", "nl", children=["wholesale-eu", "wholesale-us"], capacity={"vcpus": 0})
    fed = await Federation.start(tmp_path, demo_spec(retail=tiny))
    try:
        rules = dict(DEMO_RULES.rules)
        rules["vnf_fw"] = PlacementRule(operator="local")
        async with fed.client("retail") as top:
            with pytest.raises(ResourceExhausted) as caught:
                await top.instantiate(
                    demo_request("tiny", placement=replace(DEMO_RULES, rules=rules))
                )
            assert caught.value.quota_violations[0].subject == "pop:ams"
            assert "vCPU" in caught.value.quota_violations[0].description
            assert await top.list_services(include_inactive=True) == []
        assert set((await fed.used()).values()) == {Resources()}
    finally:
        await fed.stop()


async def test_full_pop_three_levels_down_fails_the_top_and_compensates_everything(
    tmp_path: Path,
) -> None:
    # edge-be's catalogue advertises room it no longer has: its capacity is
    # published only when it moves by 100%, and another customer took it.
    spec = demo_spec()
    spec["edge-be"] = replace(
        spec["edge-be"],
        capacity={"vcpus": 4, "memory_mib": 16384, "disk_gib": 200},
        settings={"catalogue": {"capacity_step_percent": 100}},
    )
    fed = await Federation.start(tmp_path, spec)
    try:
        async with fed.client("edge-be") as edge:
            local = await edge.instantiate(edge_cdn())
            squatter, _ = await settle(edge, local.service_id)
            assert squatter.state is ServiceState.ACTIVE
        held = (await fed.used())["edge-be"]
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("deep"))
            record, events = await settle(top, op.service_id)
            assert record.state is ServiceState.FAILED
            assert record.error is not None
            assert record.error.code == "RESOURCE_EXHAUSTED"
            assert record.error.origin == ("retail", "wholesale-eu", "edge-be")
            assert record.error.quota_violations[0].subject == "pop:bru"
            failed = await top.get_operation(op.id)
            assert failed.state is OperationState.FAILED
            assert any(e.kind is ServiceEventKind.TASK_COMPENSATED for e in events)
        used = await fed.used()
        assert used["edge-be"] == held
        assert {k: v for k, v in used.items() if k != "edge-be"} == {
            "retail": Resources(),
            "wholesale-eu": Resources(),
            "wholesale-us": Resources(),
        }
    finally:
        await fed.stop()


async def test_request_id_makes_instantiate_idempotent(demo: Federation) -> None:
    async with demo.client("retail") as top:
        first = await top.instantiate(demo_request("same"))
        again = await top.instantiate(demo_request("same"))
        assert again.id == first.id
        assert again.service_id == first.service_id
        other = replace(demo_request("same"), name="another name")
        with pytest.raises(AlreadyExists):
            await top.instantiate(other)
        await settle(top, first.service_id)
        assert len(await top.list_services(include_inactive=True)) == 1
        await top.terminate(first.service_id, "t")
        await settle(top, first.service_id)


async def test_terminate_while_instantiating_compensates_and_ends_terminated(
    tmp_path: Path,
) -> None:
    spec = demo_spec()
    # A slow leaf: servers take a while to boot, so termination arrives mid-way.
    spec["edge-be"] = replace(spec["edge-be"], pop_options={"boot_delay_ms": "1500"})
    fed = await Federation.start(tmp_path, spec)
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(demo_request("slow"))
            async for event in top.watch_service(op.service_id):
                if event.origin == ("retail", "wholesale-eu", "edge-be"):
                    break
            await top.terminate(op.service_id, "stop-it")
            record, _ = await settle(top, op.service_id)
            assert record.state is ServiceState.TERMINATED
            instantiation = await top.get_operation(op.id)
            assert instantiation.state is OperationState.FAILED
            assert instantiation.error is not None
            assert instantiation.error.code == "CANCELLED"
        assert set((await fed.used()).values()) == {Resources()}
    finally:
        await fed.stop()
