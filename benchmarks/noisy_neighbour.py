"""Benchmark: one customer's storm of maximal requests against another caller's latency.

    python -m benchmarks.noisy_neighbour [--calls 300] [--storm-s 5]

One node in this process (mutual TLS, tokens; the test federation's set-up,
``tests.integration._federation``). The customer ``bob`` calls GetCatalogue
``--calls`` times in a row on the idle node: the reference. Then ``alice``
keeps ``limits.admissions_per_account + 2`` InstantiateService calls in
flight for ``--storm-s`` seconds, each the largest *valid* request the
default limits allow (256 functions, 256 placement rules, an address space
of its own, so admission includes the address plan's dry run), while bob
calls GetCatalogue again from his own connection. Admitted services go on
deploying in the background, on the same node, as they would.

The figures are bob's latency (p50, p99, max) idle and under the storm, and
how many of alice's calls were admitted, refused (RESOURCE_EXHAUSTED, over
her admission limit) or failed otherwise. Target: p99 under 50 ms.

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
from collections import Counter
from pathlib import Path

from spfed.client import PlatformClient
from spfed.errors import ResourceExhausted, SpfedError
from tests.integration._federation import Federation, Operator
from tests.integration._maximal import maximal_request

SPEC = {
    "solo": Operator(
        "ams", "nl", capacity={"vcpus": 100000, "memory_mib": 1 << 30, "disk_gib": 1 << 20}
    )
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _latencies(bob: PlatformClient, calls: int) -> list[float]:
    """``calls`` GetCatalogue calls one after the other; each latency in ms."""
    out = []
    for _ in range(calls):
        began = time.perf_counter()
        await bob.get_catalogue()
        out.append((time.perf_counter() - began) * 1000)
    return out


async def _storm(alice: PlatformClient, in_flight: int, until: float, tally: Counter[str]) -> None:
    """Keep ``in_flight`` maximal InstantiateService calls going until ``until``."""
    sent = 0

    async def one_lane(lane: int) -> None:
        nonlocal sent
        while time.monotonic() < until:
            sent += 1
            block = f"10.{sent % 256}.0.0/16"
            request = maximal_request(f"storm-{lane}-{sent}", pop="ams", address_space=block)
            try:
                await alice.instantiate(request)
                tally["admitted"] += 1
            except ResourceExhausted as exc:
                tally["refused"] += 1
                await asyncio.sleep(exc.retry_after_s or 0.1)
            except SpfedError as exc:
                tally[f"failed {exc.code.name}"] += 1

    await asyncio.gather(*(one_lane(i) for i in range(in_flight)))


def _line(label: str, values: list[float]) -> str:
    return (
        f"  {label:<14} p50 {statistics.median(values):7.1f} ms   p99 "
        f"{_percentile(values, 0.99):7.1f} ms   max {max(values):7.1f} ms   ({len(values)} calls)"
    )


async def main(calls: int, storm_s: float) -> None:
    logging.basicConfig(level=logging.ERROR)
    os.environ["SPFED__LOGGING__LEVEL"] = "ERROR"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        fed = await Federation.start(Path(tmp), SPEC)
        try:
            limit = fed.nodes["solo"].config.limits.admissions_per_account
            async with fed.client("solo", "alice") as alice, fed.client("solo", "bob") as bob:
                await bob.get_catalogue()  # channel and token
                await alice.get_catalogue()
                idle = await _latencies(bob, calls)
                tally: Counter[str] = Counter()
                storm = asyncio.ensure_future(
                    _storm(alice, limit + 2, time.monotonic() + storm_s, tally)
                )
                await asyncio.sleep(0.2)  # let the storm build up
                busy = []
                while not storm.done():
                    busy += await _latencies(bob, 10)
                await storm
        finally:
            logging.disable(logging.CRITICAL)  # the deploying services are cut short
            await fed.stop()
    print(f"GetCatalogue latency of another customer ({storm_s:g} s storm, {limit + 2} in flight):")
    print(_line("idle", idle))
    print(_line("under storm", busy))
    print(f"  target: p99 under 50 ms under storm; alice's calls: {dict(tally)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--storm-s", type=float, default=5.0)
    ns = parser.parse_args()
    asyncio.run(main(ns.calls, ns.storm_s))
