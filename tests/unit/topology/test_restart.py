"""``restart`` refusals, and nodes restarted by hand, with stand-in processes.

The stand-in for a node is a sleeping Python whose command line reads
``... serve --config <node.yaml>``, which is all that tells a node apart; no
port is listened on. Real nodes are restarted in
``tests/multiprocess/test_topology_restart.py``.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from spfed.topology import (
    LaunchError,
    OperatorPaths,
    ProcessState,
    StopOutcome,
    StopResult,
    TopologyState,
    _process,
    down,
    load_topology,
    restart,
    status,
    write_node_config,
)
from spfed.topology._ports import HOST, address_of
from spfed.topology.security import TopologySecurity
from tests.unit.topology.builders import DEMO
from tests.unit.topology.states import NO_SUCH_PID, fake_state

_STAND_IN_S = 60


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A process that looks like ``spfed serve --config <demo/edge-be/node.yaml>``; always ended."""
    config = tmp_path / "demo" / "edge-be" / "node.yaml"
    argv = [sys.executable, "-c", f"import time; time.sleep({_STAND_IN_S})"]
    proc = subprocess.Popen([*argv, "serve", "--config", str(config)])
    try:
        yield proc, config
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_a_node_restarted_by_hand_is_found_by_its_config(
    tmp_path: Path, stand_in: tuple[subprocess.Popen[bytes], Path]
) -> None:
    proc, config = stand_in
    state = fake_state(tmp_path, edge_be=NO_SUCH_PID)  # the pid 'up' recorded is gone
    assert state.operators["edge-be"].config == str(config)
    assert _process.find_serve_process(config) == proc.pid
    assert _process.node_pid(NO_SUCH_PID, config) == proc.pid
    assert _process.node_pid(NO_SUCH_PID, tmp_path / "other.yaml") is None

    (shown,) = status(state, timeout_s=0.2)
    assert (shown.pid, shown.process) == (proc.pid, ProcessState.RUNNING)
    assert not shown.serving  # nothing listens at its address

    assert down(state, 5.0) == [StopResult("edge-be", proc.pid, StopOutcome.STOPPED)]
    assert not _process.running(proc.pid)  # (which reaped it: Popen no longer sees its code)


def demo_state(root: Path, listen: str) -> TopologyState:
    """A state whose only operator, edge-be, is gone, with a real generated configuration."""
    state = fake_state(root, edge_be=NO_SUCH_PID)
    demo = load_topology(DEMO)
    security = TopologySecurity.provision(
        state.directory, "demo", list(demo.operators), scrypt_log_n=10
    )
    paths = OperatorPaths.under(state.directory, "edge-be")
    write_node_config(demo, "edge-be", paths, {}, security, listen=listen)
    return state


def test_restart_refuses_what_it_cannot_restart(tmp_path: Path) -> None:
    state = fake_state(tmp_path, edge_be=NO_SUCH_PID)
    with pytest.raises(LaunchError, match=r"has no operator 'retail' \(operators: edge-be\)"):
        restart(state, "retail")
    with pytest.raises(LaunchError, match=r"cannot restart edge-be: .*node\.yaml"):
        restart(state, "edge-be")  # no configuration was ever written
    state.remove()
    with pytest.raises(LaunchError, match="topology 'demo' is not running"):
        restart(state, "edge-be")


def test_a_configuration_without_a_fixed_port_is_not_restarted(tmp_path: Path) -> None:
    state = demo_state(tmp_path, "127.0.0.1:0")
    with pytest.raises(LaunchError, match="has no fixed port"):
        restart(state, "edge-be")


def test_a_node_whose_port_was_taken_meanwhile_is_not_started(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind((HOST, 0))
        squatter.listen()
        address = address_of(int(squatter.getsockname()[1]))
        state = demo_state(tmp_path, address)
        with pytest.raises(LaunchError, match=f"another process listens on {address}"):
            restart(state, "edge-be")
    after = TopologyState.load(state.directory).operators["edge-be"]
    assert after.pid == NO_SUCH_PID  # nothing was started, nothing recorded
