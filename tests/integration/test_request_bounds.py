"""Hostile requests against real nodes: withdrawals of offers that do not exist, errors too
big for trailing metadata, undecodable and oversized bodies.

``edge`` (the dpi function) below ``retail`` (router and cache), mutual TLS, and retail
accepts requests of at most 64 KiB, so the size limit is cheap to reach.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from spfed.api.v1 import catalogue_pb2 as cpb
from spfed.api.v1 import descriptors_pb2 as dpb
from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.model import AddressConstraint, AddressConstraints
from spfed.wire import instantiate_request_to_pb
from spfed.wire._bounds import MAX_ERROR_BYTES, MORE
from tests.integration._federation import DESCRIPTORS, Federation, Operator, edge_cdn

pytestmark = pytest.mark.timeout(60)

MAX_REQUEST_BYTES = 64 * 1024
FN = cpb.OFFER_KIND_NETWORK_FUNCTION
NS = cpb.OFFER_KIND_NETWORK_SERVICE


def field_violations(
    error: grpc.aio.AioRpcError,
) -> list[error_details_pb2.BadRequest.FieldViolation]:
    """The ``BadRequest`` field violations of a refused call."""
    status: status_pb2.Status = rpc_status.from_call(error)
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    return list(bad.field_violations)


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    spec = {
        "edge": Operator("bru", "be", descriptors=[DESCRIPTORS / "vnfd-dpi.yml"]),
        "retail": Operator(
            "ams",
            "nl",
            children=["edge"],
            descriptors=[DESCRIPTORS / f for f in ("vnfd-cache.yml", "vnfd-router.yml")],
            settings={"limits": {"max_request_bytes": MAX_REQUEST_BYTES}},
        ),
    }
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


async def bearer(fed: Federation) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {await fed.token('retail')}"),)


def ref(name: str, vendor: str = "eu.spfed.demo", version: str = "1.0") -> dpb.DescriptorRef:
    return dpb.DescriptorRef(vendor=vendor, name=name, version=version)


def stored_withdrawals(fed: Federation) -> int:
    with sqlite3.connect(fed.tmp / "retail.db") as db:
        (count,) = db.execute("SELECT count(*) FROM withdrawn_offers").fetchone()
    return int(count)


async def test_withdrawing_an_offer_the_node_does_not_have_is_not_found_and_stores_nothing(
    fed: Federation,
) -> None:
    retail = fed.nodes["retail"]
    version = retail.catalogue.version
    async with fed.channel("retail") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        metadata = await bearer(fed)

        async def withdraw(kind: int, descriptor: dpb.DescriptorRef) -> grpc.StatusCode:
            try:
                await stub.WithdrawOffer(
                    api.WithdrawOfferRequest(kind=kind, descriptor=descriptor), metadata=metadata
                )
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

        unknown = [
            *(ref(str(i), vendor="fuzz", version="nothing") for i in range(5)),
            ref("cache", version="9.9"),  # the version is exact
        ]
        for descriptor in unknown:
            assert await withdraw(FN, descriptor) is grpc.StatusCode.NOT_FOUND
        assert await withdraw(NS, ref("cache")) is grpc.StatusCode.NOT_FOUND  # a function
        assert stored_withdrawals(fed) == 0
        assert retail.withdrawals is not None
        assert retail.withdrawals.current() == frozenset()
        assert retail.catalogue.version == version  # nothing was re-published
        # What the node has may be withdrawn, again and again: its own, and its lower SP's.
        for descriptor in (ref("cache"), ref("cache"), ref("dpi")):
            assert await withdraw(FN, descriptor) is grpc.StatusCode.OK
        assert stored_withdrawals(fed) == 2
        offered = {o.descriptor.name for o in retail.catalogue.offers}
        assert offered.isdisjoint({"cache", "dpi"})


async def test_an_error_with_hundreds_of_violations_reaches_the_caller_capped(
    fed: Federation,
) -> None:
    """200 addressing constraints on points the NSD does not have: 200 violations, each
    naming the NSD's points, well past what 8 KiB of trailers can carry."""
    cdn = edge_cdn()
    request = replace(
        cdn,
        addressing=AddressConstraints(
            constraints=tuple(
                AddressConstraint(f"no-such-point-{i:03}", "10.0.0.0/30") for i in range(200)
            )
        ),
    )
    async with fed.channel("retail") as channel:
        stub = api_grpc.PlatformServiceStub(channel)
        metadata = await bearer(fed)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.InstantiateService(instantiate_request_to_pb(request), metadata=metadata)
        assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        trailers = caught.value.trailing_metadata()
        details = [v for k, v in trailers if k == "grpc-status-details-bin"]
        assert len(details) == 1
        assert isinstance(details[0], bytes)
        size = len(details[0]) * 4 // 3 + len((caught.value.details() or "").encode())
        assert size < MAX_ERROR_BYTES
        status: status_pb2.Status = rpc_status.from_call(caught.value)
        bad = error_details_pb2.BadRequest()
        assert any(d.Unpack(bad) for d in status.details)
        fields = [v.field for v in bad.field_violations]
        # At most 50 and a count; here the 8 KiB bound keeps fewer (each names the NSD's
        # points), and the count says how many were left out.
        kept = len(fields) - 1
        assert 10 < kept <= 50
        assert fields[:kept] == [
            f"addressing.constraints[{i}].connection_point" for i in range(kept)
        ]
        assert (fields[-1], bad.field_violations[-1].description) == (
            MORE,
            f"{200 - kept} more field violations left out",
        )
        listed = await stub.ListServices(
            api.ListServicesRequest(include_inactive=True), metadata=metadata
        )
        assert list(listed.services) == []


async def test_an_undecodable_body_is_invalid_argument_without_a_traceback(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    bodies = [b"\xff\xff\xff", b"\x0a\xff\xff\xff\x7f" + b"x" * 100, b"\x08"]
    async with fed.channel("retail") as channel:
        metadata = await bearer(fed)
        with caplog.at_level(logging.INFO):
            for method, message in (
                ("/spfed.v1.PlatformService/InstantiateService", "InstantiateServiceRequest"),
                ("/spfed.v1.PlatformService/GetCatalogue", "GetCatalogueRequest"),
                ("/spfed.v1.GatekeeperService/IssueToken", "IssueTokenRequest"),
            ):
                call = channel.unary_unary(method)
                for body in bodies[:2]:
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await call(body, metadata=metadata, timeout=5)
                    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT, method
                    assert caught.value.details() == (
                        f"the request body is not a valid spfed.v1.{message}"
                    )
            # Without a token the refusal is the gatekeeper's: nothing is said of the body.
            with pytest.raises(grpc.aio.AioRpcError) as anonymous:
                await channel.unary_unary("/spfed.v1.PlatformService/InstantiateService")(
                    bodies[0], timeout=5
                )
            assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
        reply = await api_grpc.PlatformServiceStub(channel).GetCatalogue(
            api.GetCatalogueRequest(), metadata=metadata, timeout=5
        )
        assert reply.catalogue.publisher == "retail"
    assert [r for r in caplog.records if r.exc_info] == []
    assert not any("Traceback" in r.getMessage() for r in caplog.records)
    assert not any(r.name.startswith("grpc") for r in caplog.records)
    undecodable = [r for r in caplog.records if "event=request_undecodable" in r.getMessage()]
    assert len(undecodable) == 6


async def test_a_request_over_the_size_limit_is_refused_naming_the_limit(
    fed: Federation, caplog: pytest.LogCaptureFixture
) -> None:
    """Over ``limits.max_request_bytes``: INVALID_ARGUMENT naming the limit, never parsed.
    Past twice the limit grpc refuses it itself (RESOURCE_EXHAUSTED, its documented status
    for a message over the configured limit), even without a token. A request exactly at
    the limit is decoded and judged."""
    async with fed.channel("retail") as channel:
        call = channel.unary_unary("/spfed.v1.PlatformService/InstantiateService")
        metadata = await bearer(fed)

        def request(size: int) -> bytes:
            head = api.InstantiateServiceRequest(request_id="r").SerializeToString()
            length_bytes = 3 if size < (1 << 21) else 4
            filler = size - len(head) - 1 - length_bytes  # field 2 (name): tag, length, value
            body = api.InstantiateServiceRequest(
                request_id="r", name="n" * filler
            ).SerializeToString()
            assert len(body) == size
            return body

        with caplog.at_level(logging.INFO):
            with pytest.raises(grpc.aio.AioRpcError) as over:
                await call(request(MAX_REQUEST_BYTES + 1), metadata=metadata, timeout=5)
            assert over.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert f"limits.max_request_bytes is {MAX_REQUEST_BYTES}" in (
                over.value.details() or ""
            )
            violations = field_violations(over.value)
            assert [v.field for v in violations] == ["request"]
            # Without a token the size says nothing: the call is refused as anonymous.
            with pytest.raises(grpc.aio.AioRpcError) as anonymous:
                await call(request(MAX_REQUEST_BYTES + 1), timeout=5)
            assert anonymous.value.code() is grpc.StatusCode.UNAUTHENTICATED
            # Far over: grpc refuses it before reading it whole, token or not.
            with pytest.raises(grpc.aio.AioRpcError) as far:
                await call(request(2 * MAX_REQUEST_BYTES + 1), timeout=5)
            assert far.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "larger than max" in (far.value.details() or "")
            with pytest.raises(grpc.aio.AioRpcError) as under:
                await call(request(MAX_REQUEST_BYTES), metadata=metadata, timeout=5)
            assert under.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert "limits.max_request_bytes" not in (under.value.details() or "")
    assert [r for r in caplog.records if r.exc_info] == []
