"""``down`` and ``purge`` on states whose pids are gone or belong to someone else.

No node is started here; ``tests/multiprocess`` stops real ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from spfed.topology import (
    AlreadyRunning,
    StopOutcome,
    StopResult,
    TopologyState,
    down,
    purge,
    up,
)
from tests.unit.topology.builders import DEMO
from tests.unit.topology.states import NO_SUCH_PID, fake_state


def test_down_forgets_processes_that_are_gone(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID, edge_be=NO_SUCH_PID + 1)
    assert down(state, 0.1) == [
        StopResult("retail", NO_SUCH_PID, StopOutcome.NOT_RUNNING),
        StopResult("edge-be", NO_SUCH_PID + 1, StopOutcome.NOT_RUNNING),
    ]
    assert TopologyState.all(tmp_path) == []
    assert Path(state.directory).is_dir()
    assert down(state, 0.1)[0].outcome is StopOutcome.NOT_RUNNING  # idempotent


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    # This test process is alive and is no 'spfed serve': were it signalled, the run would end.
    state = fake_state(tmp_path, retail=os.getpid())
    assert down(state, 0.1) == [StopResult("retail", os.getpid(), StopOutcome.NOT_OURS)]
    assert TopologyState.all(tmp_path) == []


def test_down_with_purge_deletes_the_directory(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    (Path(state.directory) / "retail").mkdir()
    (Path(state.directory) / "retail" / "node.log").write_text("x\n")
    down(state, 0.1, purge=True)
    assert not Path(state.directory).exists()
    down(state, 0.1, purge=True)  # still idempotent


def test_purge_refuses_a_running_topology(tmp_path: Path) -> None:
    state = fake_state(tmp_path, retail=NO_SUCH_PID)
    with pytest.raises(AlreadyRunning, match=r"is running in .*; stop it first"):
        purge(tmp_path, "demo")
    state.remove()
    assert purge(tmp_path, "demo")
    assert not purge(tmp_path, "demo")


@pytest.mark.parametrize("pid", [NO_SUCH_PID, os.getpid()], ids=["gone", "reused"])
def test_up_refuses_a_stale_state_file(tmp_path: Path, pid: int) -> None:
    # A running topology is refused too (tests/multiprocess); its message names the operators.
    fake_state(tmp_path, retail=pid)
    with pytest.raises(AlreadyRunning) as caught:
        up(DEMO, tmp_path)
    assert str(caught.value) == (
        f"topology 'demo' has a state file in {tmp_path / 'demo'} but none of its processes"
        " runs; clear it with 'spfed topology down demo'"
    )
