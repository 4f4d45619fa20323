"""Private files: directories only the owner can enter, files replaced atomically.

Key material is written to a temporary file in the target directory (created
``0600`` by ``mkstemp``), synced, then renamed over the target, so a reader
never sees half a key and a crash leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from spfed.errors import FailedPrecondition

__all__ = ["ensure_private_dir", "write_atomically"]


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` and any missing parent, each with mode ``0700``.

    Directories that already exist are left as they are.

    Raises:
        FailedPrecondition: a level cannot be created, or exists and is not a directory.
    """
    missing: list[Path] = []
    level = directory
    while not level.exists():
        missing.append(level)
        if level.parent == level:
            break
        level = level.parent
    try:
        for path in reversed(missing):
            # os.makedirs would give intermediate levels the default mode, not 0700
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700)
    except OSError as error:
        raise FailedPrecondition(
            f"cannot create directory {directory}: {error.strerror}"
        ) from error
    if not directory.is_dir():
        raise FailedPrecondition(f"{directory} exists and is not a directory")


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (mode ``0600``) in one rename; parents are made ``0700``.

    Raises:
        FailedPrecondition: the directory or the file cannot be written; ``path`` is unchanged.
    """
    ensure_private_dir(path.parent)
    temporary: str | None = None
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o600)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise FailedPrecondition(f"cannot write {path}: {error.strerror}") from error
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    # best effort: some file systems cannot sync a directory, and the new file is in place
    with contextlib.suppress(OSError):
        _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # the rename is durable only once the directory entry is on disk
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
