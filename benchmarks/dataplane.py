"""Benchmark: create and delete the three-operator chain, netns data plane vs capacity-only.

    python -m benchmarks.dataplane [--runs 10] [--warmup 2]

``examples/topologies/dataplane.yaml`` (3 operators, 2 levels, each with a WIM)
is brought up with ``spfed topology up``, one process per operator, twice: as
it is (``dataplane: netns``: VNFs in namespaces, VXLAN WAN segments through
shared border gateways; needs root) and with ``dataplane: none`` (the WIMs
book bandwidth and VNIs with the capacity-only driver; no root). One run is
the time from the customer's InstantiateService call until the top node's
event stream reports the chain ACTIVE (delete: until TERMINATED).

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
from pathlib import Path

import yaml

from benchmarks._cycles import cycles
from spfed.client import PlatformClient
from spfed.descriptors import load_files
from spfed.model import (
    AddressConstraints,
    DescriptorRef,
    InstantiateRequest,
    Nap,
    ServiceDescriptors,
)
from spfed.topology import down, load_placement, up
from spfed.topology.security import TopologySecurity

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
FILES = ("nsd-three-operator-chain.yml", "vnfd-firewall.yml", "vnfd-dpi.yml", "vnfd-legacy-nat.yml")


def chain_request() -> InstantiateRequest:
    files = load_files([EXAMPLES / "descriptors" / f for f in FILES], resolve=False)
    nsd = files.find_nsd(DescriptorRef("eu.spfed.demo", "three-operator-chain", "1.0"))
    assert nsd is not None
    return InstantiateRequest(
        request_id="bench",
        name="bench",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=files.vnfds),
        placement=load_placement(EXAMPLES / "topologies" / "dataplane-placement.yaml"),
        addressing=AddressConstraints(
            ingresses=(Nap("nl", "192.0.2.10/32"),), egresses=(Nap("de", "198.51.100.20/32"),)
        ),
    )


async def measure(dataplane: str, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """Create and delete latencies (ms) on the topology with ``dataplane``."""
    data = yaml.safe_load((EXAMPLES / "topologies" / "dataplane.yaml").read_text())
    data["dataplane"] = dataplane
    data["name"] = f"bench-{dataplane}"
    with tempfile.TemporaryDirectory() as tmp:
        topology = Path(tmp) / "topologies" / "bench.yaml"
        topology.parent.mkdir()
        (Path(tmp) / "descriptors").symlink_to(EXAMPLES / "descriptors")
        topology.write_text(yaml.safe_dump(data))
        state = await asyncio.to_thread(up, topology, Path(tmp) / "state")
        try:
            top = state.operators["retail"]
            security = TopologySecurity.under(state.directory)
            async with PlatformClient(
                top.address,
                node_id=top.id,
                tls=security.client_tls(),
                sign_in=security.sign_in(top.id, "acme"),
            ) as client:
                create, delete = await cycles(client, chain_request(), runs, warmup)
        finally:
            await asyncio.to_thread(down, state)
    return create, delete


def _line(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"  {label:<34} median {statistics.median(values):8.1f} ms   p95 {p95:8.1f} ms"
        f"   min {ordered[0]:8.1f} ms   (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    print(
        f"dataplane benchmark on {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )
    modes = ["none"] + (["netns"] if os.geteuid() == 0 else [])
    if os.geteuid() != 0:
        print("  netns: skipped (needs root)")
    for mode in modes:
        create, delete = asyncio.run(measure(mode, args.runs, args.warmup))
        name = "netns data plane" if mode == "netns" else "capacity-only"
        print(_line(f"create, {name}", create))
        print(_line(f"delete, {name}", delete))


if __name__ == "__main__":
    main()
