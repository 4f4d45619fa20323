"""Benchmark: one customer's storm of maximal requests against another caller's latency.

    python -m benchmarks.noisy_neighbour [--calls 300] [--storm-s 5]

Three processes, as in a deployment where the customers are other machines:

- the node: a one-operator topology started by ``spfed.topology.up`` (one
  ``spfed serve`` process, mutual TLS, tokens, an emulated PoP with room for
  every storm), with customers ``alice`` and ``bob``;
- alice's storm: this module run with ``--storm`` in a child process. It keeps
  ``limits.admissions_per_account + 2`` InstantiateService calls in flight for
  ``--storm-s`` seconds, each the largest *valid* request the default limits
  allow (256 functions, 256 placement rules, an address space of its own, so
  admission includes the address plan's dry run). A RESOURCE_EXHAUSTED call
  waits for the RetryInfo delay before that lane sends again. Admitted
  services go on deploying on the node, as they would;
- bob, in this process: ``--calls`` GetCatalogue calls in a row on the idle
  node (the reference), then GetCatalogue again and again while the storm runs.

The figures are bob's latency (p50, p99, max) idle and under the storm, and
how many of alice's calls were admitted, refused (RESOURCE_EXHAUSTED, over
her admission limit) or failed otherwise. Target: p99 under 50 ms.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

from spfed.client import PlatformClient
from spfed.config import load_config
from spfed.errors import ResourceExhausted, SpfedError
from spfed.topology import TopologyState, down, up
from spfed.topology.security import TopologySecurity
from tests.integration._maximal import maximal_request

OPERATOR = "solo"
POP = "ams"
READY = "storm ready"
"""The line the storm process prints once it has signed in, before the storm starts."""


def _topology(name: str) -> dict[str, object]:
    """One operator, one PoP large enough that no storm runs out of capacity."""
    return {
        "name": name,
        "operators": {
            OPERATOR: {
                "customers": ["alice", "bob"],
                "pops": [
                    {
                        "name": POP,
                        "region": "nl",
                        "capacity": {"vcpus": 100000, "memory_mib": 1 << 30, "disk_gib": 1 << 20},
                    }
                ],
                # Deploying services are cut short at ``down``; their errors are expected.
                "settings": {"logging": {"level": "ERROR"}},
            }
        },
    }


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _line(label: str, values: list[float]) -> str:
    return (
        f"  {label:<14} p50 {statistics.median(values):7.1f} ms   p99 "
        f"{_percentile(values, 0.99):7.1f} ms   max {max(values):7.1f} ms   ({len(values)} calls)"
    )


def _client(address: str, directory: str, account: str) -> PlatformClient:
    """A customer's connection to the node at ``address`` of the topology in ``directory``."""
    security = TopologySecurity.under(directory)
    return PlatformClient(
        address,
        node_id=OPERATOR,
        tls=security.client_tls(),
        sign_in=security.sign_in(OPERATOR, account),
    )


# --- alice: the storm, in its own process ---------------------------------------------


async def _storm(alice: PlatformClient, in_flight: int, until: float, tally: Counter[str]) -> None:
    """Keep ``in_flight`` maximal InstantiateService calls going until ``until``."""
    sent = 0

    async def one_lane(lane: int) -> None:
        nonlocal sent
        while time.monotonic() < until:
            sent += 1
            block = f"10.{sent % 256}.0.0/16"
            request = maximal_request(f"storm-{lane}-{sent}", pop=POP, address_space=block)
            try:
                await alice.instantiate(request)
                tally["admitted"] += 1
            except ResourceExhausted as exc:
                tally["refused"] += 1
                await asyncio.sleep(exc.retry_after_s or 0.1)
            except SpfedError as exc:
                tally[f"failed {exc.code.name}"] += 1

    await asyncio.gather(*(one_lane(i) for i in range(in_flight)))


async def storm_main(address: str, directory: str, in_flight: int, storm_s: float) -> None:
    """The storm process: sign in as alice, print ``READY``, storm, print the tally as JSON."""
    async with _client(address, directory, "alice") as alice:
        await alice.get_catalogue()  # channel and token, before the clock starts
        print(READY, flush=True)
        tally: Counter[str] = Counter()
        await _storm(alice, in_flight, time.monotonic() + storm_s, tally)
    print(json.dumps(dict(tally)), flush=True)


# --- bob and the node, in this process ------------------------------------------------


async def _latencies(bob: PlatformClient, calls: int) -> list[float]:
    """``calls`` GetCatalogue calls one after the other; each latency in ms."""
    out = []
    for _ in range(calls):
        began = time.perf_counter()
        await bob.get_catalogue()
        out.append((time.perf_counter() - began) * 1000)
    return out


async def _measure(
    state: TopologyState, calls: int, storm_s: float, in_flight: int
) -> tuple[list[float], list[float], dict[str, int]]:
    """Bob's idle and storm latencies and alice's tally; the storm process is gone on return."""
    address = state.operators[OPERATOR].address
    async with _client(address, state.directory, "bob") as bob:
        await bob.get_catalogue()  # channel and token
        idle = await _latencies(bob, calls)
        storm = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.noisy_neighbour",
            "--storm",
            address,
            state.directory,
            "--in-flight",
            str(in_flight),
            "--storm-s",
            str(storm_s),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert storm.stdout is not None
            line = await asyncio.wait_for(storm.stdout.readline(), 60)
            if line.decode().strip() != READY:
                raise SystemExit(f"the storm process did not start: {line!r}")
            await asyncio.sleep(0.2)  # let the storm build up
            ended = asyncio.ensure_future(storm.wait())
            busy: list[float] = []
            while not ended.done():
                busy += await _latencies(bob, 10)
            out = await storm.stdout.read()
            tally = json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {}
            return idle, busy, tally
        finally:
            if storm.returncode is None:
                storm.kill()
                await storm.wait()


async def main(calls: int, storm_s: float) -> None:
    """Start the topology, measure, print; the topology is down again whatever happens."""
    logging.basicConfig(level=logging.ERROR)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        topology_file = Path(tmp) / "noisy.yaml"
        topology_file.write_text(yaml.safe_dump(_topology(f"noisy-{os.getpid()}")))
        state = await asyncio.to_thread(up, topology_file, Path(tmp) / "state")
        try:
            config = load_config(state.operators[OPERATOR].config, {})
            in_flight = config.limits.admissions_per_account + 2
            idle, busy, tally = await _measure(state, calls, storm_s, in_flight)
        finally:
            await asyncio.to_thread(down, state)
    print(
        f"GetCatalogue latency of another customer ({storm_s:g} s storm, {in_flight} in flight,"
        " node, storm and measuring client in three processes):"
    )
    print(_line("idle", idle))
    print(_line("under storm", busy))
    print(f"  target: p99 under 50 ms under storm; alice's calls: {tally}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--storm-s", type=float, default=5.0)
    parser.add_argument(
        "--storm",
        nargs=2,
        metavar=("ADDRESS", "TOPOLOGY_DIR"),
        help="internal: run alice's storm against the node at ADDRESS",
    )
    parser.add_argument("--in-flight", type=int, default=6, help="internal: with --storm")
    ns = parser.parse_args()
    if ns.storm is not None:
        address, directory = ns.storm
        asyncio.run(storm_main(address, directory, ns.in_flight, ns.storm_s))
    else:
        asyncio.run(main(ns.calls, ns.storm_s))
