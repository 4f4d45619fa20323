"""Slice records and holds: a round trip, and holds counted per service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spfed.errors import AlreadyExists
from spfed.model import (
    DescriptorRef,
    ErrorStatus,
    SliceLinkPoint,
    SliceLinkRecord,
    SliceRecord,
    SliceState,
    SliceSubnetRecord,
)
from spfed.storage import Database, SliceHold, SliceStore

NSD = DescriptorRef("v", "cdn", "1.0")


def _record(slice_id: str, request_id: str = "r") -> SliceRecord:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return SliceRecord(
        id=slice_id,
        name="s",
        template=DescriptorRef("v", "t", "1"),
        state=SliceState.CREATING,
        owner="alice",
        request_id=request_id,
        create_time=now,
        update_time=now,
        subnets=(SliceSubnetRecord("cdn", NSD, "svc", shared=True),),
        links=(
            SliceLinkRecord(
                "l", "172.16.0.0/31", 7, (SliceLinkPoint("a", "x", "172.16.0.0"),), ("slice:s/l",)
            ),
        ),
    )


async def test_a_slice_round_trips_and_its_request_id_is_unique(db: Database) -> None:
    store = SliceStore(db)
    record = _record("s1")
    await store.add(record)
    assert await store.get("s1") == record
    assert await store.by_request("alice", "r") == record
    with pytest.raises(AlreadyExists):
        await store.add(_record("s2"))
    failed = SliceRecord(
        **{**record.__dict__, "state": SliceState.FAILED, "error": ErrorStatus("ABORTED", "x")}
    )
    await store.save(failed)
    assert await store.get("s1") == failed
    assert await store.find("alice", states=frozenset({SliceState.ACTIVE})) == []
    assert await store.find(None) == [failed]


async def test_holds_count_the_slices_of_a_service(db: Database) -> None:
    store = SliceStore(db)
    for slice_id in ("a", "b"):
        await store.hold(SliceHold(slice_id, "cdn", "svc", "alice", NSD, shared=True))
    assert await store.holders("svc") == 2
    assert await store.shared_services("alice", NSD) == ["svc"]
    assert await store.shared_services("bob", NSD) == []
    assert await store.drop("a", "cdn") == ("svc", 1)
    assert await store.drop("a", "cdn") == ("", 0)
    assert await store.drop("b", "cdn") == ("svc", 0)
