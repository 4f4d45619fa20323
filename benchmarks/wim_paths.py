"""Benchmark: WIM route computation on a large WAN.

    python -m benchmarks.wim_paths [--runs 200] [--seed 1]

A random connected WAN of 1,000 nodes and 3,000 links (a random spanning tree
plus random extra links, parallel ones included), capacities of 1-10 Gbit/s,
latencies of 0.5-20 ms. A third of the links (none of the spanning tree) are
90 % booked, so the bandwidth filter removes links from every search and every
request still has a route. Timed, each over ``--runs``
random requests of 500 Mbit/s after 10 warm-up ones:

1. the usable topology alone (links with enough free bandwidth, one edge per
   joined pair), which every request builds first;
2. ``compute_route`` for an E-Line between two random nodes (Dijkstra);
3. ``compute_route`` for an E-LAN among four random nodes (Steiner tree).

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable

from spfed.model import WimService
from wim import (
    AdmissionLedger,
    ConnectionPoint,
    ConnectivityRequest,
    WanGraph,
    WanLink,
    compute_route,
)

NODES = 1000
LINKS = 3000
MBPS = 500.0
WARMUP = 10


def _wan(rng: random.Random) -> WanGraph:
    nodes = [f"n{i}" for i in range(NODES)]
    ends = [(i, rng.randrange(i)) for i in range(1, NODES)]
    while len(ends) < LINKS:
        a, b = rng.sample(range(NODES), 2)
        ends.append((a, b))
    links = [
        WanLink(
            f"l{i}",
            nodes[a],
            nodes[b],
            rng.choice([1000.0, 2500.0, 10000.0]),
            round(rng.uniform(0.5, 20.0), 2),
        )
        for i, (a, b) in enumerate(ends)
    ]
    return WanGraph(nodes, links)


def _loaded_ledger(graph: WanGraph, rng: random.Random) -> AdmissionLedger:
    """A third of the links 90 % booked, none of the spanning tree's: every request fits."""
    ledger = AdmissionLedger({i: link.capacity_mbps for i, link in graph.links.items()})
    extra = [link for i, link in graph.links.items() if int(i[1:]) >= NODES - 1]
    for i, link in enumerate(rng.sample(extra, len(graph.links) // 3)):
        ledger.book(f"load-{i}", [link.id], 0.9 * link.capacity_mbps)
    return ledger


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _time(runs: int, work: Callable[[], object]) -> list[float]:
    """Milliseconds per call of ``work``, after warm-up calls."""
    took = []
    for i in range(WARMUP + runs):
        started = time.perf_counter()
        work()
        if i >= WARMUP:
            took.append((time.perf_counter() - started) * 1000)
    return took


def _print(label: str, took: list[float]) -> None:
    print(
        f"  {label:<34} median {statistics.median(took):7.2f} ms   p95 "
        f"{_percentile(took, 0.95):7.2f} ms   min {min(took):6.2f}   max {max(took):6.2f}"
        f"   n={len(took)}"
    )


def main(runs: int, seed: int) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    rng = random.Random(seed)
    graph = _wan(rng)
    ledger = _loaded_ledger(graph, rng)
    names = sorted(graph.nodes)
    usable = graph.topology(lambda link: ledger.free(link.id) >= MBPS)
    print(
        f"WAN: {len(graph.nodes)} nodes, {len(graph.links)} links; with {MBPS:g} Mbps free: "
        f"{usable.number_of_edges()} node pairs joined"
    )

    def request(kind: WimService, count: int) -> Callable[[], object]:
        def run() -> object:
            endpoints = tuple(ConnectionPoint(n) for n in rng.sample(names, count))
            return compute_route(graph, ConnectivityRequest(kind, endpoints, MBPS), ledger.free)

        return run

    _print(
        "usable topology (filter, collapse)",
        _time(runs, lambda: graph.topology(lambda link: ledger.free(link.id) >= MBPS)),
    )
    _print("E-Line, 2 endpoints", _time(runs, request(WimService.E_LINE, 2)))
    _print("E-LAN, 4 endpoints", _time(runs, request(WimService.E_LAN, 4)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    ns = parser.parse_args()
    main(ns.runs, ns.seed)
