"""Signed catalogues across real federations: withdrawals, staleness, refusals, aggregation.

A 4-level chain (top → l2 → l3 → bottom), where only ``bottom`` has the
cache and router VNFDs, in region ``be``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from addressing import HONOURED_CONSTRAINTS
from spfed.errors import FailedPrecondition, InvalidArgument
from spfed.model import (
    DescriptorRef,
    InstantiateRequest,
    OfferKind,
    PlacementConstraints,
    PlacementRule,
    Price,
    ServiceState,
)
from tests.integration._federation import DESCRIPTORS, Federation, Operator, edge_cdn, settle

pytestmark = pytest.mark.timeout(60)

CACHE = DescriptorRef("eu.spfed.demo", "cache", "1.0")
EDGE_CDN = DescriptorRef("eu.spfed.demo", "edge-cdn", "1.0")
BOUND_S = 1.0
"""The issue's bound: a change at depth 4 reaches the top within a second."""


def chain(**bottom_settings: object) -> dict[str, Operator]:
    return {
        "bottom": Operator(
            "bru",
            "be",
            descriptors=[
                DESCRIPTORS / "nsd-edge-cdn.yml",
                DESCRIPTORS / "vnfd-cache.yml",
                DESCRIPTORS / "vnfd-router.yml",
            ],
            settings={
                "catalogue": {
                    "prices": {
                        "eu.spfed.demo/cache/1.0": {"per_hour": "0.25"},
                        "eu.spfed.demo/router/1.0": {"per_hour": "0.05"},
                    },
                    "sla": [
                        {"region": "be", "toward": "nl", "latency_ms": 4, "bandwidth_mbps": 10000}
                    ],
                    **bottom_settings,
                }
            },
        ),
        "l3": Operator("fra", "de", children=["bottom"]),
        "l2": Operator("par", "fr", children=["l3"]),
        "top": Operator("ams", "nl", children=["l2"]),
    }


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    federation = await Federation.start(tmp_path, chain())
    try:
        yield federation
    finally:
        await federation.stop()


def cdn_at_top() -> InstantiateRequest:
    request = edge_cdn()
    rules = {"vnf_cache": PlacementRule(region="be"), "vnf_router": PlacementRule(region="be")}
    return InstantiateRequest(
        request_id=f"cdn-{time.monotonic_ns()}",
        descriptors=request.descriptors,
        placement=PlacementConstraints(rules=rules),
    )


def top_offers(fed: Federation) -> set[DescriptorRef]:
    """What the top node may place through its lower SP now."""
    lower = fed.nodes["top"].lifecycle.rt.lower_catalogues()["l2"]  # type: ignore[union-attr]
    return {o.descriptor for o in lower.offers} if lower else set()


async def until(condition: object, timeout_s: float) -> float:
    """Seconds until ``condition()`` held (polling every 5 ms); fails the test past the bound."""
    began = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - began > timeout_s:
            pytest.fail(f"not within {timeout_s} s")
        await asyncio.sleep(0.005)
    return time.monotonic() - began


async def test_the_top_sees_the_bottoms_offers_with_prices_sla_and_no_names(
    fed: Federation,
) -> None:
    async with fed.client("top") as top:
        catalogue = await top.get_catalogue()
        signed = await top.get_signed_catalogue()
    assert signed.catalogue == catalogue
    assert catalogue.publisher == "top"
    cache = catalogue.find(OfferKind.NETWORK_FUNCTION, CACHE)
    assert cache is not None
    assert cache.regions == ("be",)
    assert cache.price == Price(250_000, "EUR")
    cdn = catalogue.find(OfferKind.NETWORK_SERVICE, EDGE_CDN)
    assert cdn is not None
    assert cdn.price == Price(300_000, "EUR")  # its members' prices, summed at the bottom
    assert [(s.region, s.toward, s.latency_ms) for s in catalogue.sla] == [("be", "nl", 4)]
    assert {r.region: r.pops for r in catalogue.regions} == {"be": 1, "de": 1, "fr": 1, "nl": 1}
    assert catalogue.valid_until is not None
    assert catalogue.valid_until > catalogue.issue_time
    assert catalogue.address_constraints == HONOURED_CONSTRAINTS
    for lower in ("bottom", "l2", "l3"):
        assert lower.encode() not in signed.payload  # re-published without naming them


async def test_withdrawing_at_the_bottom_leaves_the_tops_choices_within_the_bound(
    fed: Federation,
) -> None:
    async with fed.client("top") as top:
        first = await top.instantiate(cdn_at_top())
        record, _ = await settle(top, first.service_id)
        assert record.state is ServiceState.ACTIVE

        async with fed.client("bottom") as bottom:
            began = time.monotonic()
            without = await bottom.withdraw_offer(OfferKind.NETWORK_FUNCTION, CACHE)
            assert without.find(OfferKind.NETWORK_FUNCTION, CACHE) is None
            took = await until(lambda: CACHE not in top_offers(fed), BOUND_S)
            assert time.monotonic() - began < BOUND_S
            print(f"withdrawal reached the top in {took * 1000:.0f} ms")
            # Services needing it are withdrawn with it.
            assert EDGE_CDN not in top_offers(fed)
            # The request names the cache by reference only: nothing resolves it any more.
            with pytest.raises(InvalidArgument, match=r"no VNFD eu\.spfed\.demo/cache"):
                await top.instantiate(cdn_at_top())
            # What runs is not touched.
            assert (await top.get_service(first.service_id)).state is ServiceState.ACTIVE

            back = await bottom.restore_offer(OfferKind.NETWORK_FUNCTION, CACHE)
            assert back.find(OfferKind.NETWORK_FUNCTION, CACHE) is not None
            await until(lambda: CACHE in top_offers(fed), BOUND_S)
        again = await top.instantiate(cdn_at_top())
        record, _ = await settle(top, again.service_id)
        assert record.state is ServiceState.ACTIVE


async def test_a_withdrawal_survives_a_restart_and_binds_the_node_itself(
    fed: Federation,
) -> None:
    async with fed.client("bottom") as bottom:
        await bottom.withdraw_offer(OfferKind.NETWORK_FUNCTION, CACHE)
    await fed.nodes["bottom"].stop(0.5)
    node = await fed.start_node("bottom", chain())
    assert node.catalogue.find(OfferKind.NETWORK_FUNCTION, CACHE) is None
    async with fed.client("bottom") as bottom:
        # The node itself no longer places the withdrawn function on its own PoP.
        with pytest.raises(FailedPrecondition, match="nothing offers"):
            await bottom.instantiate(cdn_at_top())


async def test_a_lower_sp_signed_with_the_wrong_key_is_never_believed(tmp_path: Path) -> None:
    spec = chain()
    fed = Federation()
    fed.tmp = tmp_path
    try:
        # l3 is told to expect the top's key for bottom's catalogue: every version bottom
        # pushes fails the check, is counted, and none of bottom's offers goes up.
        from spfed.topology.security import TopologySecurity

        fed.security = TopologySecurity.provision(
            tmp_path, "t", list(spec), customers={}, scrypt_log_n=10
        )
        await fed.start_node("bottom", spec)
        config = fed.config("l3", spec)
        from dataclasses import replace

        wrong = replace(
            config.federation.lower_sps[0],
            public_key_file=str(fed.security.identity_public("top")),
        )
        from spfed.node import Node

        node = await Node.start(
            replace(config, federation=replace(config.federation, lower_sps=(wrong,)))
        )
        fed.nodes["l3"] = node
        subscriber = node._subscriber
        assert subscriber is not None
        await until(lambda: subscriber.states()[0].rejected.get("wrong_key", 0) >= 1, 10)
        (state,) = subscriber.states()
        assert state.stale
        assert state.version == 0
        assert node.catalogue.find(OfferKind.NETWORK_FUNCTION, CACHE) is None
    finally:
        await fed.stop()


async def test_an_unreachable_lower_sps_offers_go_stale_when_their_validity_ends(
    tmp_path: Path,
) -> None:
    spec = chain(validity_s=2)
    fed = await Federation.start(tmp_path, spec)
    try:
        l3 = fed.nodes["l3"]
        assert l3.catalogue.find(OfferKind.NETWORK_FUNCTION, CACHE) is not None
        held = l3.lower_catalogues()[0]
        assert held.valid_until is not None
        await fed.nodes["bottom"].stop(0.5)
        del fed.nodes["bottom"]
        # The last good version stays in use until its validity ends, then no longer.
        assert l3.catalogue.find(OfferKind.NETWORK_FUNCTION, CACHE) is not None
        await until(lambda: l3.catalogue.find(OfferKind.NETWORK_FUNCTION, CACHE) is None, 5)
        (state,) = l3.lower_catalogues()
        assert state.stale
        assert "be" not in {r.region for r in l3.catalogue.regions}
    finally:
        await fed.stop()
