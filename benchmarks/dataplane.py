"""Benchmark: the three-operator slice and chain, netns data plane vs capacity-only.

    python -m benchmarks.dataplane [--runs 10] [--warmup 2]

``examples/topologies/dataplane.yaml`` (3 operators, 2 levels, each with a WIM)
is brought up with ``spfed topology up``, one process per operator, twice: as
it is (``dataplane: netns``: VNFs in namespaces, VXLAN WAN segments through
shared border gateways; needs root) and with ``dataplane: none`` (the WIMs
book bandwidth and VNIs with the capacity-only driver; no root). One run is
the time from the customer's InstantiateService call until the top node's
event stream reports the chain ACTIVE (delete: until TERMINATED). The slice
(``examples/slices/nst-three-operators.yml``: three one-function services, one
per operator, joined by two slice links) is timed from CreateSlice until
GetSlice says ACTIVE (polled every 10 ms), and from DeleteSlice until DELETED.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import yaml

from benchmarks._cycles import cycles
from spfed.client import PlatformClient
from spfed.descriptors import load_files, parse_document
from spfed.model import (
    AddressConstraints,
    CreateSliceRequest,
    DescriptorRef,
    InstantiateRequest,
    Nap,
    PlacementConstraints,
    ServiceDescriptors,
    SliceState,
    SliceTemplate,
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


def slice_request() -> CreateSliceRequest:
    slices = EXAMPLES / "slices"
    files = load_files([slices, *(EXAMPLES / "descriptors" / f for f in FILES[1:])], resolve=False)
    template = parse_document(yaml.safe_load((slices / "nst-three-operators.yml").read_text()))
    assert isinstance(template, SliceTemplate)
    return CreateSliceRequest(
        request_id="bench-slice",
        template=template,
        nsds=files.nsds,
        vnfds=files.vnfds,
        placement={
            s: PlacementConstraints(default_region=r)
            for s, r in (("fw", "nl"), ("dpi", "us"), ("nat", "de"))
        },
    )


async def _slice_until(client: PlatformClient, slice_id: str, busy: SliceState) -> SliceState:
    for _ in range(3000):
        state = (await client.get_slice(slice_id)).state
        if state is not busy:
            return state
        await asyncio.sleep(0.01)
    raise SystemExit(f"slice {slice_id} still {busy.value} after 30 s")


async def slice_cycles(
    client: PlatformClient, runs: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Create then delete the slice ``warmup + runs`` times; latencies of the last ``runs``."""
    create: list[float] = []
    delete: list[float] = []
    request = slice_request()
    for i in range(warmup + runs):
        began = time.perf_counter()
        made = await client.create_slice(replace(request, request_id=f"bench-slice-{i}"))
        state = await _slice_until(client, made.id, SliceState.CREATING)
        took = (time.perf_counter() - began) * 1000
        if state is not SliceState.ACTIVE:
            raise SystemExit(f"slice run {i}: the slice ended {state}")
        began = time.perf_counter()
        await client.delete_slice(made.id)
        state = await _slice_until(client, made.id, SliceState.DELETING)
        took_delete = (time.perf_counter() - began) * 1000
        if state is not SliceState.DELETED:
            raise SystemExit(f"slice run {i}: deletion ended {state}")
        if i >= warmup:
            create.append(took)
            delete.append(took_delete)
    return create, delete


async def measure(dataplane: str, runs: int, warmup: int) -> dict[str, list[float]]:
    """Create and delete latencies (ms) of the chain and the slice, with ``dataplane``."""
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
                slice_create, slice_delete = await slice_cycles(client, runs, warmup)
        finally:
            await asyncio.to_thread(down, state)
    return {
        "create slice": slice_create,
        "delete slice": slice_delete,
        "create chain": create,
        "delete chain": delete,
    }


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
        figures = asyncio.run(measure(mode, args.runs, args.warmup))
        name = "netns data plane" if mode == "netns" else "capacity-only"
        for what, values in figures.items():
            print(_line(f"{what}, {name}", values))


if __name__ == "__main__":
    main()
