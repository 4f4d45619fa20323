"""Probes: ready files, health checks and the catalogue expectations of ``up``."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from spfed.model import Catalogue, DescriptorRef, Offer, OfferKind, RegionCapacity, Resources
from spfed.topology import Health
from spfed.topology.probes import (
    PLATFORM_SERVICE,
    CatalogueExpectation,
    check_health,
    read_ready_file,
    unmet_expectations,
)

NAT = DescriptorRef("eu.spfed.demo", "nat", "1.0")
CDN = DescriptorRef("eu.spfed.demo", "edge-cdn", "1.0")
ROOM = Resources(16, 32768, 500)


def catalogue(
    publisher: str, regions: list[str], offers: dict[DescriptorRef, list[str]]
) -> Catalogue:
    return Catalogue(
        publisher=publisher,
        version=1,
        issue_time=datetime.now(UTC),
        offers=tuple(
            Offer(OfferKind.NETWORK_FUNCTION, ref, regions=tuple(rs)) for ref, rs in offers.items()
        ),
        regions=tuple(RegionCapacity(r, ROOM, ROOM) for r in regions),
    )


EXPECT = [
    CatalogueExpectation("eu", frozenset({"de", "be"}), ("be",)),
    CatalogueExpectation("be", frozenset({"be"}), ()),
]


def test_expectations_met() -> None:
    catalogues = {
        "eu": catalogue("eu", ["be", "de"], {NAT: ["de"], CDN: ["be"]}),
        "be": catalogue("be", ["be"], {CDN: ["be"]}),
    }
    assert unmet_expectations(EXPECT, catalogues) == []


def test_expectations_unmet() -> None:
    catalogues = {"eu": catalogue("eu", ["de"], {NAT: ["de"]}), "be": None}
    assert unmet_expectations(EXPECT, catalogues) == [
        "eu: no capacity published for region(s) be",
        "eu: the catalogue of lower SP be is unknown",
        "be: no catalogue yet",
    ]
    catalogues["be"] = catalogue("be", ["be"], {CDN: ["be"]})
    catalogues["eu"] = catalogue("eu", ["be", "de"], {NAT: ["de"], CDN: ["fr"]})
    assert unmet_expectations(EXPECT, catalogues) == [
        "eu: does not offer yet what be offers: network_function eu.spfed.demo/edge-cdn/1.0"
    ]


def test_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    assert read_ready_file(ready) == ""
    ready.write_text("127.0.0.1:4")
    assert read_ready_file(ready) == ""  # still being written
    ready.write_text("127.0.0.1:45\n")
    assert read_ready_file(ready) == "127.0.0.1:45"


@pytest.fixture
async def health_server() -> AsyncIterator[tuple[str, health.aio.HealthServicer]]:
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        await server.stop(None)


async def test_health(health_server: tuple[str, health.aio.HealthServicer]) -> None:
    address, servicer = health_server
    assert await asyncio.to_thread(check_health, address) is Health.UNKNOWN  # no such service
    await servicer.set(PLATFORM_SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
    assert await asyncio.to_thread(check_health, address) is Health.NOT_SERVING
    await servicer.set(PLATFORM_SERVICE, health_pb2.HealthCheckResponse.SERVING)
    assert await asyncio.to_thread(check_health, address) is Health.SERVING


@contextlib.contextmanager
def refusing_address() -> Iterator[str]:
    """A loopback address whose port is bound but not listening, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def test_health_of_nobody() -> None:
    with refusing_address() as address:
        assert check_health(address, timeout_s=0.5) is Health.UNREACHABLE
