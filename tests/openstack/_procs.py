"""Processes of the harness: started in their own process group, stopped only if still ours.

Every service starts as the leader of a new session (so of a new process group). A record
keeps its pid and its start time (field 22 of ``/proc/<pid>/stat``); a pid counts as ours
only while a process with that pid *and* that start time exists, so a recycled pid is never
signalled. Stopping sends SIGTERM to each group, waits a bounded time, then SIGKILLs what is
left. Group members that outlive their leader are found through ``/proc`` by their process
group, their session and a start time no earlier than the leader's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STOP_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL."""
KILL_WAIT = 5.0
"""Seconds to wait for SIGKILLed processes to go."""


@dataclass(frozen=True)
class ProcRecord:
    """A process the harness started: enough to find it again, and only it."""

    name: str
    pid: int
    start_time: int
    log: str

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcRecord:
        """The record written by :meth:`to_json`."""
        return cls(str(data["name"]), int(data["pid"]), int(data["start_time"]), str(data["log"]))


_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
"""Popen objects of this process's own children, so that they are reaped once they exit."""


def spawn(
    name: str, argv: Sequence[str], env: Mapping[str, str], log: Path, cwd: Path
) -> ProcRecord:
    """Start ``argv`` as a new session, its output appended to ``log``."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    start_time = _stat(process.pid)
    if start_time is None:
        # It exited already; record it anyway so the caller's health check reports it.
        return ProcRecord(name, process.pid, -1, str(log))
    return ProcRecord(name, process.pid, start_time[0], str(log))


def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """``(start_time, pgrp, session, state)`` of ``pid``, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = raw[raw.rindex(")") + 2 :].split()
    state, pgrp, session, start_time = fields[0], int(fields[2]), int(fields[3]), int(fields[19])
    return start_time, pgrp, session, state


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` (clock ticks after boot), or None if there is no such process."""
    stat = _stat(pid)
    return None if stat is None else stat[0]


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is a child of this process that has exited."""
    process = _CHILDREN.get(pid)
    if process is not None and process.poll() is not None:
        del _CHILDREN[pid]


def alive(record: ProcRecord) -> bool:
    """Whether the process of ``record`` (same pid, same start time) is still running.

    For a child of this process, its exit status decides (and it is reaped once it exits,
    so none is left a zombie); for another process, ``/proc`` does: a thread-group leader
    that shows as a zombie still runs while any of its threads does.
    """
    process = _CHILDREN.get(record.pid)
    if process is not None:
        if process.poll() is None:
            return True
        del _CHILDREN[record.pid]
        return False
    stat = _stat(record.pid)
    if stat is None or stat[0] != record.start_time:
        return False
    return stat[3] not in ("Z", "X") or _has_live_threads(record.pid)


def _has_live_threads(pid: int) -> bool:
    """Whether any thread of ``pid`` is neither dead nor a zombie."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            raw = (task / "stat").read_text()
        except OSError:
            continue
        if raw[raw.rindex(")") + 2 :].split()[0] not in ("Z", "X"):
            return True
    return False


def _group_members(record: ProcRecord) -> list[int]:
    """Live pids in ``record``'s process group and session that started no earlier than it."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _stat(int(entry.name))
        if stat is None or stat[3] in ("Z", "X"):
            continue
        start_time, pgrp, session, _ = stat
        if pgrp == record.pid and session == record.pid and start_time >= record.start_time:
            members.append(int(entry.name))
    return members


def _signal_group(record: ProcRecord, signum: int) -> bool:
    """Send ``signum`` to what is left of ``record``'s group; whether anything was left."""
    if record.start_time < 0:
        return False
    if alive(record):
        targets = [record.pid]
        group = True
    else:
        targets = _group_members(record)
        group = False
    if not targets:
        return False
    try:
        if group:
            os.killpg(record.pid, signum)
        else:
            for pid in targets:
                os.kill(pid, signum)
    except ProcessLookupError:
        return False
    return True


def running(records: Iterable[ProcRecord]) -> list[ProcRecord]:
    """The records whose leader or some group member is still running."""
    return [r for r in records if r.start_time >= 0 and (alive(r) or _group_members(r))]


def stop(records: Sequence[ProcRecord], grace: float = STOP_GRACE) -> list[ProcRecord]:
    """SIGTERM every group, SIGKILL what is left after ``grace`` s; what survived (normally [])."""
    pending = [r for r in records if _signal_group(r, signal.SIGTERM)]
    pending = _wait_gone(pending, grace)
    for record in pending:
        _signal_group(record, signal.SIGKILL)
    survivors = _wait_gone(pending, KILL_WAIT)
    for record in records:
        _reap(record.pid)
    return survivors


def _wait_gone(records: list[ProcRecord], timeout: float) -> list[ProcRecord]:
    """Poll until none of ``records`` runs or ``timeout`` passes; those still running."""
    deadline = time.monotonic() + timeout
    left = running(records)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = running(left)
    return left
