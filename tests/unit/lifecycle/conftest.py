"""The node runtime that unit tests of tasks share: service records and pools on SQLite,
intents and handles in memory, no PoP and no lower SP (a test adds what it needs with
``dataclasses.replace``), and one service ``s1``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lower_sp.local.handles import InMemoryHandleStore
from spfed.config import FederationConfig, NodeConfig
from spfed.descriptors import DescriptorSet
from spfed.lifecycle.blocks import ServiceBlocks
from spfed.lifecycle.events import EventLog
from spfed.lifecycle.intents import InMemoryIntentStore
from spfed.lifecycle.runtime import NodeRuntime
from spfed.storage import AddressStore, Database, ServiceStore
from tests.unit.storage.records import new_service

NODE = "retail"


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[NodeRuntime]:
    db = Database.connect(f"sqlite:///{tmp_path / 'node.db'}")
    await db.migrate()
    config = NodeConfig(id=NODE, federation=FederationConfig(delegation_timeout_s=5))
    services = ServiceStore(db)
    blocks = ServiceBlocks(config.addressing, AddressStore(db))
    await blocks.start()
    rt = NodeRuntime(
        node_id=NODE,
        config=config,
        services=services,
        progress=services.progress,
        handles=InMemoryHandleStore(),
        intents=InMemoryIntentStore(),
        events=EventLog(services),
        blocks=blocks,
        vims={},
        lowers={},
        onboarded=DescriptorSet(),
        lower_catalogues=dict,
        capacity_changed=lambda: None,
    )
    new = new_service("s1")
    await rt.services.create_service(new.record, new.request, "h", new.operation, [])
    yield rt
    rt.admission.close()
    rt.events.close()
    await db.close()
