"""One ``up``, ``restart`` or ``down`` of a topology at a time: ``flock`` on its ``.lock``.

The lock goes with the process holding it, so a crashed ``up`` leaves none.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from spfed.topology.errors import LaunchError

__all__ = ["exclusive"]

_LOCK_FILE = ".lock"


@contextlib.contextmanager
def exclusive(directory: Path, name: str) -> Iterator[None]:
    """Hold the topology's lock; only one ``up``, ``restart`` or ``down`` of a topology at a time.

    Raises:
        LaunchError: another process holds it.
    """
    with (directory / _LOCK_FILE).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LaunchError(
                f"another 'spfed topology up', 'restart' or 'down' of '{name}' is running"
                f" ({directory})"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
