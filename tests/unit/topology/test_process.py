"""Telling whether a pid is ours, without starting any node."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from spfed.topology import _process
from tests.unit.topology.states import NO_SUCH_PID


def test_this_process_runs_but_is_no_spfed_serve(tmp_path: Path) -> None:
    assert _process.running(os.getpid())
    assert not _process.is_serve_process(os.getpid(), tmp_path / "node.yaml")


def test_a_pid_nobody_has() -> None:
    assert not _process.running(NO_SUCH_PID)
    assert not _process.running(0)
    assert not _process.is_serve_process(NO_SUCH_PID, "/x/node.yaml")
    assert _process.exit_code(NO_SUCH_PID) is None
    assert _process.wait_gone([NO_SUCH_PID], 0.0) == []


def test_serve_command_runs_this_interpreter(tmp_path: Path) -> None:
    argv = _process.serve_command(tmp_path / "node.yaml")
    assert argv[0] == sys.executable
    assert argv[-3:] == ["serve", "--config", str(tmp_path / "node.yaml")]


def test_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    assert _process.log_tail(log) == ()
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert _process.log_tail(log, lines=3) == ("line 97", "line 98", "line 99")
    assert _process.log_tail(log, lines=2, max_bytes=16) == ("line 98", "line 99")
