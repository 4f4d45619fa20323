"""A topology on PostgreSQL, as a user writes it: a server for the topology, and an
operator that names a database of its own.

``up`` makes a database per operator on the server (``spfed_<topology>_<operator>``),
the nodes migrate and use them, and they survive ``down`` and a new ``up`` with their
services; ``down --purge`` drops them, never the database an operator brought itself.
Every database is named for this test run and dropped at the end whatever happened.
The server is the one the storage tests use (127.0.0.1:5432); without it the tests are
skipped, unless ``CI=true``.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from spfed.descriptors import load_files
from spfed.model import (
    InstantiateRequest,
    PlacementConstraints,
    ServiceDescriptors,
    ServiceState,
)
from spfed.topology.databases import database_name
from spfed.topology.security import TopologySecurity
from tests.multiprocess.test_topology import DESCRIPTORS, client, follow, spfed, state_root
from tests.unit.storage.backends import PG_HOST, PG_PORT, PG_USER, admin_connection

__all__ = ["state_root"]  # the fixture, imported for the tests below

pytestmark = pytest.mark.multiprocess

SERVER = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}"
REVISIONS = ",".join(
    sorted(
        p.name[:4]
        for p in (
            Path(__file__).resolve().parents[2] / "spfed" / "storage" / "migrations" / "versions"
        ).glob("[0-9][0-9][0-9][0-9]_*.py")
    )
)


@pytest.fixture
def pg() -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the server (skips, or fails under CI, without one)."""
    conn = admin_connection()
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def run_id(pg: psycopg.Connection[Any]) -> Iterator[str]:
    """A name for this run; every database named after it is dropped at the end."""
    run = f"pg{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        yield run
    finally:
        for name in databases(pg, run.replace("-", "_")):
            pg.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def databases(pg: psycopg.Connection[Any], fragment: str) -> set[str]:
    """The server's databases whose names hold ``fragment``."""
    rows = pg.execute(
        "SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0", (fragment,)
    ).fetchall()
    return {name for (name,) in rows}


def count(url: str, table: str) -> int:
    """Rows of ``table`` in the database at SQLAlchemy URL ``url``."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        return int(row.fetchone()[0])  # type: ignore[index]


def write_topology(directory: Path, name: str, own_url: str) -> Path:
    """``top`` (its own database) over ``low-er`` (the edge CDN, on the topology's server)."""
    capacity = {"vcpus": 8, "memory_mib": 16384, "disk_gib": 100}
    data = {
        "name": name,
        "storage": {"postgresql": SERVER},
        "operators": {
            "top": {
                "customers": ["acme"],
                "pops": [{"name": "ams", "region": "nl", "capacity": capacity}],
                "settings": {"storage": {"url": own_url}},
            },
            "low-er": {
                "parents": ["top"],
                "pops": [{"name": "fra", "region": "de", "capacity": capacity}],
                "descriptors": [
                    str(DESCRIPTORS / f)
                    for f in ("nsd-edge-cdn.yml", "vnfd-router.yml", "vnfd-cache.yml")
                ],
            },
        },
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def edge_cdn_in_de() -> InstantiateRequest:
    found = load_files(
        [DESCRIPTORS / f for f in ("nsd-edge-cdn.yml", "vnfd-router.yml", "vnfd-cache.yml")]
    )
    nsd = next(n for n in found.nsds if n.ref.name == "edge-cdn")
    return InstantiateRequest(
        request_id=uuid.uuid4().hex,
        name="cdn on postgresql",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=found.vnfds),
        placement=PlacementConstraints(default_region="de"),
    )


@pytest.mark.timeout(180)
async def test_a_topology_on_postgresql(
    state_root: Path, tmp_path: Path, pg: psycopg.Connection[Any], run_id: str
) -> None:
    own_name = f"spfed_own_{run_id.replace('-', '_')}"
    pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(own_name)))
    own_url = f"{SERVER}/{own_name}"
    file = write_topology(tmp_path, run_id, own_url)
    made = database_name(run_id, "low-er")
    assert made == f"spfed_{run_id.replace('-', '_')}_low_er"
    low_url = f"{SERVER}/{made}"

    started = await asyncio.to_thread(spfed, "topology", "up", str(file), "--json", root=state_root)
    assert started.returncode == 0, started.stderr
    state = json.loads(started.stdout)
    assert {op: o["database"] for op, o in state["operators"].items()} == {
        "top": own_url,
        "low-er": low_url,
    }
    # Only the operator without a database of its own got one on the server.
    assert databases(pg, run_id.replace("-", "_")) == {own_name, made}
    directory = Path(state["directory"])
    for op in ("top", "low-er"):
        log = (directory / op / "node.log").read_text()
        assert f"event=schema_migrated applied={REVISIONS} schema={REVISIONS[-4:]}" in log

    security = TopologySecurity.under(directory)
    address = state["operators"]["top"]["address"]
    async with client(security, address, "top", "acme") as top:
        operation = await top.instantiate(edge_cdn_in_de())
        assert await follow(top, operation.service_id, state_root) is ServiceState.ACTIVE
    # The service is in top's own database, its delegated part in low-er's.
    assert await asyncio.to_thread(count, own_url, "services") == 1
    assert await asyncio.to_thread(count, low_url, "services") == 1

    stopped = await asyncio.to_thread(spfed, "topology", "down", run_id, root=state_root)
    assert stopped.returncode == 0, stopped.stderr
    assert databases(pg, run_id.replace("-", "_")) == {own_name, made}

    # Up again: the same databases, the service still there and active.
    again = await asyncio.to_thread(spfed, "topology", "up", str(file), "--json", root=state_root)
    assert again.returncode == 0, again.stderr
    log = (directory / "low-er" / "node.log").read_text()
    assert f"event=schema_migrated applied=none schema={REVISIONS[-4:]}" in log
    address = json.loads(again.stdout)["operators"]["top"]["address"]
    async with client(security, address, "top", "acme") as top:
        record = await top.get_service(operation.service_id)
        assert record.state is ServiceState.ACTIVE

    purged = await asyncio.to_thread(
        spfed, "topology", "down", run_id, "--purge", "--json", root=state_root
    )
    assert purged.returncode == 0, purged.stderr
    assert json.loads(purged.stdout)["purged"] is True
    assert not await asyncio.to_thread(directory.exists)
    # The database up made is gone; the one the operator brought is its own.
    assert databases(pg, run_id.replace("-", "_")) == {own_name}


@pytest.mark.timeout(60)
async def test_a_stopped_topology_purged_by_name_drops_its_databases(
    state_root: Path, tmp_path: Path, pg: psycopg.Connection[Any], run_id: str
) -> None:
    file = tmp_path / "one.yaml"
    capacity = {"vcpus": 4, "memory_mib": 8192}
    file.write_text(
        yaml.safe_dump(
            {
                "name": run_id,
                "storage": {"postgresql": SERVER},
                "operators": {
                    "solo": {"pops": [{"name": "ams", "region": "nl", "capacity": capacity}]}
                },
            }
        )
    )
    started = await asyncio.to_thread(spfed, "topology", "up", str(file), root=state_root)
    assert started.returncode == 0, started.stderr
    made = database_name(run_id, "solo")
    assert databases(pg, run_id.replace("-", "_")) == {made}
    stopped = await asyncio.to_thread(spfed, "topology", "down", run_id, root=state_root)
    assert stopped.returncode == 0, stopped.stderr
    assert databases(pg, run_id.replace("-", "_")) == {made}
    purged = await asyncio.to_thread(spfed, "topology", "down", run_id, "--purge", root=state_root)
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.strip() == f"topology '{run_id}' is not running; nothing to stop (purged)"
    assert databases(pg, run_id.replace("-", "_")) == set()


async def test_an_unreachable_server_stops_up_before_any_node_starts(
    state_root: Path, tmp_path: Path
) -> None:
    file = tmp_path / "nowhere.yaml"
    capacity = {"vcpus": 4, "memory_mib": 8192}
    file.write_text(
        yaml.safe_dump(
            {
                "name": "nowhere",
                "storage": {"postgresql": "postgresql+psycopg://spfed@127.0.0.1:1"},
                "operators": {
                    "solo": {"pops": [{"name": "ams", "region": "nl", "capacity": capacity}]}
                },
            }
        )
    )
    started = await asyncio.to_thread(spfed, "topology", "up", str(file), root=state_root)
    assert started.returncode == 1
    first = started.stderr.splitlines()[0]
    assert first.startswith(
        "spfed topology up: cannot create the database of operator solo:"
        " PostgreSQL at postgresql+psycopg://spfed@127.0.0.1:1/postgres:"
        " cannot create database spfed_nowhere_solo:"
    ), started.stderr
    assert not (state_root / "nowhere" / "state.json").exists()
    assert not list((state_root / "nowhere").glob("*/node.log"))
