"""Hostile admission (issue 11, items 1 and 3) against a real node.

One operator (``solo``, PoP ``ams``) with its customers ``alice`` and
``bob``. Oversized requests and wrong values are refused at admission with
INVALID_ARGUMENT naming the bound or the field, and nothing is stored; a
maximal valid request does not stall other callers; one account cannot hold
more than ``limits.admissions_per_account`` admissions at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from spfed.errors import InvalidArgument, ResourceExhausted
from spfed.model import AddressConstraints, IdRange, InstantiateRequest, Operation
from tests.integration._federation import Federation, Operator
from tests.integration._maximal import maximal_request

pytestmark = pytest.mark.timeout(120)

SPEC = {
    "solo": Operator(
        "ams",
        "nl",
        # Room for the 10,000-function request to reach admission at all: the
        # request-size bound is the API edge's, tested there.
        settings={"limits": {"max_request_bytes": 8 << 20}},
    )
}


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    federation = await Federation.start(tmp_path, SPEC)
    try:
        yield federation
    finally:
        await federation.stop()


async def _refused(fed: Federation, request: InstantiateRequest) -> InvalidArgument:
    async with fed.client("solo", "alice") as alice:
        with pytest.raises(InvalidArgument) as caught:
            await alice.instantiate(request)
    return caught.value


async def _nothing_stored(fed: Federation) -> None:
    async with fed.client("solo", "alice") as alice:
        assert await alice.list_services(include_inactive=True) == []
    rows = await fed.nodes["solo"].lifecycle.rt.services.list_services(  # type: ignore[union-attr]
        None, include_inactive=True, limit=10, offset=0
    )
    assert rows == []


async def test_ten_thousand_functions_are_refused_fast_naming_limit_and_field(
    fed: Federation,
) -> None:
    request = maximal_request("huge", functions=10_000)
    started = time.perf_counter()
    error = await _refused(fed, request)
    elapsed = time.perf_counter() - started
    assert "limits.max_functions is 256" in error.message
    assert "descriptors.nsd.network_functions" in [v.field for v in error.field_violations]
    assert elapsed < 2.0  # serialising 1.4 MB twice dominates; admission itself is µs
    await _nothing_stored(fed)


async def test_each_bound_is_enforced(fed: Federation) -> None:
    small = maximal_request("r", functions=2)
    nsd = small.descriptors.nsd  # type: ignore[union-attr]
    too_many_links = replace(
        nsd, virtual_links=nsd.virtual_links * 700
    )  # 2,100 links, 4,202 points
    error = await _refused(
        fed, replace(small, descriptors=replace(small.descriptors, nsd=too_many_links))
    )
    assert "limits.max_links is 1024" in error.message
    assert "descriptors.nsd.virtual_links" in [v.field for v in error.field_violations]
    assert "descriptors.nsd.connection_points" in [v.field for v in error.field_violations]
    rules = maximal_request("r", functions=257, pop="ams").placement
    error = await _refused(fed, replace(small, placement=rules))
    assert "limits.max_placement_rules is 256" in error.message
    assert error.field_violations[0].field == "placement.rules"
    await _nothing_stored(fed)


@pytest.mark.parametrize(
    ("addressing", "field"),
    [
        (AddressConstraints("0.0.0.0/0"), "addressing.address_space"),
        (AddressConstraints("::/0"), "addressing.address_space"),
        (AddressConstraints("10.0.0.0/33"), "addressing.address_space"),
        (AddressConstraints("300.1.1.1/8"), "addressing.address_space"),
        (AddressConstraints("10.0.0.0/31"), "addressing.address_space"),
        (AddressConstraints("10.0.0.0/16", vni_space=IdRange(5000, 4000)), "addressing.vni_space"),
    ],
)
async def test_wrong_addressing_values_are_refused_and_create_nothing(
    fed: Federation, addressing: AddressConstraints, field: str
) -> None:
    request = replace(maximal_request("bad", functions=3), addressing=addressing)
    error = await _refused(fed, request)
    assert [v.field for v in error.field_violations] == [field]
    await _nothing_stored(fed)


async def test_zero_resources_and_a_roomy_space_stay_valid(fed: Federation) -> None:
    async with fed.client("solo", "alice") as alice:
        op = await alice.instantiate(
            maximal_request("ok", functions=3, address_space="10.9.0.0/16")
        )
        assert op.service_id


async def test_other_callers_stay_fast_while_a_maximal_request_is_admitted(
    fed: Federation,
) -> None:
    request = maximal_request("max", pop="ams", address_space="10.0.0.0/12")
    async with fed.client("solo", "alice") as alice, fed.client("solo", "bob") as bob:
        await bob.get_catalogue()  # warm the channel and the token
        admitted = asyncio.ensure_future(alice.instantiate(request))
        latencies = []
        while not admitted.done():
            started = time.perf_counter()
            await bob.get_catalogue()
            latencies.append(time.perf_counter() - started)
        op = await admitted
    assert op.service_id
    assert latencies
    assert max(latencies) < 0.5, latencies


async def test_one_account_cannot_hold_more_than_its_admissions(fed: Federation) -> None:
    limit = fed.nodes["solo"].config.limits.admissions_per_account
    storm = [
        maximal_request(f"storm-{i}", address_space=f"10.{i}.0.0/16") for i in range(limit * 3)
    ]
    async with fed.client("solo", "alice") as alice, fed.client("solo", "bob") as bob:
        results: list[Operation | BaseException] = await asyncio.gather(
            *(alice.instantiate(r) for r in storm),
            bob.instantiate(maximal_request("bob", functions=3)),
            return_exceptions=True,
        )
    *alices, bobs = results
    assert isinstance(bobs, Operation), bobs
    refused = [r for r in alices if isinstance(r, ResourceExhausted)]
    admitted = [r for r in alices if isinstance(r, Operation)]
    assert refused, alices
    assert len(admitted) >= limit
    assert len(refused) + len(admitted) == len(alices), alices
    for error in refused:
        assert error.retry_after_s is not None
        assert error.retry_after_s > 0
        assert "limits.admissions_per_account" in error.message
