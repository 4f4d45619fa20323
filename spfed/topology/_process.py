"""``spfed serve`` processes: start one detached, tell whether a pid still is it, stop it.

Nodes run in their own session (``setsid``), so a Ctrl-C at the terminal
that ran ``spfed topology up`` does not reach them, and they outlive it. They
are started with ``os.posix_spawn`` rather than ``subprocess.Popen``: a
``Popen`` object of a node still running when it is garbage collected warns,
and nothing here needs one. Whoever started a node reaps it (``exit_code``,
``running``) so it does not linger as a zombie.

A pid in a state file may, after a reboot or a crash, belong to some other
process; ``is_serve_process`` reads ``/proc/<pid>/cmdline`` so that only
``spfed serve --config <that config>`` is ever signalled. A node restarted
by hand on its generated config has a pid no state file knows;
``node_pid`` finds it by that same command line.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "exit_code",
    "find_serve_process",
    "is_serve_process",
    "log_tail",
    "node_pid",
    "running",
    "serve_command",
    "signal_process",
    "spawn_serve",
    "wait_gone",
]

_ENV_OVERRIDE_PREFIX = "SPFED__"
_POLL_S = 0.05


def serve_command(config: Path) -> list[str]:
    """argv of ``spfed serve --config <config>`` for this interpreter's installation.

    The ``spfed`` console script next to ``sys.executable`` when there is
    one, else the interpreter running ``spfed.cli.main``.
    """
    script = Path(sys.executable).parent / "spfed"
    if script.is_file() and os.access(script, os.X_OK):
        head = [sys.executable, str(script)]
    else:
        head = [sys.executable, "-c", "from spfed.cli import main; main()"]
    return [*head, "serve", "--config", str(config)]


def spawn_serve(config: Path, log: Path, environ: Mapping[str, str] | None = None) -> int:
    """Start ``spfed serve --config <config>`` detached; returns its pid.

    stdin is ``/dev/null``; stdout and stderr are appended to ``log``. The
    node gets ``environ`` (default: this process's) without ``SPFED__*``
    overrides, since the generated configuration is the whole truth, and
    with ``PYTHONFAULTHANDLER`` set unless given.

    Raises:
        OSError: the process could not be started.
    """
    env = {
        k: v
        for k, v in (os.environ if environ is None else environ).items()
        if not k.startswith(_ENV_OVERRIDE_PREFIX)
    }
    # A node that crashes in native code (grpc's core) leaves its Python stacks in its log.
    env.setdefault("PYTHONFAULTHANDLER", "1")
    argv = serve_command(config)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawn(argv[0], argv, env, file_actions=actions, setsid=True)


def exit_code(pid: int) -> int | None:
    """The exit code of a child of this process that has ended (reaping it), else ``None``.

    ``None`` as well for a pid that is not a child of this process.
    """
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done == pid else None


def running(pid: int) -> bool:
    """Whether ``pid`` names a live process (a zombie counts as gone).

    A child of this process that has ended is reaped on the way.
    """
    if pid <= 0:
        return False
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        done = 0
    if done == pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return _signal_zero(pid)
    state = stat.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"])


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_serve_process(pid: int, config: str | Path) -> bool:
    """Whether ``pid`` runs ``spfed serve --config <config>`` (this very config file).

    False when it cannot be told (no ``/proc``): a process that is not
    certainly ours is never signalled.
    """
    args = _cmdline(pid)
    if not args or "serve" not in args:
        return False
    wanted = os.path.realpath(config)
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = ""
    for i, arg in enumerate(args):
        value = None
        if arg == "--config" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--config="):
            value = arg.partition("=")[2]
        if value is None or not (os.path.isabs(value) or cwd):
            continue
        if os.path.realpath(os.path.join(cwd, value)) == wanted:
            return True
    return False


def find_serve_process(config: str | Path) -> int | None:
    """The lowest pid of a live ``spfed serve --config <config>``, else ``None``.

    Reads every ``/proc/<pid>/cmdline`` this user may read, so it costs one
    pass over the process table; ``None`` without ``/proc``.
    """
    try:
        entries = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    except OSError:
        return None
    me = os.getpid()
    found = [
        pid
        for pid in sorted(entries)
        if pid != me and is_serve_process(pid, config) and running(pid)
    ]
    return found[0] if found else None


def node_pid(recorded: int, config: str | Path) -> int | None:
    """The pid of the node serving ``config``: ``recorded`` while it is that node, else
    the one found on the process table (restarted by hand), else ``None`` (not running)."""
    if running(recorded) and is_serve_process(recorded, config):
        return recorded
    return find_serve_process(config)


def signal_process(pid: int, sig: signal.Signals) -> bool:
    """Send ``sig`` to ``pid``; False if it was already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pids: Sequence[int], timeout_s: float) -> list[int]:
    """Wait up to ``timeout_s`` for every pid to end; returns those still running."""
    deadline = time.monotonic() + timeout_s
    left = [pid for pid in pids if running(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(_POLL_S)
        left = [pid for pid in left if running(pid)]
    return left


def log_tail(log: Path, lines: int = 20, max_bytes: int = 64 * 1024) -> tuple[str, ...]:
    """The last ``lines`` lines of a log file (reading at most ``max_bytes``); () if none."""
    try:
        with log.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return ()
    return tuple(data.decode(errors="replace").splitlines()[-lines:])
