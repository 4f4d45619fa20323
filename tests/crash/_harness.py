"""One crash case on a real 3-level federation: the topology, the crash, the settling, the checks.

The topology is the demo's (retail over wholesale-eu over edge-be, and wholesale-us), written
under the test's directory with ``faults.crash_at`` in the victim's settings, so that only it
crashes. Every wait is bounded; every process started is stopped by the caller's
``stopped_at_exit``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from spfed.client import PlatformClient
from spfed.descriptors import load_files, parse_document
from spfed.errors import SpfedError
from spfed.model import (
    CreateSliceRequest,
    PlacementConstraints,
    ServiceState,
    SliceState,
    SliceTemplate,
)
from spfed.topology import _process, load_placement
from spfed.topology.security import TopologySecurity
from tests.multiprocess.test_topology import DEMO, client, crash_report, spfed

T = TypeVar("T")

NODES = ("retail", "wholesale-eu", "edge-be")
"""The victims: one per level of the federation."""
SETTLED = frozenset({ServiceState.ACTIVE, ServiceState.FAILED, ServiceState.TERMINATED})
CRASH_S = 30.0
"""Bound on the victim reaching its crash point once the request is sent."""
SETTLE_S = 60.0
"""Bound on the top's service settling after the victim's restart (recovery, reconnection
backoff of at most ``federation.reconnect_max_s`` = 5 s, compensation down the tree)."""
CLEAN_S = 10.0
"""Bound on every node showing nothing held once the top's service is TERMINATED."""
POLL_S = 0.2

# What a node holds for a service, by table of its database (the emulated PoP's state is there
# too). Each must be empty once every service is terminated: nothing else writes them.
_HOLDINGS = {
    "emulated_resources": "PoP resources",
    "resource_handles": "VIM handles",
    "address_allocations": "address blocks",
    "wim_connectivity": "WAN connectivity services",
    "wim_segments": "WAN segments",
}


@dataclass(frozen=True)
class Topology:
    """A running crash topology, as ``spfed topology up --json`` described it."""

    root: Path
    state: dict[str, Any]
    security: TopologySecurity

    def address(self, op: str) -> str:
        return str(self.state["operators"][op]["address"])

    def operators(self) -> list[str]:
        return list(self.state["operators"])

    def config(self, op: str) -> Path:
        return Path(self.state["operators"][op]["config"])

    def log(self, op: str) -> Path:
        return Path(self.state["operators"][op]["log"])

    def database(self, op: str) -> Path:
        url = str(self.state["operators"][op]["database"])
        return Path(url.split("///", 1)[1])

    def client(self, op: str, account: str = "admin") -> PlatformClient:
        return client(self.security, self.address(op), op, account)


def write_topology(directory: Path, victim: str, point: str) -> Path:
    """The demo topology with ``faults.crash_at: point`` in ``victim``'s settings."""
    data = yaml.safe_load(DEMO.read_text())
    data["name"] = "crash"
    for op, spec in data["operators"].items():
        found = spec.get("descriptors", [])
        spec["descriptors"] = [str((DEMO.parent / d).resolve()) for d in found]
        if op == victim:
            spec.setdefault("settings", {})["faults"] = {"crash_at": point}
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "crash.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def cli(root: Path, *args: str) -> dict[str, Any]:
    """``spfed topology <args> --json`` in a thread; its JSON (exit code 0 asserted)."""
    done = await asyncio.to_thread(spfed, "topology", *args, "--json", root=root)
    assert done.returncode == 0, done.stdout + done.stderr + crash_report(root)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def up(root: Path, topology_file: Path) -> Topology:
    state = await cli(root, "up", str(topology_file))
    return Topology(root, state, TopologySecurity.under(state["directory"]))


def disarm(config: Path) -> None:
    """Remove the ``faults`` section from a generated node.yaml (atomically, as ``up`` writes)."""
    data = yaml.safe_load(config.read_text())
    data.pop("faults", None)
    tmp = config.with_suffix(".yaml.tmp")
    tmp.write_text(yaml.safe_dump(data, sort_keys=False))
    tmp.replace(config)


async def wait_crashed(topo: Topology, victim: str, point: str) -> None:
    """Wait (bounded) until the victim's process is gone and its log names the point."""
    pid = int(topo.state["operators"][victim]["pid"])
    gone = await asyncio.to_thread(_process.wait_gone, [pid], CRASH_S)
    assert gone == [], f"{victim} did not crash at {point} within {CRASH_S} s"
    line = f"event=fault_injected point={point}"
    assert line in topo.log(victim).read_text(errors="replace"), f"{victim}: no '{line}'"


async def _settled(
    topo: Topology,
    read: Callable[[PlatformClient], Awaitable[T]],
    done: Container[T],
    what: str,
    bound_s: float,
) -> T:
    """Poll ``read`` at retail until its answer is in ``done``; fails the test past the bound."""
    deadline = time.monotonic() + bound_s
    last: object = "unknown"
    async with topo.client("retail", "acme") as retail:
        while time.monotonic() < deadline:
            try:
                state = await read(retail)
            except SpfedError as exc:  # retail itself may still be starting
                last = f"unreadable: {exc}"
            else:
                if state in done:
                    return state
                last = state
            await asyncio.sleep(POLL_S)
    pytest.fail(f"{what} did not settle within {bound_s} s: {last}")


async def settle(topo: Topology, service_id: str, bound_s: float = SETTLE_S) -> ServiceState:
    """Poll the top's service until ACTIVE, FAILED or TERMINATED; fails the test past the bound."""

    async def state(retail: PlatformClient) -> ServiceState:
        return (await retail.get_service(service_id)).state

    return await _settled(topo, state, SETTLED, f"service {service_id}", bound_s)


async def terminate(topo: Topology, service_id: str) -> ServiceState:
    async with topo.client("retail", "acme") as retail:
        await retail.terminate(service_id)
    return await settle(topo, service_id)


def _rows(database: Path, table: str) -> int:
    # Read-only, next to the running node: SQLite in WAL mode lets a reader in.
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5.0) as db:
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


async def holdings(topo: Topology) -> list[str]:
    """What any node still holds: services not TERMINATED, capacity in use, database rows."""
    held = []
    for op in topo.operators():
        async with topo.client(op) as node:
            services = await node.list_services(include_inactive=True)
            catalogue = await node.get_catalogue()
        held += [
            f"{op}: service {s.id} ({s.name}) is {s.state.name}"
            for s in services
            if s.state is not ServiceState.TERMINATED
        ]
        held += [
            f"{op}: region {r.region} has {r.free} free of {r.total}"
            for r in catalogue.regions
            if r.free != r.total
        ]
        for table, what in _HOLDINGS.items():
            count = await asyncio.to_thread(_rows, topo.database(op), table)
            if count:
                held.append(f"{op}: {count} {what} ({table})")
    return held


async def nothing_held(topo: Topology) -> list[str]:
    """``holdings`` once empty, or what is still held after ``CLEAN_S``."""
    deadline = time.monotonic() + CLEAN_S
    while True:
        held = await holdings(topo)
        if not held or time.monotonic() > deadline:
            return held
        await asyncio.sleep(POLL_S)


# --- slices (tests/crash/test_slice_crashes.py) -------------------------------------------

SLICE_SETTLED = frozenset({SliceState.ACTIVE, SliceState.FAILED, SliceState.DELETED})
"""Where a slice ends once its runs are over (a failed deletion stays DELETING)."""


def slice_request(request_id: str) -> CreateSliceRequest:
    """The secure-edge slice (``examples/slices``) on the demo topology: the secure chain
    placed as the demo places it, its input joined by a slice link to the output of an edge
    CDN in be (at edge-be, through wholesale-eu)."""
    examples = DEMO.parents[1]
    template = parse_document(
        yaml.safe_load((examples / "slices" / "nst-secure-edge.yml").read_text())
    )
    assert isinstance(template, SliceTemplate)
    files = load_files([examples / "descriptors"])
    return CreateSliceRequest(
        request_id=request_id,
        template=template,
        nsds=files.nsds,
        vnfds=tuple(v for v in files.vnfds if v.ref.name in ("firewall", "dpi", "nat")),
        placement={
            "chain": load_placement(DEMO.parent / "demo-placement.yaml"),
            "cdn": PlacementConstraints(default_region="be"),
        },
    )


async def settle_slice(topo: Topology, slice_id: str, bound_s: float = SETTLE_S) -> SliceState:
    """Poll a slice at retail until ACTIVE, FAILED or DELETED; fails the test past the bound."""

    async def state(retail: PlatformClient) -> SliceState:
        return (await retail.get_slice(slice_id)).state

    return await _settled(topo, state, SLICE_SETTLED, f"slice {slice_id}", bound_s)


async def delete_slice(topo: Topology, slice_id: str) -> SliceState:
    """Delete a slice at retail and wait until it settles."""
    async with topo.client("retail", "acme") as retail:
        await retail.delete_slice(slice_id)
    return await settle_slice(topo, slice_id)


def _slice_rows(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5.0) as db:
        held = db.execute("SELECT slice_id, subnet_id, service_id FROM slice_holds").fetchall()
        runs = db.execute(
            "SELECT id, workflow, state FROM engine_runs WHERE state IN ('running', 'compensating')"
        ).fetchall()
        busy = db.execute(
            "SELECT id, state FROM slices WHERE state IN ('CREATING', 'DELETING')"
        ).fetchall()
    return [
        *(f"slice {s} holds service {svc} for subnet {n} (slice_holds)" for s, n, svc in held),
        *(f"{w} run {r} is {st} (engine_runs)" for r, w, st in runs),
        *(f"slice {s} is {st}" for s, st in busy),
    ]


async def slice_holdings(topo: Topology) -> list[str]:
    """What retail still holds for slices: holds on services, unfinished slice runs, slices
    being created or deleted (the rest, services, addresses and WAN bookings included, is
    ``holdings``')."""
    return [
        f"retail: {line}" for line in await asyncio.to_thread(_slice_rows, topo.database("retail"))
    ]
