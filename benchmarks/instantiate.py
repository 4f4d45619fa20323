"""Benchmark: end-to-end instantiate and terminate of the demo service on the demo topology.

    python -m benchmarks.instantiate [--runs 30] [--warmup 3]

The four operators of ``examples/topologies/demo.yaml`` run as ``grpc.aio``
servers in this process (SQLite files in a temporary directory, the
embedded emulated PoPs), then as one ``spfed serve`` process each (``spfed
topology up``). Both run with their security on: mutual TLS on every
channel and an access token on every call, as provisioned by ``spfed
topology up``. The figures are the federation's own cost. The
latency of one run is the time from the customer's InstantiateService call
until the top node's event stream reports the service ACTIVE (terminate:
until TERMINATED). As a reference, the same process measures a bare chain of
gRPC calls of the same depth (retail → wholesale-eu → edge-be): three
``grpc.aio`` servers where each forwards a unary call to the next.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from benchmarks._cycles import cycles
from spfed.client import PlatformClient
from spfed.config import parse_config
from spfed.descriptors import load_files
from spfed.model import DescriptorRef, InstantiateRequest, ServiceDescriptors
from spfed.node import Node
from spfed.topology import down, load_placement, up
from spfed.topology.security import TopologySecurity

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTORS = ROOT / "examples" / "descriptors"
CAPACITY = {"vcpus": 512, "memory_mib": 1048576, "disk_gib": 100000}


def _config(
    node_id: str,
    pop: str,
    region: str,
    tmp: Path,
    lowers: list[Node],
    files: list[str],
    security: TopologySecurity,
    parents: list[str],
) -> Any:
    return parse_config(
        {
            **security.config_sections(node_id, parents),
            "id": node_id,
            "server": {"listen": "127.0.0.1:0"},
            "storage": {"url": f"sqlite:///{tmp / node_id}.db"},
            "pops": [{"name": pop, "region": region, "capacity": CAPACITY}],
            "federation": {
                "lower_sps": [
                    {
                        "id": n.config.id,
                        "address": n.address,
                        "public_key_file": str(security.identity_public(n.config.id)),
                    }
                    for n in lowers
                ],
                "key_file": str(security.identity_key(node_id)),
            },
            "catalogue": {"descriptors": [str(DESCRIPTORS / f) for f in files]},
            "logging": {"level": "WARNING"},
        }
    )


OPERATORS = ("edge-be", "wholesale-eu", "wholesale-us", "retail")


async def start_demo(tmp: Path) -> tuple[list[Node], TopologySecurity]:
    """The demo topology in this process: edge-be, wholesale-eu, wholesale-us, retail.

    With its security as ``spfed topology up`` provisions it: mutual TLS,
    service accounts between operators, tokens on every call.
    """
    security = TopologySecurity.provision(tmp, "bench", list(OPERATORS))
    edge = await Node.start(
        _config(
            "edge-be",
            "bru",
            "be",
            tmp,
            [],
            ["nsd-edge-cdn.yml", "vnfd-cache.yml", "vnfd-router.yml"],
            security,
            ["wholesale-eu"],
        )
    )
    weu = await Node.start(
        _config(
            "wholesale-eu",
            "fra",
            "de",
            tmp,
            [edge],
            ["vnfd-legacy-nat.yml"],
            security,
            ["retail"],
        )
    )
    wus = await Node.start(
        _config("wholesale-us", "nyc", "us", tmp, [], ["vnfd-dpi.yml"], security, ["retail"])
    )
    retail = await Node.start(_config("retail", "ams", "nl", tmp, [weu, wus], [], security, []))
    # Offers propagate upward one publication at a time; wait until the top sees them all.
    wanted = {"edge-cdn", "nat", "dpi"}
    for _ in range(200):
        if wanted <= {o.descriptor.name for o in retail.catalogue.offers}:
            break
        await asyncio.sleep(0.05)
    else:
        raise SystemExit("the top node never saw every offer of the demo topology")
    return [retail, weu, wus, edge], security


def demo_request(request_id: str) -> InstantiateRequest:
    """The demo service: secure-chain with its firewall, dpi and nat VNFDs, demo placement."""
    files = load_files([DESCRIPTORS])
    nsd = files.find_nsd(DescriptorRef("eu.spfed.demo", "secure-chain", "1.0"))
    assert nsd is not None
    vnfds = tuple(v for v in files.vnfds if v.ref.name in ("firewall", "dpi", "nat"))
    return InstantiateRequest(
        request_id=request_id,
        name="bench",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=load_placement(ROOT / "examples" / "topologies" / "demo-placement.yaml"),
    )


async def _measure(
    client: PlatformClient, runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Instantiate then terminate the demo service ``warmup + runs`` times; latencies in ms."""
    return await cycles(client, demo_request("bench"), runs, warmup)


async def federation(runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """The demo topology in this process: instantiate and terminate latencies, in ms."""
    with tempfile.TemporaryDirectory() as tmp:
        nodes, security = await start_demo(Path(tmp))
        try:
            async with PlatformClient(
                nodes[0].address, tls=security.client_tls(), sign_in=security.sign_in("retail")
            ) as client:
                return await _measure(client, runs, warmup)
        finally:
            for node in nodes:
                await node.stop(1)


async def processes(runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """The demo topology as ``spfed topology up`` runs it, one process per operator."""
    with tempfile.TemporaryDirectory() as tmp:
        state = await asyncio.to_thread(up, ROOT / "examples" / "topologies" / "demo.yaml", tmp)
        try:
            top = state.operators["retail"]
            security = TopologySecurity.under(state.directory)
            async with PlatformClient(
                top.address,
                node_id=top.id,
                tls=security.client_tls(),
                sign_in=security.sign_in(top.id, "acme"),
            ) as client:
                return await _measure(client, runs, warmup)
        finally:
            await asyncio.to_thread(down, state)


class _Forwarder(health_pb2_grpc.HealthServicer):
    """A health servicer that forwards each Check to the next hop (the bare chain)."""

    def __init__(self, next_hop: str | None) -> None:
        self._stub = (
            health_pb2_grpc.HealthStub(grpc.aio.insecure_channel(next_hop)) if next_hop else None
        )

    async def Check(self, request: Any, context: Any) -> Any:
        if self._stub is not None:
            return await self._stub.Check(request)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


async def bare_chain(runs: int, depth: int = 3) -> list[float]:
    """Latencies of a unary call forwarded through ``depth`` grpc.aio servers, in milliseconds."""
    servers = []
    next_hop: str | None = None
    for _ in range(depth):
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(_Forwarder(next_hop), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        next_hop = f"127.0.0.1:{port}"
    assert next_hop is not None
    try:
        async with grpc.aio.insecure_channel(next_hop) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            out = []
            for i in range(runs + 50):
                started = time.perf_counter()
                await stub.Check(health_pb2.HealthCheckRequest())
                if i >= 50:
                    out.append((time.perf_counter() - started) * 1000)
            return out
    finally:
        for server in servers:
            await server.stop(0)


def _summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"{label:<34} median {statistics.median(values):8.2f} ms   p95 {p95:8.2f} ms   "
        f"min {ordered[0]:7.2f}   max {ordered[-1]:7.2f}   n={len(values)}"
    )


async def main(runs: int, warmup: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    # Nodes log warnings and errors only, in this process and in the spawned ones.
    os.environ["SPFED__LOGGING__LEVEL"] = "WARNING"
    chain = await bare_chain(max(runs, 100))
    inst, term = await federation(runs, warmup)
    inst_p, term_p = await processes(runs, warmup)
    chain_median = statistics.median(chain)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(_summary("bare 3-hop grpc.aio chain", chain))
    print("one process (4 nodes on one event loop):")
    print(_summary("  instantiate demo service", inst))
    print(_summary("  terminate demo service", term))
    print("one process per operator (spfed topology up):")
    print(_summary("  instantiate demo service", inst_p))
    print(_summary("  terminate demo service", term_p))
    for label, values in (("one process", inst), ("one process per operator", inst_p)):
        ratio = statistics.median(values) / chain_median
        print(f"instantiate median / bare chain median, {label}: {ratio:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    ns = parser.parse_args()
    asyncio.run(main(ns.runs, ns.warmup))
