"""Slices through crashes: a node of the 3-level federation dies while a slice is created or
deleted; after its restart the slice settles and nothing leaks.

Slices are made at retail, the node the CreateSlice call reaches (its lower SPs only see the
subnets' sub-services), so retail dies at each task and phase of each slice workflow
(``spfed.faults.SLICE_WORKFLOWS``: ``slice_create``, ``slice_delete``); and, in the full
matrix, a lower node dies inside a subnet's sub-service. Each case:

1. the demo topology comes up with ``faults.crash_at`` in the victim's node.yaml only;
2. the secure-edge slice (``examples/slices``: the secure chain joined to an edge CDN) is
   created at retail (for ``slice_delete`` points: created to ACTIVE, then deleted), and the
   victim ends itself at the point;
3. the fault is removed, the victim restarted on its address, and the slice must settle:
   ACTIVE or FAILED for a creation (a creation cut short is compensated), DELETED for a
   deletion (a deletion is finished);
4. the slice is deleted (if not DELETED already) and nothing is left anywhere: no service but
   TERMINATED on any node, no capacity in use, no PoP resource, handle, address block (the
   link's /31 and VNI included) or WAN booking, no hold, no unfinished slice run;
5. the same slice is created again to ACTIVE and deleted, leaving nothing.

``make test`` runs ``SUBSET``; ``make crash-matrix`` runs every case (marker ``crash_matrix``).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from spfed.errors import SpfedError
from spfed.faults import SLICE_WORKFLOWS, CrashAt
from spfed.model import SliceState
from tests.crash._harness import (
    Topology,
    cli,
    delete_slice,
    disarm,
    nothing_held,
    settle_slice,
    slice_holdings,
    slice_request,
    up,
    wait_crashed,
    write_topology,
)
from tests.multiprocess.test_topology import stopped_at_exit

pytestmark = pytest.mark.multiprocess

PHASES = ("before", "after_effect", "after_persist")

LOWER_CASES = (
    "wholesale-eu:instantiate/delegate_subservices/after_effect",
    "edge-be:instantiate/deploy_local/after_effect",
)
"""Lower nodes dying inside a subnet's sub-service while the slice is created."""

SUBSET = frozenset(
    {
        # services requested, not yet ACTIVE: compensated through the engine, services ended
        "retail:slice_create/instantiate_subnets/after_effect",
        # half deleted: the deletion run is resumed where it stopped
        "retail:slice_delete/release_subnets/before",
    }
)
"""The cases ``make test`` runs (some 15 s each)."""


def _cases() -> list[object]:
    cases = [
        f"retail:{workflow}/{task}/{phase}"
        for workflow, schedule in SLICE_WORKFLOWS.items()
        for task in schedule.task_ids()
        for phase in PHASES
    ]
    cases += LOWER_CASES
    return [
        pytest.param(case, id=case, marks=[] if case in SUBSET else [pytest.mark.crash_matrix])
        for case in cases
    ]


def test_every_slice_task_has_its_crash_points() -> None:
    for workflow, schedule in SLICE_WORKFLOWS.items():
        for task in schedule.task_ids():
            for phase in PHASES:
                assert str(CrashAt.parse(f"{workflow}/{task}/{phase}")) == (
                    f"{workflow}/{task}/{phase}"
                )


async def _create(topo: Topology, request_id: str) -> str:
    """Create the slice at retail; its id ("" when retail died before answering)."""
    try:
        async with topo.client("retail", "acme") as retail:
            return (await retail.create_slice(slice_request(request_id))).id
    except SpfedError:
        return ""


async def _start_deleting(topo: Topology, slice_id: str) -> None:
    """Delete the slice at retail (retail may die before it answers)."""
    try:
        async with topo.client("retail", "acme") as retail:
            await retail.delete_slice(slice_id)
    except SpfedError:
        pass


async def _left(topo: Topology) -> list[str]:
    return [*await nothing_held(topo), *await slice_holdings(topo)]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", _cases())
async def test_a_crash_in_a_slice_run_leaves_nothing_behind(case: str, tmp_path: Path) -> None:
    victim, point = case.split(":", 1)
    deleting = point.startswith("slice_delete/")
    request_id = uuid.uuid4().hex
    with stopped_at_exit(tmp_path / "state") as root:
        topo = await up(root, write_topology(tmp_path / "topology", victim, point))
        slice_id = await _create(topo, request_id)
        if deleting:
            assert slice_id, "retail died inside CreateSlice before the deletion"
            assert await settle_slice(topo, slice_id) is SliceState.ACTIVE
            await _start_deleting(topo, slice_id)

        await wait_crashed(topo, victim, point)
        disarm(topo.config(victim))
        await cli(root, "restart", victim)
        if not slice_id:
            # retail died inside the call: the same request id finds what it recorded
            slice_id = await _create(topo, request_id)
            assert slice_id

        settled = await settle_slice(topo, slice_id)
        if deleting:
            assert settled is SliceState.DELETED
        else:
            assert settled in (SliceState.ACTIVE, SliceState.FAILED)
            assert await delete_slice(topo, slice_id) is SliceState.DELETED
        assert await _left(topo) == []

        # The same federation makes the same slice again, and cleans up after it.
        again = await _create(topo, uuid.uuid4().hex)
        assert await settle_slice(topo, again) is SliceState.ACTIVE
        assert await delete_slice(topo, again) is SliceState.DELETED
        assert await _left(topo) == []
