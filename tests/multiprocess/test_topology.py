"""The demo topology as real processes: up, a service across 4 operators, down.

Every test runs its topologies under its own state directory in ``tmp_path``
and, whatever happens, stops every process found running under it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncGenerator, Iterator
from contextlib import aclosing, contextmanager
from pathlib import Path
from typing import cast

import pytest

from spfed.client import PlatformClient
from spfed.descriptors import load_files
from spfed.model import (
    InstantiateRequest,
    PartKind,
    ServiceDescriptors,
    ServiceEvent,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
)
from spfed.topology import LaunchError, TopologyState, _process, down, load_placement, up
from spfed.topology.security import TopologySecurity

pytestmark = pytest.mark.multiprocess

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "topologies" / "demo.yaml"
DEMO_PLACEMENT = REPO / "examples" / "topologies" / "demo-placement.yaml"
DESCRIPTORS = REPO / "examples" / "descriptors"
SPFED = Path(sys.executable).parent / "spfed"
OPERATORS = ["retail", "wholesale-eu", "wholesale-us", "edge-be"]
Events = AsyncGenerator[ServiceEvent, None]
"""What ``watch_service`` returns (it is typed as a plain ``AsyncIterator``)."""
SETTLE_S = 30.0
"""Bound on instantiation or termination of the demo service (it takes well under 1 s)."""


def processes_under(root: Path) -> list[int]:
    """Live processes whose command line names a path under ``root`` (our nodes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(root) in cmdline and _process.running(int(entry.name)):
            found.append(int(entry.name))
    return found


def crash_report(root: Path) -> str:
    """The native crashes recorded in node logs (a Python stack per crash), for failures."""
    out = []
    for log in sorted(root.glob("*/*/node.log")):
        text = log.read_text(errors="replace")
        if "Fatal Python error" in text:
            out.append(f"{log}:\n{text[text.index('Fatal Python error') :][:3000]}")
    return "\n".join(out)


@contextmanager
def stopped_at_exit(root: Path) -> Iterator[Path]:
    """``root`` as a state directory; whatever happens, every node under it is stopped at exit.

    Fails if ``down`` left a process running (which is then killed).
    """
    try:
        yield root
    finally:
        for state in TopologyState.all(root):
            down(state, timeout_s=5.0)
        leftovers = processes_under(root)
        for pid in leftovers:  # only if down itself failed; never expected
            os.kill(pid, 9)
        report = crash_report(root)
        if report:
            print(report)
        assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture
def state_root(tmp_path: Path) -> Iterator[Path]:
    """A private state directory; every node still running under it at the end is stopped."""
    with stopped_at_exit(tmp_path / "state") as root:
        yield root


def spfed(*args: str, root: Path, timeout_s: float = 90.0) -> subprocess.CompletedProcess[str]:
    """Run the ``spfed`` command line with ``root`` as the state directory."""
    env = {**os.environ, "SPFED_STATE_DIR": str(root)}
    return subprocess.run(
        [str(SPFED), *args], env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def demo_request() -> InstantiateRequest:
    """secure-chain with the firewall, DPI and legacy NAT VNFDs; edge-cdn is left to the SPs."""
    files = [
        "nsd-secure-chain.yml",
        "vnfd-firewall.yml",
        "vnfd-dpi.yml",
        "vnfd-legacy-nat.yml",
        # Only to validate the set: the NSD nests edge-cdn, which is not sent.
        "nsd-edge-cdn.yml",
        "vnfd-router.yml",
        "vnfd-cache.yml",
    ]
    found = load_files([DESCRIPTORS / f for f in files])
    nsd = next(n for n in found.nsds if n.ref.name == "secure-chain")
    vnfds = tuple(v for v in found.vnfds if v.ref.name in ("firewall", "dpi", "nat"))
    return InstantiateRequest(
        request_id=uuid.uuid4().hex,
        name="secure-chain-demo",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=load_placement(DEMO_PLACEMENT),
    )


async def follow(node: PlatformClient, service_id: str, root: Path) -> ServiceState | None:
    """Follow a service's events until it settles (bounded); its last state at the top node."""
    last = None
    try:
        async with (
            asyncio.timeout(SETTLE_S),
            aclosing(cast(Events, node.watch_service(service_id, until_settled=True))) as events,
        ):
            async for event in events:
                if event.kind is ServiceEventKind.STATE_CHANGED and len(event.origin) == 1:
                    last = event.state
    except TimeoutError:
        pytest.fail(f"{service_id} did not settle within {SETTLE_S} s\n{crash_report(root)}")
    return last


def parts(record: ServiceRecord) -> dict[str, ServicePart]:
    return {p.id: p for p in record.parts}


def client(
    security: TopologySecurity, address: str, op: str, account: str = "admin"
) -> PlatformClient:
    """A client of one operator, over the topology's mutual TLS, signed in as one of its users."""
    return PlatformClient(
        address,
        node_id=op,
        timeout_s=10.0,
        tls=security.client_tls(),
        sign_in=security.sign_in(op, account),
    )


async def wait_capacity_released(
    addresses: dict[str, str], security: TopologySecurity, timeout_s: float
) -> list[str]:
    """Poll every catalogue until each region's free capacity is its total; what is not."""
    deadline = time.monotonic() + timeout_s
    clients = {op: client(security, address, op) for op, address in addresses.items()}
    try:
        return await _released(clients, deadline)
    finally:
        for each in clients.values():
            await each.close()


async def _released(clients: dict[str, PlatformClient], deadline: float) -> list[str]:
    while True:
        held = []
        for op, node in clients.items():
            catalogue = await node.get_catalogue()
            held += [
                f"{op}/{r.region}: {r.free} of {r.total}"
                for r in catalogue.regions
                if r.free != r.total
            ]
        if not held or time.monotonic() > deadline:
            return held
        await asyncio.sleep(0.1)


@pytest.mark.timeout(120)
async def test_demo_topology_end_to_end(state_root: Path) -> None:
    began = time.monotonic()
    started = await asyncio.to_thread(spfed, "topology", "up", str(DEMO), "--json", root=state_root)
    up_s = time.monotonic() - began
    assert started.returncode == 0, started.stderr
    state = json.loads(started.stdout)
    assert list(state["operators"]) == OPERATORS  # top nodes first
    addresses = {op: o["address"] for op, o in state["operators"].items()}
    pids = [o["pid"] for o in state["operators"].values()]

    again = await asyncio.to_thread(spfed, "topology", "up", str(DEMO), root=state_root)
    assert again.returncode == 1
    assert again.stderr.startswith(
        f"spfed topology up: topology 'demo' is already running in {state_root / 'demo'}"
        " (operators: retail, wholesale-eu, wholesale-us, edge-be);"
    )

    shown = await asyncio.to_thread(spfed, "topology", "status", "--json", root=state_root)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    statuses = json.loads(shown.stdout)["operators"]
    assert [(s["id"], s["level"], s["process"], s["health"]) for s in statuses] == [
        ("retail", 1, "running", "SERVING"),
        ("wholesale-eu", 2, "running", "SERVING"),
        ("wholesale-us", 2, "running", "SERVING"),
        ("edge-be", 3, "running", "SERVING"),
    ]

    security = TopologySecurity.under(state["directory"])
    # As the customer the topology file names: the service is acme's.
    async with client(security, addresses["retail"], "retail", "acme") as retail:
        operation = await retail.instantiate(demo_request())
        state_now = await follow(retail, operation.service_id, state_root)
        assert state_now is ServiceState.ACTIVE, crash_report(state_root)
        record = await retail.get_service(operation.service_id)
        assert record.state is ServiceState.ACTIVE
        assert record.owner == "acme"

        top = parts(record)
        assert set(top) == {"pop:ams", "sp:wholesale-us", "sp:wholesale-eu"}
        assert top["pop:ams"].kind is PartKind.LOCAL
        assert top["pop:ams"].members == ("vnf_fw",)
        assert top["sp:wholesale-us"].members == ("vnf_dpi",)
        assert set(top["sp:wholesale-eu"].members) == {"vnf_nat", "ns_cdn"}
        us = top["sp:wholesale-us"].remote
        eu = top["sp:wholesale-eu"].remote
        assert us is not None
        assert eu is not None
        assert (us.operator, us.state, set(parts(us))) == (
            "wholesale-us",
            ServiceState.ACTIVE,
            {"pop:nyc"},
        )
        assert (eu.operator, eu.state, set(parts(eu))) == (
            "wholesale-eu",
            ServiceState.ACTIVE,
            {"pop:fra", "sp:edge-be"},
        )
        assert parts(eu)["pop:fra"].members == ("vnf_nat",)
        # Each lower SP holds its part for the upper SP's service account, not the customer.
        assert (us.owner, eu.owner) == ("retail", "retail")
        edge = parts(eu)["sp:edge-be"].remote  # two levels below the top
        assert edge is not None
        assert (edge.operator, edge.state, set(parts(edge))) == (
            "edge-be",
            ServiceState.ACTIVE,
            {"pop:bru"},
        )
        assert set(parts(edge)["pop:bru"].members) == {"ns_cdn/vnf_router", "ns_cdn/vnf_cache"}

        await retail.terminate(operation.service_id)
        state_now = await follow(retail, operation.service_id, state_root)
        assert state_now is ServiceState.TERMINATED, crash_report(state_root)
        assert (await retail.get_service(operation.service_id)).state is ServiceState.TERMINATED

    assert await wait_capacity_released(addresses, security, timeout_s=10.0) == []

    began = time.monotonic()
    stopped = await asyncio.to_thread(spfed, "topology", "down", "--json", root=state_root)
    down_s = time.monotonic() - began
    assert stopped.returncode == 0, stopped.stderr
    outcomes = {o["operator"]: o["outcome"] for o in json.loads(stopped.stdout)["operators"]}
    assert outcomes == dict.fromkeys(OPERATORS, "stopped"), crash_report(state_root)
    assert [pid for pid in pids if _process.running(pid)] == []
    assert processes_under(state_root) == []
    assert not (state_root / "demo" / "state.json").exists()
    assert (state_root / "demo" / "retail" / "node.log").exists()  # kept without --purge
    # Nothing went wrong quietly: no node logged an error or a traceback.
    for op in OPERATORS:
        log_text = (state_root / "demo" / op / "node.log").read_text()
        bad = [
            line for line in log_text.splitlines() if "level=error" in line or "Traceback" in line
        ]
        assert bad == [], f"{op}: {bad[:3]}"
    print(f"timings: up {up_s:.2f} s, down {down_s:.2f} s")


def broken_demo(root: Path) -> None:
    """Make edge-be unable to open its database: its path is a directory."""
    (root / "demo" / "edge-be" / "spfed.db").mkdir(parents=True)


@pytest.mark.timeout(60)
def test_a_node_that_cannot_start_stops_everything(state_root: Path) -> None:
    broken_demo(state_root)
    with pytest.raises(LaunchError) as caught:
        up(DEMO, state_root, timeout_s=30.0)
    error = caught.value
    assert str(error).startswith("operator edge-be exited with code 1 before serving (log: ")
    assert error.operator == "edge-be"
    assert any("edge-be cannot start" in line for line in error.log_tail), error.log_tail
    assert processes_under(state_root) == []
    assert TopologyState.all(state_root) == []


@pytest.mark.timeout(60)
def test_the_cli_prints_the_failing_log(state_root: Path) -> None:
    broken_demo(state_root)
    result = spfed("topology", "up", str(DEMO), root=state_root)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("spfed topology up: operator edge-be exited with code 1")
    assert "--- last lines of edge-be's log ---" in lines
    assert processes_under(state_root) == []


@pytest.mark.timeout(60)
def test_a_start_timeout_stops_everything(state_root: Path) -> None:
    with pytest.raises(LaunchError) as caught:
        up(DEMO, state_root, timeout_s=0.05)
    assert str(caught.value).startswith(
        "operator edge-be did not write its ready file within 0.05 s"
    )
    assert processes_under(state_root) == []
    assert TopologyState.all(state_root) == []


def test_spfed_demo_runs_the_main_job_and_leaves_nothing(state_root: Path) -> None:
    """``make demo``'s command: exit 0, the spread and the capacity checks it prints."""
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    done = subprocess.run(
        [str(SPFED), "demo", "--state-dir", str(state_root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "4 operators on 3 levels" in out
    assert "retail/wholesale-eu/edge-be" in out  # events relayed from level 3
    assert "1 vCPU, 1024 MiB, 10 GiB" in out  # the firewall held on ams, per the catalogue
    assert "every PoP is back at its starting capacity" in out
    assert "Traceback" not in out + done.stderr
    assert not processes_under(state_root)
