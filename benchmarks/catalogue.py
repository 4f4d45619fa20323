"""Benchmark: how fast catalogue changes travel up, and what one publication costs.

    python -m benchmarks.catalogue [--runs 50]

1. **Propagation at depth 4.** Four nodes in this process, a chain
   top → l2 → l3 → bottom (mutual TLS, tokens, signed catalogues, the default
   50 ms debounce at each level). The bottom's operator withdraws its cache
   offer, then restores it, alternately; each run times the change from the
   operator's call until the top node's cache of its lower SP's catalogue (what
   its placement uses) shows it.
2. **One publication** of a catalogue of 10, 100 and 1,000 offers: building
   it, serialising and signing it (Ed25519), and storing it (SQLite).

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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capability_catalog import CataloguePublisher, CatalogueSigner, Offering, build_catalogue
from spfed.auth import generate_key
from spfed.client import PlatformClient
from spfed.config import parse_config
from spfed.model import (
    Catalogue,
    DescriptorRef,
    Offer,
    OfferKind,
    Price,
    RegionCapacity,
    Resources,
)
from spfed.node import Node
from spfed.storage import CatalogueStore, Database
from spfed.topology.security import TopologySecurity
from spfed.wire import catalogue_payload

ROOT = Path(__file__).resolve().parent.parent
DESCRIPTORS = ROOT / "examples" / "descriptors"
CACHE = DescriptorRef("eu.spfed.demo", "cache", "1.0")
CHAIN = ("bottom", "l3", "l2", "top")
REGIONS = {"bottom": "be", "l3": "de", "l2": "fr", "top": "nl"}


def _config(node: str, tmp: Path, security: TopologySecurity, lower: Node | None) -> Any:
    parents = [CHAIN[CHAIN.index(node) + 1]] if node != "top" else []
    files = ["vnfd-cache.yml", "vnfd-router.yml"] if node == "bottom" else []
    lowers = (
        [
            {
                "id": lower.config.id,
                "address": lower.address,
                "public_key_file": str(security.identity_public(lower.config.id)),
            }
        ]
        if lower
        else []
    )
    capacity = {"vcpus": 64, "memory_mib": 262144, "disk_gib": 4000}
    return parse_config(
        {
            **security.config_sections(node, parents),
            "id": node,
            "server": {"listen": "127.0.0.1:0"},
            "storage": {"url": f"sqlite:///{tmp / node}.db"},
            "pops": [{"name": f"{node}-pop", "region": REGIONS[node], "capacity": capacity}],
            "federation": {"lower_sps": lowers, "key_file": str(security.identity_key(node))},
            "catalogue": {"descriptors": [str(DESCRIPTORS / f) for f in files]},
            "logging": {"level": "WARNING"},
        }
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def propagation(runs: int) -> list[float]:
    """Milliseconds from a withdrawal or restore at the bottom to the top's cache."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        security = TopologySecurity.provision(root, "bench", list(CHAIN), scrypt_log_n=10)
        nodes: list[Node] = []
        try:
            lower = None
            for name in CHAIN:
                lower = await Node.start(_config(name, root, security, lower))
                nodes.append(lower)
            top = nodes[-1]
            assert top.lifecycle is not None
            lowers = top.lifecycle.rt.lower_catalogues

            def offered() -> bool:
                held = lowers().get("l2")
                return held is not None and held.find(OfferKind.NETWORK_FUNCTION, CACHE) is not None

            for _ in range(400):  # the first versions travel up at start-up
                if offered():
                    break
                await asyncio.sleep(0.01)
            out = []
            async with PlatformClient(
                nodes[0].address, tls=security.client_tls(), sign_in=security.sign_in("bottom")
            ) as bottom:
                for i in range(runs + 2):
                    withdraw = i % 2 == 0
                    started = time.perf_counter()
                    if withdraw:
                        await bottom.withdraw_offer(OfferKind.NETWORK_FUNCTION, CACHE)
                    else:
                        await bottom.restore_offer(OfferKind.NETWORK_FUNCTION, CACHE)
                    # Polling every millisecond is the measurement: it reads the cache the
                    # top's placement reads, without hooking into the node.
                    while offered() == withdraw:  # noqa: ASYNC110
                        await asyncio.sleep(0.001)
                    if i >= 2:
                        out.append((time.perf_counter() - started) * 1000)
            return out
        finally:
            for node in reversed(nodes):
                await node.stop(0.5)


def _big_lower(offers: int) -> Catalogue:
    now = datetime.now(UTC)
    return Catalogue(
        publisher="lower",
        version=1,
        issue_time=now,
        offers=tuple(
            Offer(
                OfferKind.NETWORK_FUNCTION,
                DescriptorRef("eu.bench", f"fn-{i:04d}", "1.0"),
                regions=("eu", "us"),
                resources=Resources(2, 2048, 10),
                price=Price(100_000 + i),
            )
            for i in range(offers)
        ),
        regions=(
            RegionCapacity("eu", Resources(512, 1 << 20, 100000), Resources(256, 1 << 19, 50000)),
            RegionCapacity("us", Resources(512, 1 << 20, 100000), Resources(256, 1 << 19, 50000)),
        ),
        valid_until=datetime(2100, 1, 1, tzinfo=UTC),
    )


async def publication(offers: int, runs: int) -> list[float]:
    """Milliseconds for one forced publication re-publishing ``offers`` lower offers."""
    lower = _big_lower(offers)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await db.migrate()

        async def build(version: int, issued: datetime, valid_until: datetime) -> Catalogue:
            return build_catalogue(
                "bench", version, issued, valid_until, [], [], [], [lower], Offering()
            )

        publisher = CataloguePublisher(
            "bench",
            build,
            CatalogueSigner(generate_key(), catalogue_payload),
            CatalogueStore(db),
            validity_s=300,
            debounce_s=0.05,
        )
        await publisher.start()
        try:
            out = []
            for _ in range(runs):
                started = time.perf_counter()
                await publisher.refresh(force=True)
                out.append((time.perf_counter() - started) * 1000)
            size = len(publisher.current_signed.payload)
            print(f"  {offers:>5} offers: signed payload {size / 1024:.1f} KiB")
            return out
        finally:
            await publisher.close()
            await db.close()


async def main(runs: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    os.environ["SPFED__LOGGING__LEVEL"] = "WARNING"
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    spread = await propagation(runs)
    print(f"change at depth 4 → top's cache ({len(spread)} changes, ms):")
    print(
        f"  median {statistics.median(spread):7.1f}   p99 {_percentile(spread, 0.99):7.1f}"
        f"   min {min(spread):7.1f}   max {max(spread):7.1f}   (target: under 1000)"
    )
    print("one publication (build, serialise, sign, store):")
    for offers in (10, 100, 1000):
        took = await publication(offers, max(10, runs // 2))
        print(
            f"  {offers:>5} offers: median {statistics.median(took):7.2f} ms"
            f"   p99 {_percentile(took, 0.99):7.2f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    ns = parser.parse_args()
    asyncio.run(main(ns.runs))
