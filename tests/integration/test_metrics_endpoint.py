"""A node's /metrics over HTTP on 127.0.0.1: calls, refusals, workflows and pools move it."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spfed.api.v1 import gatekeeper_pb2 as gk
from spfed.api.v1 import gatekeeper_pb2_grpc as gk_grpc
from spfed.api.v1 import platform_service_pb2 as api
from spfed.api.v1 import platform_service_pb2_grpc as api_grpc
from spfed.model import ServiceState
from tests.integration._federation import (
    Federation,
    Operator,
    demo_spec,
    edge_cdn,
    settle,
)

pytestmark = pytest.mark.timeout(60)

METRICS = {"metrics": {"listen": "127.0.0.1:0"}}
GET_CATALOGUE = "/spfed.v1.PlatformService/GetCatalogue"


def scrape(address: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample at ``http://address/metrics``, by name and sorted labels."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
        assert reply.status == 200
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scraped_until(
    address: str, ready: Callable[[dict[tuple[str, tuple[tuple[str, str], ...]], float]], bool]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Scrape until ``ready`` holds (bounded): a call is observed as it ends, which may be
    just after its caller got the answer."""
    async with asyncio.timeout(10):
        while True:
            samples = await asyncio.to_thread(scrape, address)
            if ready(samples):
                return samples
            await asyncio.sleep(0.05)


def sample(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
async def fed(tmp_path: Path) -> AsyncIterator[Federation]:
    spec = demo_spec()
    spec = {
        "edge-be": Operator(
            spec["edge-be"].pop,
            spec["edge-be"].region,
            descriptors=spec["edge-be"].descriptors,
            settings=METRICS,
        ),
        "wholesale-eu": Operator("fra", "de", children=["edge-be"], settings=METRICS),
    }
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


async def test_metrics_move_with_calls_refusals_and_workflows(fed: Federation) -> None:
    node = fed.nodes["edge-be"]
    assert node.metrics_address.startswith("127.0.0.1:")
    assert node.stats()["metrics"] == node.metrics_address
    before = await asyncio.to_thread(scrape, node.metrics_address)
    assert sample(before, "spfed_node_info", node="edge-be") == 1

    calls = 3
    async with fed.client("edge-be") as client:
        for _ in range(calls):
            await client.get_catalogue()
        op = await client.instantiate(edge_cdn())
        record, _ = await settle(client, op.service_id)
        assert record.state is ServiceState.ACTIVE
    async with fed.channel("edge-be") as channel:
        stub = gk_grpc.GatekeeperServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.IssueToken(
                gk.IssueTokenRequest(
                    password=gk.PasswordCredential(account="admin", password="not-the-password")
                ),
                timeout=10,
            )
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED

    after = await scraped_until(
        node.metrics_address,
        lambda s: (
            sample(
                s,
                "spfed_rpc_duration_seconds_count",
                method="/spfed.v1.GatekeeperService/IssueToken",
                code="UNAUTHENTICATED",
            )
            == 1
        ),
    )
    ok = {"method": GET_CATALOGUE, "code": "OK"}
    assert (
        sample(after, "spfed_rpc_duration_seconds_count", **ok)
        - sample(before, "spfed_rpc_duration_seconds_count", **ok)
        >= calls
    )
    assert sample(after, "spfed_rpc_duration_seconds_bucket", le="+Inf", **ok) >= calls
    refused_sign_in = {"stage": "sign_in", "reason": "bad_credentials"}
    assert sample(after, "spfed_auth_refused_total", **refused_sign_in) == 1
    issue = {"method": "/spfed.v1.GatekeeperService/IssueToken", "code": "UNAUTHENTICATED"}
    assert sample(after, "spfed_rpc_duration_seconds_count", **issue) == 1
    done = {"workflow": "instantiate", "outcome": "succeeded"}
    assert sample(after, "spfed_workflow_duration_seconds_count", **done) == 1
    admitted = {"workflow": "admission", "outcome": "succeeded"}
    assert sample(after, "spfed_workflow_duration_seconds_count", **admitted) == 1
    validate = {"workflow": "admission", "task": "validate", "state": "succeeded"}
    assert sample(after, "spfed_tasks_total", **validate) == 1
    assert sample(after, "spfed_catalogue_version") >= 1
    assert sample(after, "spfed_pool_used", pool="vnis") > sample(
        before, "spfed_pool_used", pool="vnis"
    )
    assert sample(after, "spfed_pool_size", pool="vnis") > 0

    # The upper node counts the calls it refused for want of a token.
    upper = fed.nodes["wholesale-eu"]
    async with fed.channel("wholesale-eu") as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await api_grpc.PlatformServiceStub(channel).GetCatalogue(
                api.GetCatalogueRequest(), timeout=10
            )
    upper_samples = await scraped_until(
        upper.metrics_address,
        lambda s: (
            sample(
                s, "spfed_rpc_duration_seconds_count", method=GET_CATALOGUE, code="UNAUTHENTICATED"
            )
            == 1
        ),
    )
    assert sample(upper_samples, "spfed_auth_refused_total", stage="call", reason="no_token") == 1
    assert (
        sample(
            upper_samples,
            "spfed_rpc_duration_seconds_count",
            method=GET_CATALOGUE,
            code="UNAUTHENTICATED",
        )
        == 1
    )


async def test_metrics_are_off_by_default_and_stop_with_the_node(tmp_path: Path) -> None:
    fed = await Federation.start(
        tmp_path, {"solo": Operator("ams", "nl"), "on": Operator("fra", "de", settings=METRICS)}
    )
    try:
        assert fed.nodes["solo"].metrics_address == ""
        address = fed.nodes["on"].metrics_address
        assert await asyncio.to_thread(scrape, address)
    finally:
        await fed.stop()
    with pytest.raises(OSError, match="refused"):
        await asyncio.to_thread(scrape, address)
