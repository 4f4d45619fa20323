"""Fixed node addresses: ``up`` keeps them free of races, ``restart`` brings a node back there.

On the demo topology, the middle operator (wholesale-eu: under retail, over edge-be) is restarted
twice, once gracefully and once after a SIGKILL. Each time it must keep its
address, its services, and its place in the federation: retail resubscribes
to its catalogue, and a service placed across all four operators is
instantiated through retail again.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from spfed.config import load_config
from spfed.model import ServiceRecord, ServiceState
from spfed.topology import (
    OperatorPaths,
    OperatorState,
    TopologyState,
    _process,
    write_node_config,
)
from spfed.topology import launcher as launching
from spfed.topology._ports import HOST, address_of
from spfed.topology.loader import load_topology
from spfed.topology.probes import Health, check_health
from spfed.topology.security import TopologySecurity
from tests.multiprocess.test_topology import (
    DEMO,
    OPERATORS,
    client,
    crash_report,
    demo_request,
    follow,
    parts,
    processes_under,
    spfed,
    stopped_at_exit,
)

pytestmark = pytest.mark.multiprocess

MIDDLE = "wholesale-eu"
RESUBSCRIBE_S = 20.0
"""Bound on retail taking up wholesale-eu's catalogue again (federation.reconnect_max_s is 5 s)."""
_RECEIVED = re.compile(rf"event=catalogue_received lower_sp={MIDDLE} version=(\d+)")


async def cli(*args: str, root: Path) -> Any:
    """``spfed topology <args> --json`` in a thread; its JSON output (exit code 0 asserted)."""
    done = await asyncio.to_thread(spfed, "topology", *args, "--json", root=root)
    assert done.returncode == 0, done.stdout + done.stderr + crash_report(root)
    return json.loads(done.stdout)


def by_id(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operators of ``spfed topology status --json`` by id."""
    return {o["id"]: o for o in status["operators"]}


def read_from(log: Path, offset: int) -> str:
    """What ``log`` holds after byte ``offset``."""
    with log.open("rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


async def resubscribed(log: Path, offset: int, timeout_s: float) -> int:
    """The first version of wholesale-eu's catalogue retail accepted after byte ``offset``
    of its log (0 if none within ``timeout_s``): proof its subscription is back."""
    deadline = time.monotonic() + timeout_s
    while True:
        added = await asyncio.to_thread(read_from, log, offset)
        found = _RECEIVED.search(added)
        if found or time.monotonic() > deadline:
            return int(found.group(1)) if found else 0
        await asyncio.sleep(0.1)


async def instantiate(security: TopologySecurity, address: str, root: Path) -> ServiceRecord:
    """The demo service, instantiated through retail as acme; its record once ACTIVE."""
    async with client(security, address, "retail", "acme") as retail:
        operation = await retail.instantiate(demo_request())
        assert await follow(retail, operation.service_id, root) is ServiceState.ACTIVE, (
            crash_report(root)
        )
        return await retail.get_service(operation.service_id)


def middle_part(record: ServiceRecord) -> ServiceRecord:
    """wholesale-eu's part of a demo service, as retail shows it."""
    eu = parts(record)[f"sp:{MIDDLE}"].remote
    assert eu is not None
    return eu


async def restart_middle(
    state: dict[str, Any], root: Path, kill_first: bool
) -> tuple[dict[str, Any], int]:
    """Restart wholesale-eu (SIGKILL first if ``kill_first``); the result and retail's
    log offset from before, so the resubscription after it can be found."""
    offset = await asyncio.to_thread(os.path.getsize, state["operators"]["retail"]["log"])
    if kill_first:
        pid = by_id(await cli("status", root=root))[MIDDLE]["pid"]
        os.kill(pid, signal.SIGKILL)
        assert await asyncio.to_thread(_process.wait_gone, [pid], 5.0) == []
        shown = await asyncio.to_thread(spfed, "topology", "status", "--json", root=root)
        assert shown.returncode == 1  # not every operator is up
        eu = by_id(json.loads(shown.stdout))[MIDDLE]
        assert (eu["process"], eu["serving"]) == ("gone", False)
    return await cli("restart", MIDDLE, root=root), offset


@pytest.mark.timeout(120)
async def test_a_restarted_node_keeps_its_address_services_and_federation(tmp_path: Path) -> None:
    with stopped_at_exit(tmp_path / "state") as root:
        began = time.monotonic()
        state = await cli("up", str(DEMO), root=root)
        addresses = {op: o["address"] for op, o in state["operators"].items()}
        # Fixed ports, and retail's configuration names its lower SPs there.
        for op, o in state["operators"].items():
            assert load_config(o["config"], environ={}).server.listen == addresses[op]
        retail_config = load_config(state["operators"]["retail"]["config"], environ={})
        assert {lower.id: lower.address for lower in retail_config.federation.lower_sps} == {
            MIDDLE: addresses[MIDDLE],
            "wholesale-us": addresses["wholesale-us"],
        }
        security = TopologySecurity.under(state["directory"])
        first = await instantiate(security, addresses["retail"], root)
        old_pid = state["operators"][MIDDLE]["pid"]

        timings = []
        for kill_first, was in ((False, "stopped"), (True, "not_running")):
            t0 = time.monotonic()
            restarted, offset = await restart_middle(state, root, kill_first)
            timings.append(time.monotonic() - t0)
            assert restarted["address"] == addresses[MIDDLE]
            assert restarted["stopped"]["outcome"] == was
            assert restarted["pid"] not in (old_pid, 0)
            old_pid = restarted["pid"]
            shown = await cli("status", root=root)
            assert [(o["id"], o["address"], o["serving"]) for o in shown["operators"]] == [
                (op, addresses[op], True) for op in OPERATORS
            ]
            assert by_id(shown)[MIDDLE]["pid"] == restarted["pid"]

            retail_log = Path(state["operators"]["retail"]["log"])
            assert await resubscribed(retail_log, offset, RESUBSCRIBE_S), crash_report(root)
            async with (
                client(security, addresses["retail"], "retail") as retail,
                client(security, addresses[MIDDLE], MIDDLE) as eu,
            ):
                # The first service is still there, at the top and in the restarted node.
                assert (await retail.get_service(first.id)).state is ServiceState.ACTIVE
                kept = await eu.get_service(middle_part(first).id)
                assert (kept.state, set(parts(kept))) == (
                    ServiceState.ACTIVE,
                    {"pop:fra", "sp:edge-be"},
                )
            # And a new one goes through it, down to edge-be below it.
            record = await instantiate(security, addresses["retail"], root)
            eu_part = middle_part(record)
            assert eu_part.state is ServiceState.ACTIVE
            edge = parts(eu_part)["sp:edge-be"].remote
            assert edge is not None
            assert edge.state is ServiceState.ACTIVE

        stopped = await cli("down", root=root)
        assert {o["operator"]: o["outcome"] for o in stopped["operators"]} == dict.fromkeys(
            OPERATORS, "stopped"
        )
        assert processes_under(root) == []
        for op in OPERATORS:  # a restart, even after SIGKILL, is no error anywhere
            log_text = (root / "demo" / op / "node.log").read_text()
            bad = [
                line
                for line in log_text.splitlines()
                if "level=error" in line or "Traceback" in line
            ]
            assert bad == [], f"{op}: {bad[:3]}"
        print(
            f"timings: restart {timings[0]:.2f} s, restart after SIGKILL {timings[1]:.2f} s,"
            f" whole test {time.monotonic() - began:.1f} s"
        )


@pytest.mark.timeout(60)
def test_a_node_whose_port_is_taken_before_it_binds_starts_on_another(tmp_path: Path) -> None:
    """The race ``up`` handles: another process binds the port picked for a node first."""
    with stopped_at_exit(tmp_path / "state") as root:
        demo = load_topology(DEMO)
        directory = root / "demo"
        directory.mkdir(parents=True)
        security = TopologySecurity.provision(
            directory, "demo", list(demo.operators), scrypt_log_n=10
        )
        state = TopologyState(name="demo", file=str(DEMO), directory=str(directory))
        paths = OperatorPaths.under(directory, "edge-be")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
            squatter.bind((HOST, 0))
            squatter.listen()
            taken = address_of(int(squatter.getsockname()[1]))
            # As if the port had been free when picked, and taken right after.
            addresses = {"edge-be": taken}
            write_node_config(demo, "edge-be", paths, {}, security, listen=taken)
            state.operators["edge-be"] = OperatorState(
                id="edge-be",
                address=taken,
                pid=0,
                config=str(paths.config),
                log=str(paths.log),
                database=paths.database_url,
                parents=["wholesale-eu"],
                level=3,
            )
            launching._spawn(state, "edge-be", paths)
            first_pid = state.operators["edge-be"].pid
            metrics: dict[str, str] = {}
            launching._serve(
                demo, state, "edge-be", addresses, time.monotonic() + 30, 30, security, metrics
            )
        moved = state.operators["edge-be"]
        assert moved.address not in ("", taken)
        assert moved.pid != first_pid
        assert addresses["edge-be"] == moved.address  # what its upper SP's config will name
        assert load_config(paths.config, environ={}).server.listen == moved.address
        assert load_config(paths.config, environ={}).metrics.listen == moved.metrics != ""
        assert metrics["edge-be"] == moved.metrics
        assert TopologyState.load(directory).operators["edge-be"].address == moved.address
        assert check_health(moved.address, 2.0, security.client_tls()) is Health.SERVING
