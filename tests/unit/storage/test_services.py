"""``ServiceStore`` round trips, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from spfed.errors import AlreadyExists, NotFound, QuotaViolation
from spfed.model import (
    AddressConstraint,
    ErrorStatus,
    OperationKind,
    OperationState,
    PartKind,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
    TaskState,
    UnitRecord,
    VnfRecord,
)
from spfed.storage import Database, NewOperation, RequestMatch, ServiceStore
from tests.unit.storage.records import NSD_REF, NewService, event, later, new_service, state_event

ERROR = ErrorStatus(
    "RESOURCE_EXHAUSTED",
    "PoP ams is full",
    quota_violations=(QuotaViolation("pop:ams", "4 vCPU asked, 1 free"),),
    origin=("wholesale", "edge"),
)


async def create(store: ServiceStore, new: NewService) -> list[int]:
    stored = await store.create_service(
        new.record,
        new.request,
        "hash-" + new.record.id,
        new.operation,
        [state_event(ServiceState.INSTANTIATING)],
    )
    return [e.sequence for e in stored]


async def test_a_created_service_reads_back(db: Database) -> None:
    store = ServiceStore(db)
    new = new_service("s1")
    stored = await store.create_service(
        new.record,
        new.request,
        "h",
        new.operation,
        [state_event(ServiceState.INSTANTIATING), event()],
    )
    assert [(e.sequence, e.service_id) for e in stored] == [(1, "s1"), (2, "s1")]
    record = await store.get_service("s1")
    assert record == new.record
    assert record is not None
    assert record.create_time.tzinfo is not None
    assert await store.request_of("s1") == new.request
    assert await store.get_operation("op-s1") == new.operation.operation
    assert await store.progress.run_context("op-s1") == '{"s":1}'
    assert await store.count_services() == 1


async def test_unknown_things_are_none_or_not_found(db: Database) -> None:
    store = ServiceStore(db)
    assert await store.get_service("nope") is None
    assert await store.get_operation("nope") is None
    assert await store.progress.run_context("nope") is None
    assert await store.find_request("alice", "nope") is None
    assert await store.running_operation("nope") is None
    assert await store.events_after("nope", 0) == []
    with pytest.raises(NotFound):
        await store.request_of("nope")


async def test_find_request_matches_owner_and_request_id(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1", request_id="r1"))
    assert await store.find_request("alice", "r1") == RequestMatch("s1", "hash-s1", "op-s1")
    assert await store.find_request("bob", "r1") is None


async def test_the_same_request_id_twice_for_one_owner_is_already_exists(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1", request_id="r1"))
    with pytest.raises(AlreadyExists):
        await create(store, new_service("s2", request_id="r1"))
    assert await store.get_service("s2") is None  # nothing of the second one was written
    assert await store.get_operation("op-s2") is None
    await create(store, new_service("s3", request_id="r1", owner="bob"))  # another owner: fine
    assert await store.count_services() == 2


async def test_events_get_consecutive_sequences_and_page(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1"))
    await create(store, new_service("s2"))
    more = await store.append_events("s1", [event(message=str(i)) for i in range(5)])
    assert [e.sequence for e in more] == [2, 3, 4, 5, 6]
    other = await store.append_events("s2", [event()])
    assert [e.sequence for e in other] == [2]  # per service
    assert await store.append_events("s1", []) == []
    page = await store.events_after("s1", 2, limit=3)
    assert [e.sequence for e in page] == [3, 4, 5]
    assert [e.message for e in page] == ["1", "2", "3"]
    assert page[0] == more[1]


async def test_writes_submitted_without_waiting_land_in_order(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1"))
    futures = [store.append_events("s1", [event(message=str(i))]) for i in range(20)]
    results = await asyncio.gather(*futures)
    assert [r[0].sequence for r in results] == list(range(2, 22))
    logged = await store.events_after("s1", 1)
    assert [e.message for e in logged] == [str(i) for i in range(20)]


async def test_a_failing_write_does_not_roll_back_the_others_sharing_its_commit(
    db: Database,
) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1", request_id="r1"))
    dup = new_service("s2", request_id="r1")
    first = store.append_events("s1", [event(message="before")])
    clash = store.create_service(dup.record, dup.request, "h", dup.operation, [])
    last = store.append_events("s1", [event(message="after")])
    done = await asyncio.gather(first, clash, last, return_exceptions=True)
    assert isinstance(done[1], AlreadyExists)
    assert [e.message for e in await store.events_after("s1", 1)] == ["before", "after"]


async def test_sequences_continue_from_the_log_after_a_restart(db: Database) -> None:
    await create(ServiceStore(db), new_service("s1"))
    await ServiceStore(db).append_events("s1", [event(), event()])
    restarted = ServiceStore(db)  # knows no sequence: reads the log's last one
    more = await restarted.append_events("s1", [event()])
    assert [e.sequence for e in more] == [4]


async def test_a_split_commit_leaves_sequences_without_duplicates(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1", request_id="r1"))
    dup = new_service("s2", request_id="r1")
    # One batch: events for s1 take sequences 2 and 3, then the clash rolls it all
    # back; each write re-runs alone, and the kept sequences must not collide.
    futures = [
        store.append_events("s1", [event(message="a")]),
        store.create_service(dup.record, dup.request, "h", dup.operation, []),
        store.append_events("s1", [event(message="b")]),
    ]
    done = await asyncio.gather(*futures, return_exceptions=True)
    assert isinstance(done[1], AlreadyExists)
    logged = await store.events_after("s1", 0)
    assert [e.message for e in logged][1:] == ["a", "b"]
    sequences = [e.sequence for e in logged]
    assert sequences == sorted(set(sequences))
    later_events = await store.append_events("s1", [event(message="c")])
    assert later_events[0].sequence > sequences[-1]


async def test_appending_to_an_unknown_service_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await ServiceStore(db).append_events("nope", [event()])


async def test_task_progress_context_and_events_are_written_together(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1"))
    stored = await store.progress.record_task(
        "s1",
        "op-s1",
        "place",
        TaskState.FAILED,
        2,
        ERROR,
        '{"s":2}',
        [event(ServiceEventKind.TASK_FAILED)],
    )
    assert [e.sequence for e in stored] == [2]
    op = await store.get_operation("op-s1")
    assert op is not None
    assert [(t.task, t.state, t.attempts, t.error) for t in op.tasks][:2] == [
        ("validate", TaskState.SUCCEEDED, 0, None),
        ("place", TaskState.FAILED, 2, ERROR),
    ]
    assert await store.progress.run_context("op-s1") == '{"s":2}'
    await store.progress.record_task("s1", "op-s1", "place", TaskState.RUNNING, 3, None, None, [])
    op = await store.get_operation("op-s1")
    assert op is not None
    assert op.tasks[1].error is None
    assert op.tasks[1].attempts == 3
    assert await store.progress.run_context("op-s1") == '{"s":2}'  # None leaves the context


PART = ServicePart(
    id="pop:ams",
    kind=PartKind.LOCAL,
    members=("fw",),
    pop="ams",
    vnfs=(VnfRecord("fw", NSD_REF, "ams", (UnitRecord("vdu", "srv-1"),)),),
)
REMOTE = ServiceRecord(
    "r1",
    "sub",
    NSD_REF,
    ServiceState.ACTIVE,
    "lower",
    "upper",
    "q",
    later(1),
    later(2),
    error=ERROR,
)
DELEGATED = ServicePart(
    id="sp:lower",
    kind=PartKind.DELEGATED,
    members=("ids",),
    lower_sp="lower",
    remote_service_id="r1",
    remote=REMOTE,
    constraints=(AddressConstraint("x", "10.0.0.0/25", "10.0.0.0/24", "10.0.0.1"),),
    address_space="10.1.0.0/19",
)


async def test_parts_are_put_replaced_ordered_and_removed(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1"))
    await store.put_part("s1", 1, PART)
    stored = await store.put_part("s1", 0, DELEGATED, [event(part_id="sp:lower")])
    assert [e.part_id for e in stored] == ["sp:lower"]
    record = await store.get_service("s1")
    assert record is not None
    assert record.parts == (DELEGATED, PART)
    moved = replace(PART, members=("fw", "nat"))
    await store.put_part("s1", 2, moved)
    record = await store.get_service("s1")
    assert record is not None
    assert record.parts == (DELEGATED, moved)
    await store.remove_part("s1", "sp:lower", [event()])
    await store.remove_part("s1", "sp:lower")  # idempotent
    record = await store.get_service("s1")
    assert record is not None
    assert record.parts == (moved,)


async def test_update_service_changes_only_what_is_given(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1"))
    constraints = (AddressConstraint("input", "10.9.0.0/25"),)
    await store.update_service("s1", address_space="10.1.0.0/16", constraints=constraints)
    await store.update_service("s1", state=ServiceState.FAILED, error=ERROR, events=[event()])
    record = await store.get_service("s1")
    assert record is not None
    assert (record.state, record.error, record.address_space, record.constraints) == (
        ServiceState.FAILED,
        ERROR,
        "10.1.0.0/16",
        constraints,
    )
    assert record.update_time != record.create_time  # stamped by the write


async def test_finish_operation_closes_it_and_settles_the_service(db: Database) -> None:
    store = ServiceStore(db)
    await create(store, new_service("s1"))
    assert (await store.running_operation("s1")) == (await store.get_operation("op-s1"))
    await store.set_operation_state("op-s1", OperationState.COMPENSATING)
    op = await store.get_operation("op-s1")
    assert op is not None
    assert op.state is OperationState.COMPENSATING
    stored = await store.finish_operation(
        "op-s1",
        OperationState.FAILED,
        ERROR,
        "s1",
        ServiceState.FAILED,
        ERROR,
        [state_event(ServiceState.FAILED)],
    )
    assert [e.state for e in stored] == [ServiceState.FAILED]
    op = await store.get_operation("op-s1")
    record = await store.get_service("s1")
    assert op is not None
    assert (op.state, op.error, op.done) == (OperationState.FAILED, ERROR, True)
    assert record is not None
    assert (record.state, record.error) == (ServiceState.FAILED, ERROR)
    assert await store.running_operation("s1") is None


async def test_a_terminate_operation_joins_the_service(db: Database) -> None:
    store = ServiceStore(db)
    new = new_service("s1")
    await create(store, new)
    await store.finish_operation(
        "op-s1", OperationState.SUCCEEDED, None, "s1", ServiceState.ACTIVE, None, []
    )
    terminate = NewOperation(
        replace(
            new.operation.operation,
            id="t1",
            kind=OperationKind.TERMINATE,
            create_time=later(5),
            update_time=later(5),
        ),
        "term-req",
        "terminate",
        (("release_addresses",),),
        "{}",
    )
    stored = await store.start_operation(
        terminate, ServiceState.TERMINATING, [state_event(ServiceState.TERMINATING)]
    )
    assert [e.sequence for e in stored] == [2]
    record = await store.get_service("s1")
    assert record is not None
    assert record.state is ServiceState.TERMINATING
    assert await store.find_operation("s1", OperationKind.TERMINATE) == "t1"
    assert await store.find_operation("s1", OperationKind.TERMINATE, "term-req") == "t1"
    assert await store.find_operation("s1", OperationKind.TERMINATE, "other") is None
    assert await store.find_operation("s1", OperationKind.INSTANTIATE) == "op-s1"
    running = await store.running_operation("s1")
    assert running is not None
    assert running.id == "t1"


async def test_unfinished_runs_are_found_oldest_first(db: Database) -> None:
    store = ServiceStore(db)
    for i, minutes in enumerate([3, 1, 2]):
        await create(store, new_service(f"s{i}", created=later(minutes)))
    await store.finish_operation(
        "op-s2", OperationState.SUCCEEDED, None, "s2", ServiceState.ACTIVE, None, []
    )
    await store.set_operation_state("op-s0", OperationState.COMPENSATING)
    runs = await store.progress.unfinished_runs()
    assert [r.operation.id for r in runs] == ["op-s1", "op-s0"]
    assert runs[0].workflow == "instantiate"
    assert runs[0].schedule == (("validate",), ("place",), ("deploy_local", "delegate_subservices"))
    assert runs[0].context == '{"s":1}'
    assert runs[1].operation.state is OperationState.COMPENSATING


async def test_list_services_filters_orders_and_pages(db: Database) -> None:
    store = ServiceStore(db)
    for i in range(5):
        await create(
            store, new_service(f"s{i}", owner="alice" if i % 2 == 0 else "bob", created=later(i))
        )
    await store.update_service("s4", state=ServiceState.TERMINATED)
    alice = await store.list_services("alice", include_inactive=True, limit=10, offset=0)
    assert [r.id for r in alice] == ["s4", "s2", "s0"]
    assert all(r.parts == () for r in alice)
    active = await store.list_services("alice", include_inactive=False, limit=10, offset=0)
    assert [r.id for r in active] == ["s2", "s0"]
    everyone = await store.list_services(None, include_inactive=True, limit=2, offset=1)
    assert [r.id for r in everyone] == ["s3", "s2"]


async def test_deleting_a_service_cascades(db: Database) -> None:
    from sqlalchemy import text

    store = ServiceStore(db)
    await create(store, new_service("s1"))
    await store.put_part("s1", 0, PART)
    await db.run(lambda conn: conn.execute(text("DELETE FROM services WHERE id = 's1'")))
    assert await store.get_operation("op-s1") is None
    assert await store.events_after("s1", 0) == []
    assert await store.progress.run_context("op-s1") is None
