"""Benchmark: the OpenStack driver against a real (qualification) OpenStack.

    python -m benchmarks.openstack [--runs 5]

Uses the cloud of ``make openstack-up`` if it runs, else brings one up with the
qualification harness (``tests.openstack.harness``) and tears it down at the end.

1. **Driver overhead, one 3-VNF service.** The cloud-chain example on one PoP:
   4 networks with subnets, 6 ports with fixed addresses, 3 servers (1 vCPU,
   128 MiB, 1 GiB) waited ACTIVE, then everything deleted. Timed twice per
   run, interleaved: through ``OpenStackVim`` (the ``Vim`` protocol, as the
   node's leaves call it: each phase in parallel), and as the same openstacksdk
   calls made directly on the same number of threads, with the same waits
   (``wait_for_server``, ``wait_for_delete``). The difference is what the
   driver adds: request checks, flavor and image choice, error translation,
   hopping between the event loop and the threads.
2. **Parallel boots.** 1, 5 and 10 servers created at once through the driver,
   until all are ACTIVE; then deleted at once, until all are gone.

This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import openstack
import openstack.config
from openstack.compute.v2.server import Server

from lower_sp.local.vim import NetworkRequest, PortRequest, ServerRequest
from lower_sp.local.vim.openstack import OpenStackOptions, OpenStackVim
from spfed.model import Resources
from tests.openstack.harness import CloudInfo, OpenStackHarness

T = TypeVar("T")
TINY = Resources(1, 128, 1)
IMAGE = "spfed-test-image"
FLAVOR = "spfed.tiny"
LINKS = ("input-2-fw", "fw-2-dpi", "dpi-2-nat", "nat-2-output")
VNFS = (("fw", "input-2-fw", "fw-2-dpi"), ("dpi", "fw-2-dpi", "dpi-2-nat"))
VNFS += (("nat", "dpi-2-nat", "nat-2-output"),)
WORKERS = 16
POLL_S = 0.2


def _cidr(run: int, link: int) -> str:
    return f"10.{100 + run % 100}.{link}.0/28"


async def through_driver(vim: OpenStackVim, run: int) -> float:
    """One 3-VNF service through the driver, created and deleted; seconds."""
    began = time.perf_counter()
    networks = await asyncio.gather(
        *(
            vim.create_network(NetworkRequest(f"bench-{link}", _cidr(run, i)))
            for i, link in enumerate(LINKS)
        )
    )
    by_link = dict(zip(LINKS, networks, strict=True))
    ports = await asyncio.gather(
        *(
            vim.create_port(PortRequest(f"bench-{name}-{side}", by_link[link]))
            for name, upstream, downstream in VNFS
            for side, link in (("in", upstream), ("out", downstream))
        )
    )
    servers = await asyncio.gather(
        *(
            vim.create_server(
                ServerRequest(f"bench-{name}", IMAGE, TINY, (ports[2 * i], ports[2 * i + 1]))
            )
            for i, (name, _, _) in enumerate(VNFS)
        )
    )
    await asyncio.gather(*(vim.wait_active(s, 120) for s in servers))
    await asyncio.gather(*(vim.delete_server(s) for s in servers))
    await asyncio.gather(*(vim.delete_port(p) for p in ports))
    await asyncio.gather(*(vim.delete_network(n) for n in networks))
    return time.perf_counter() - began


def _all(pool: ThreadPoolExecutor, calls: Sequence[Callable[[], T]]) -> list[T]:
    return [f.result() for f in [pool.submit(c) for c in calls]]


def raw_sdk(conn: Any, pool: ThreadPoolExecutor, run: int, flavor: str, image: str) -> float:
    """The same service as bare openstacksdk calls on ``pool``; seconds."""
    net = conn.network
    compute = conn.compute
    began = time.perf_counter()

    def network(i: int, link: str) -> tuple[str, str]:
        created = net.create_network(name=f"raw-{link}")
        subnet = net.create_subnet(
            network_id=created.id, ip_version=4, cidr=_cidr(run + 50, i), enable_dhcp=False
        )
        return created.id, subnet.id

    networks = _all(pool, [lambda i=i, link=link: network(i, link) for i, link in enumerate(LINKS)])
    by_link = dict(zip(LINKS, networks, strict=True))
    port_calls = [
        lambda link=link, name=name, side=side: (
            net.create_port(
                network_id=by_link[link][0],
                name=f"raw-{name}-{side}",
                fixed_ips=[{"subnet_id": by_link[link][1]}],
            ).id
        )
        for name, upstream, downstream in VNFS
        for side, link in (("in", upstream), ("out", downstream))
    ]
    ports = _all(pool, port_calls)
    servers = _all(
        pool,
        [
            lambda i=i, name=name: (
                compute.create_server(
                    name=f"raw-{name}",
                    flavor_id=flavor,
                    image_id=image,
                    networks=[{"port": ports[2 * i]}, {"port": ports[2 * i + 1]}],
                ).id
            )
            for i, (name, _, _) in enumerate(VNFS)
        ],
    )
    _all(
        pool,
        [
            lambda s=s: compute.wait_for_server(
                Server.existing(id=s), status="ACTIVE", interval=POLL_S, wait=120
            )
            for s in servers
        ],
    )

    def delete_server(server_id: str) -> None:
        compute.delete_server(server_id)
        compute.wait_for_delete(Server.existing(id=server_id), interval=POLL_S, wait=120)

    _all(pool, [lambda s=s: delete_server(s) for s in servers])
    _all(pool, [lambda p=p: net.delete_port(p) for p in ports])
    _all(pool, [lambda n=n: net.delete_network(n[0]) for n in networks])
    return time.perf_counter() - began


async def parallel_boots(vim: OpenStackVim, count: int) -> tuple[float, float]:
    """``count`` servers at once until ACTIVE, then deleted at once; seconds each way."""
    began = time.perf_counter()
    servers = await asyncio.gather(
        *(vim.create_server(ServerRequest(f"boot-{count}-{i}", IMAGE, TINY)) for i in range(count))
    )
    await asyncio.gather(*(vim.wait_active(s, 180) for s in servers))
    booted = time.perf_counter() - began
    began = time.perf_counter()
    await asyncio.gather(*(vim.delete_server(s) for s in servers))
    return booted, time.perf_counter() - began


def _connect(cloud: CloudInfo) -> Any:
    config = openstack.config.OpenStackConfig(
        config_files=[str(cloud.clouds_yaml)], load_envvars=False
    )
    return openstack.connection.Connection(config=config.get_one(cloud=cloud.cloud))


def _line(label: str, seconds: Sequence[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    return (
        f"{label:<44} median {statistics.median(ms):8.0f} ms   "
        f"min {ms[0]:8.0f} ms   max {ms[-1]:8.0f} ms   (n={len(ms)})"
    )


async def measure(cloud: CloudInfo, runs: int) -> None:
    """Run both measurements and print them."""
    options = OpenStackOptions(
        cloud=cloud.cloud,
        clouds_yaml=str(cloud.clouds_yaml),
        poll_interval_s=POLL_S,
        workers=WORKERS,
    )
    vim = OpenStackVim("bench", "bench", options, Resources(disk_gib=1000))
    await vim.start()
    conn = _connect(cloud)
    flavor = conn.compute.find_flavor(FLAVOR).id
    image = conn.image.find_image(IMAGE).id
    driver: list[float] = []
    raw: list[float] = []
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            await through_driver(vim, 0)  # warm-up: connections, flavor and image lists
            await asyncio.to_thread(raw_sdk, conn, pool, 0, flavor, image)
            for run in range(1, runs + 1):
                driver.append(await through_driver(vim, run))
                raw.append(await asyncio.to_thread(raw_sdk, conn, pool, run, flavor, image))
        print("one 3-VNF service (4 networks, 6 ports, 3 servers ACTIVE, all deleted):")
        print(_line("  raw openstacksdk calls", raw))
        print(_line("  through OpenStackVim", driver))
        added = [d - r for d, r in zip(driver, raw, strict=True)]
        print(
            f"  the driver adds: median {statistics.median(added) * 1000:.0f} ms"
            f" ({statistics.median(driver) / statistics.median(raw) * 100 - 100:+.1f} %)"
        )
        print("parallel boots through the driver (1 vCPU, 128 MiB, 1 GiB each):")
        for count in (1, 5, 10):
            boots, deletes = [], []
            for _ in range(max(1, runs // 2)):
                booted, deleted = await parallel_boots(vim, count)
                boots.append(booted)
                deletes.append(deleted)
            print(_line(f"  {count:>2} at once, until all ACTIVE", boots))
            print(_line(f"  {count:>2} at once, until all deleted", deletes))
    finally:
        conn.close()
        await vim.close()


def main() -> None:
    """Bring up (or reuse) the qualification cloud and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        f"host: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()};"
        " cloud: the qualification harness (Nova fake driver, 1 uwsgi worker per API)"
    )
    state = Path("build") / "openstack" / "state.json"
    running = OpenStackHarness.from_state(state) if state.is_file() else None
    if running is not None and running.healthy() and running.info is not None:
        asyncio.run(measure(running.info, args.runs))
        return
    harness = OpenStackHarness()
    cloud = harness.up()
    try:
        asyncio.run(measure(cloud, args.runs))
    finally:
        harness.down()


if __name__ == "__main__":
    main()
