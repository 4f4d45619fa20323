"""The operators' databases on a topology's PostgreSQL server.

With ``storage: {postgresql: URL}`` in a topology file, every operator whose
``settings`` name no ``storage.url`` of their own gets a database of its own on
that server, ``spfed_<topology>_<operator>`` (``-`` and ``.`` become ``_``; a
name longer than PostgreSQL's 63 bytes is shortened and given a hash).

``create_databases`` (``up``) first records them in
``<topology dir>/databases.json`` (mode 0600: the URLs may hold a password),
so that a purge finds even those of an interrupted ``up``; then it creates
those that are missing. A database that exists is kept with its data, as an
operator's SQLite file is kept between ``down`` and ``up``.
``drop_databases`` (``down --purge``, ``purge``) drops what the record lists.
A ``storage.url`` an operator sets itself is its own: it is used as it is,
never created or dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spfed.errors import SpfedError
from spfed.topology.errors import LaunchError
from spfed.topology.model import OperatorSpec, Topology

__all__ = [
    "DATABASES_FILE",
    "create_databases",
    "database_name",
    "drop_databases",
    "own_storage_url",
    "topology_databases",
]

log = logging.getLogger(__name__)

DATABASES_FILE = "databases.json"
"""The record of the databases ``up`` made, in the topology's working directory."""
_MAX_NAME = 63
"""PostgreSQL's identifier limit, in bytes (names here are ASCII)."""
_HASH_CHARS = 8


def database_name(topology: str, operator: str) -> str:
    """``spfed_<topology>_<operator>``, as a plain PostgreSQL identifier of at most 63 bytes."""
    raw = f"spfed_{topology}_{operator}"
    name = re.sub(r"[^a-z0-9_]", "_", raw.lower())
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:_HASH_CHARS]
        name = f"{name[: _MAX_NAME - _HASH_CHARS - 1]}_{digest}"
    return name


def own_storage_url(spec: OperatorSpec) -> str | None:
    """The ``storage.url`` the operator's ``settings`` set, if any."""
    storage = spec.settings.get("storage")
    if isinstance(storage, Mapping):
        url = storage.get("url")
        if isinstance(url, str) and url:
            return url
    return None


def topology_databases(topology: Topology) -> dict[str, str]:
    """The database URL on the topology's PostgreSQL server of each operator that gets one.

    Empty when the topology names no server. Operators with a ``storage.url`` of their
    own are left out.

    Raises:
        InvalidArgument: the server URL is not a database URL (the loader checks it).
    """
    server = topology.storage.postgresql
    if not server:
        return {}
    from spfed.storage.servers import database_on

    return {
        op: database_on(server, database_name(topology.name, op))
        for op, spec in topology.operators.items()
        if own_storage_url(spec) is None
    }


def _record(directory: Path) -> Path:
    return directory / DATABASES_FILE


def _write_record(directory: Path, databases: Mapping[str, str]) -> None:
    path = _record(directory)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"databases": dict(databases)}, handle, indent=2)
    tmp.replace(path)


def _read_record(directory: Path) -> dict[str, str]:
    path = _record(directory)
    if not path.exists():
        return {}
    data: Any = json.loads(path.read_text())
    databases = data.get("databases", {}) if isinstance(data, dict) else {}
    return {str(op): str(url) for op, url in databases.items()}


def create_databases(topology: Topology, directory: Path) -> dict[str, str]:
    """Record, then create (when missing), the operators' databases on the topology's server.

    Returns them by operator (empty without a server). Databases recorded by an
    earlier ``up`` of the topology stay in the record until they are dropped.

    Raises:
        LaunchError: a database could not be created (the server is unreachable, or
            refused); it names the operator.
    """
    databases = topology_databases(topology)
    if not databases:
        return {}
    from spfed.storage.servers import create_database, masked

    _write_record(directory, {**_read_record(directory), **databases})
    for op, url in databases.items():
        try:
            created = create_database(url)
        except SpfedError as exc:
            raise LaunchError(
                f"cannot create the database of operator {op}: {exc.message}", operator=op
            ) from exc
        log.info(
            "event=database_%s topology=%s operator=%s url=%s",
            "created" if created else "kept",
            topology.name,
            op,
            masked(url),
        )
    return databases


def drop_databases(directory: Path) -> list[str]:
    """Drop every database the record in ``directory`` lists; the URLs of those that existed
    (passwords masked).

    The record is rewritten without those dropped, so a failed drop can be retried.

    Raises:
        LaunchError: a database could not be dropped (the others listed were).
    """
    databases = _read_record(directory)
    if not databases:
        return []
    from spfed.storage.servers import drop_database, masked

    dropped: list[str] = []
    left: dict[str, str] = {}
    failures: list[str] = []
    for op, url in databases.items():
        try:
            existed = drop_database(url)
        except SpfedError as exc:
            left[op] = url
            failures.append(f"{op}: {exc.message}")
            continue
        if existed:
            dropped.append(masked(url))
            log.info("event=database_dropped operator=%s url=%s", op, masked(url))
    _write_record(directory, left)
    if failures:
        raise LaunchError(f"cannot drop the databases of {'; '.join(failures)}")
    return dropped
