"""The WIM inside the service lifecycle, on real nodes with the capacity-only driver.

The demo topology, where retail and wholesale-eu have a WAN: retail's PoP ams joins
border points toward each lower SP; wholesale-eu's PoP fra joins a border toward
retail (its upper SP) and one toward edge-be. Each node books, on its own WAN, the
links of the service that cross it, and releases exactly them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from spfed.lifecycle import NodeRuntime
from spfed.model import (
    InstantiateRequest,
    QosRequirements,
    ServiceRecord,
    ServiceState,
    SliceState,
)
from tests.integration._federation import Federation, Operator, demo_request, demo_spec, settle
from tests.integration.test_slices import request as slice_request
from tests.integration.test_slices import settled as slice_settled
from tests.integration.test_slices import template as slice_template
from wim import Wim

pytestmark = pytest.mark.timeout(60)


def border(border_id: str, region: str, peer: str) -> dict[str, str]:
    return {"id": border_id, "region": region, "peer": peer}


def wan_link(link_id: str, a: str, b: str, mbps: float, ms: float = 1.0) -> dict[str, Any]:
    return {"id": link_id, "a": a, "b": b, "capacity_mbps": mbps, "latency_ms": ms}


def retail_wan(us_mbps: float = 1000) -> dict[str, Any]:
    return {
        "catalogue": {
            "borders": [
                border("to-eu", "de", "wholesale-eu"),
                border("to-us", "us", "wholesale-us"),
            ]
        },
        "wim": {
            "enabled": True,
            "links": [
                wan_link("ams-eu", "ams", "to-eu", 1000, 8),
                wan_link("ams-us", "ams", "to-us", us_mbps, 45),
            ],
        },
    }


def eu_wan(up_mbps: float = 1000) -> dict[str, Any]:
    return {
        "catalogue": {
            "descriptors": [str(d) for d in demo_spec()["wholesale-eu"].descriptors],
            "borders": [border("up", "de", "retail"), border("to-be", "be", "edge-be")],
        },
        "wim": {
            "enabled": True,
            "links": [
                wan_link("fra-up", "fra", "up", up_mbps),
                wan_link("fra-be", "fra", "to-be", 1000),
            ],
        },
    }


def spec(retail: dict[str, Any], eu: dict[str, Any]) -> dict[str, Operator]:
    out = demo_spec()
    out["retail"] = replace(out["retail"], settings=retail)
    out["wholesale-eu"] = replace(out["wholesale-eu"], settings=eu)
    return out


def wim_of(fed: Federation, op_id: str) -> Wim:
    lifecycle = fed.nodes[op_id].lifecycle
    assert lifecycle is not None
    rt: NodeRuntime = lifecycle.rt
    assert rt.wim is not None
    return rt.wim


def booked(fed: Federation, op_id: str) -> dict[str, float]:
    wim = wim_of(fed, op_id)
    return {link: wim.ledger.booked(link) for link in wim.graph.links}


async def run(fed: Federation, request_id: str) -> ServiceRecord:
    async with fed.client("retail") as top:
        op = await top.instantiate(demo_request(request_id))
        record, _ = await settle(top, op.service_id)
    return record


async def terminate(fed: Federation, service_id: str) -> ServiceRecord:
    async with fed.client("retail") as top:
        await top.terminate(service_id, f"t-{service_id}")
        record, _ = await settle(top, service_id)
    return record


async def released(fed: Federation, used: dict[str, Any]) -> None:
    """Every PoP back to ``used`` (bounded wait: compensation below may trail the top)."""
    for _ in range(100):
        if await fed.used() == used:
            return
        await asyncio.sleep(0.05)
    assert await fed.used() == used


def remote_id(record: ServiceRecord, lower: str) -> str:
    part = next(p for p in record.parts if p.lower_sp == lower)
    return part.remote_service_id


async def test_each_node_books_the_links_crossing_its_wan_and_terminate_frees_them(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, spec(retail_wan(), eu_wan()))
    try:
        record = await run(fed, "wan")
        assert record.state is ServiceState.ACTIVE, record.error
        retail, eu = wim_of(fed, "retail"), wim_of(fed, "wholesale-eu")
        # retail: fw(ams)→dpi(us), dpi(us)→nat(eu) through ams, and the mgmt E-LAN
        assert sorted(retail.connectivity_ids(f"{record.id}/")) == [
            f"{record.id}/{link}" for link in ("dpi-2-nat", "fw-2-dpi", "mgmt")
        ]
        line = retail.get_connectivity_service(f"{record.id}/dpi-2-nat")
        assert [(s.link_id, s.a, s.b) for s in line.segments] == [
            ("ams-us", "to-us", "ams"),
            ("ams-eu", "ams", "to-eu"),
        ]
        assert line.latency_ms == 53.0
        assert len({s.vni for s in line.segments}) == 2  # a VNI per segment
        # wholesale-eu: its part of the chain, toward retail (up) and edge-be
        sub = remote_id(record, "wholesale-eu")
        cdn_out = eu.get_connectivity_service(f"{sub}/cdn-2-output")
        assert cdn_out.bandwidth_mbps == 500  # the NSD's minimum bandwidth
        assert booked(fed, "wholesale-eu") == {"fra-up": 500.0, "fra-be": 500.0}
        # wholesale-us has no WIM: nothing to book there
        us = fed.nodes["wholesale-us"].lifecycle
        assert us is not None
        assert us.rt.wim is None

        done = await terminate(fed, record.id)
        assert done.state is ServiceState.TERMINATED
        assert retail.connectivity_ids("") == []
        assert eu.connectivity_ids("") == []
        assert set(booked(fed, "retail").values()) == {0.0}
        assert set(booked(fed, "wholesale-eu").values()) == {0.0}
    finally:
        await fed.stop()


async def test_a_wan_link_without_the_bandwidth_fails_the_service_and_books_nothing(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, spec(retail_wan(), eu_wan(up_mbps=400)))
    try:
        used = await fed.used()
        record = await run(fed, "too-big")
        assert record.state is ServiceState.FAILED
        assert record.error is not None
        assert record.error.code == "RESOURCE_EXHAUSTED", record.error
        assert "fra-up" in record.error.message
        await released(fed, used)
        for op_id in ("retail", "wholesale-eu"):
            assert wim_of(fed, op_id).connectivity_ids("") == []
            assert set(booked(fed, op_id).values()) == {0.0}
    finally:
        await fed.stop()


def with_bandwidth(request: InstantiateRequest, link: str, mbps: float) -> InstantiateRequest:
    """The request with ``link`` of its NSD asking a guaranteed bandwidth."""
    nsd = request.descriptors.nsd
    links = tuple(
        replace(vl, qos=QosRequirements(minimum_bandwidth_mbps=mbps)) if vl.id == link else vl
        for vl in nsd.virtual_links
    )
    descriptors = replace(request.descriptors, nsd=replace(nsd, virtual_links=links))
    return replace(request, descriptors=descriptors)


async def test_bookings_survive_a_restart_and_terminate_still_frees_them(tmp_path: Path) -> None:
    layout = spec(retail_wan(), eu_wan())
    fed = await Federation.start(tmp_path, layout)
    try:
        async with fed.client("retail") as top:
            op = await top.instantiate(with_bandwidth(demo_request("restart"), "fw-2-dpi", 120))
            record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.ACTIVE, record.error
        before, ids = booked(fed, "retail"), wim_of(fed, "retail").connectivity_ids("")
        assert before == {"ams-eu": 0.0, "ams-us": 120.0}
        await fed.nodes["retail"].stop()
        await fed.start_node("retail", layout)
        assert wim_of(fed, "retail").connectivity_ids("") == ids
        assert booked(fed, "retail") == before

        assert (await terminate(fed, record.id)).state is ServiceState.TERMINATED
        assert wim_of(fed, "retail").connectivity_ids("") == []
        assert set(booked(fed, "retail").values()) == {0.0}
    finally:
        await fed.stop()


async def test_a_lower_sp_without_a_border_fails_the_service_and_compensates(
    tmp_path: Path,
) -> None:
    no_us = retail_wan()
    no_us["catalogue"] = {"borders": [border("to-eu", "de", "wholesale-eu")]}
    no_us["wim"] = {"enabled": True, "links": [wan_link("ams-eu", "ams", "to-eu", 1000)]}
    fed = await Federation.start(tmp_path, spec(no_us, eu_wan()))
    try:
        used = await fed.used()
        record = await run(fed, "no-border")
        assert record.state is ServiceState.FAILED
        assert record.error is not None
        assert record.error.code == "FAILED_PRECONDITION"
        assert "wholesale-us" in record.error.message
        assert wim_of(fed, "retail").connectivity_ids("") == []
        await released(fed, used)
    finally:
        await fed.stop()


async def test_a_slice_link_is_booked_on_the_wan_with_its_bandwidth_and_freed_on_delete(
    tmp_path: Path,
) -> None:
    fed = await Federation.start(tmp_path, spec(retail_wan(), eu_wan()))
    try:
        nst = slice_template("nst-secure-edge.yml")
        (link,) = nst.links
        nst = replace(nst, links=(replace(link, bandwidth_mbps=250.0),))
        async with fed.client("retail", "alice") as alice:
            made = await alice.create_slice(slice_request("wan-slice", nst))
            active = await slice_settled(alice, made.id)
            assert active.state is SliceState.ACTIVE, active.error
            (booked_link,) = active.links
            (cid,) = booked_link.connectivity_ids
            handle = wim_of(fed, "retail").get_connectivity_service(cid)
            # the CDN's output is behind the border to wholesale-eu, the chain's input at ams
            assert {p.node for p in handle.endpoints} == {"ams", "to-eu"}
            assert handle.bandwidth_mbps == 250.0
            assert booked(fed, "retail")["ams-eu"] == 250.0

            await alice.delete_slice(made.id)
            assert (await slice_settled(alice, made.id)).state is SliceState.DELETED
        assert not [c for c in wim_of(fed, "retail").connectivity_ids("") if c.startswith("slice:")]
        assert booked(fed, "retail")["ams-eu"] == 0.0
    finally:
        await fed.stop()
