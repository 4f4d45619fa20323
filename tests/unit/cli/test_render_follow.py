"""``event_line`` and ``follow``: lifecycle events for logs, scripts and terminals."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

from rich.console import Console

from spfed.cli._render import event_line, follow
from spfed.model import ServiceEvent, ServiceEventKind, ServiceRecord, ServiceState
from tests.unit.cli import records

K = ServiceEventKind
RETAIL = ("retail",)
WEU = ("retail", "wholesale-eu")
EDGE = ("retail", "wholesale-eu", "edge-be")


class RecordedNode:
    """Stands in for a ``PlatformClient``: a fixed event log and a final record."""

    id = "127.0.0.1:7000"

    def __init__(self, events: list[ServiceEvent], record: ServiceRecord) -> None:
        self.events = events
        self.record = record
        self.watched: list[tuple[str, int, bool]] = []

    async def watch_service(
        self, service_id: str, *, after: int = 0, until_settled: bool = False
    ) -> AsyncIterator[ServiceEvent]:
        self.watched.append((service_id, after, until_settled))
        for event in self.events:
            if event.sequence > after:
                yield event

    async def get_service(self, service_id: str) -> ServiceRecord:
        assert service_id == self.record.id
        return self.record


def _instantiation() -> list[ServiceEvent]:
    e = records.event
    return [
        e(1, RETAIL, K.STATE_CHANGED, state=ServiceState.INSTANTIATING, message="admitted"),
        e(2, RETAIL, K.TASK_STARTED, task="delegate_subservices"),
        e(3, WEU, K.STATE_CHANGED, state=ServiceState.INSTANTIATING, message="admitted"),
        e(4, WEU, K.TASK_STARTED, task="deploy_local"),
        e(5, EDGE, K.STATE_CHANGED, state=ServiceState.INSTANTIATING, message="admitted"),
        e(6, EDGE, K.TASK_STARTED, task="deploy_local"),
        e(7, EDGE, K.PART_CHANGED, message="deployed 2 functions on PoP bru"),
        e(8, EDGE, K.TASK_SUCCEEDED, task="deploy_local"),
        e(9, EDGE, K.STATE_CHANGED, state=ServiceState.ACTIVE, message="active across 1 parts"),
        e(10, WEU, K.TASK_SUCCEEDED, task="deploy_local"),
        e(11, WEU, K.STATE_CHANGED, state=ServiceState.ACTIVE, message="active across 2 parts"),
        e(12, RETAIL, K.TASK_SUCCEEDED, task="delegate_subservices"),
        e(13, RETAIL, K.STATE_CHANGED, state=ServiceState.ACTIVE, message="active across 2 parts"),
    ]


def test_event_line_shows_sequence_time_origin_and_what_happened(
    render: Callable[..., str],
) -> None:
    e = records.event
    assert render(event_line(e(12, EDGE, K.TASK_STARTED, task="deploy_local"))) == (
        "  12 09:30:00.012 retail/wholesale-eu/edge-be  ▶ deploy_local"
    )
    assert render(event_line(e(3, RETAIL, K.TASK_SUCCEEDED, task="place"))).endswith(
        "retail                       ✓ place"
    )
    active = e(9, WEU, K.STATE_CHANGED, state=ServiceState.ACTIVE, message="active across 2 parts")
    assert render(event_line(active)).endswith(
        "retail/wholesale-eu          ● active across 2 parts"
    )
    admitted = e(1, RETAIL, K.STATE_CHANGED, state=ServiceState.INSTANTIATING, message="admitted")
    assert render(event_line(admitted)).endswith("● instantiating  admitted")
    part = e(7, RETAIL, K.PART_CHANGED, message="deployed 2 functions")
    part = replace(part, part_id="pop:ams")
    assert render(event_line(part)).endswith(
        "retail                       pop:ams: deployed 2 functions"
    )
    below = e(7, EDGE, K.PART_CHANGED, message="deployed 2 functions")
    assert render(event_line(below)).endswith("retail/wholesale-eu/edge-be  ◆ deployed 2 functions")
    failed = e(8, EDGE, K.TASK_FAILED, task="deploy_local", error=records.FULL_POP)
    assert render(event_line(failed)).endswith(
        "✗ deploy_local  RESOURCE_EXHAUSTED at wholesale-eu/edge-be: no room for ns_cdn/vnf_cache"
    )


async def test_follow_into_a_pipe_prints_one_plain_line_per_event() -> None:
    node = RecordedNode(_instantiation(), records.retail())
    out = io.StringIO()
    record = await follow(node, "svc-retail", Console(file=out, width=200))  # type: ignore[arg-type]
    assert record == records.retail()
    assert node.watched == [("svc-retail", 0, True)]
    text = out.getvalue()
    assert "\x1b" not in text  # no colour, no cursor movement in a log
    lines = text.splitlines()
    assert len(lines) == 13
    assert lines[0].startswith("   1 09:30:00.001 retail ")
    assert lines[-1].endswith("● active across 2 parts")


async def test_follow_with_json_lines_prints_one_object_per_event() -> None:
    node = RecordedNode(_instantiation(), records.retail())
    out = io.StringIO()
    await follow(node, "svc-retail", Console(file=out), json_lines=True, after=10)  # type: ignore[arg-type]
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["sequence"] for e in events] == [11, 12, 13]
    assert events[0]["origin"] == ["retail", "wholesale-eu"]


async def test_follow_shows_only_the_operation_asked_for() -> None:
    earlier = records.event(
        1, RETAIL, K.STATE_CHANGED, state=ServiceState.ACTIVE, operation_id="op-0"
    )
    later = [
        records.event(2, RETAIL, K.STATE_CHANGED, state=ServiceState.TERMINATING),
        records.event(3, RETAIL, K.STATE_CHANGED, state=ServiceState.TERMINATED),
    ]
    node = RecordedNode([earlier, *later], records.retail())
    out = io.StringIO()
    await follow(node, "svc-retail", Console(file=out, width=200), operation_id="op-1")  # type: ignore[arg-type]
    assert [line.split()[0] for line in out.getvalue().splitlines()] == ["2", "3"]


async def test_follow_on_a_terminal_draws_one_row_per_operator_path() -> None:
    node = RecordedNode(_instantiation()[:-1], records.retail())
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=True, color_system=None)
    await follow(node, "svc-retail", console)  # type: ignore[arg-type]
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    last = text[text.rindex("service svc-retail at retail (127.0.0.1:7000)") :]
    rows = [line for line in last.splitlines() if line.startswith("│ retail")]
    assert [row.split("│")[1].strip() for row in rows] == [
        "retail",
        "retail/wholesale-eu",
        "retail/wholesale-eu/edge-be",
    ]
    retail, weu, edge = (row.split("│") for row in rows)
    assert retail[2].strip() == "instantiating"
    assert retail[3].strip() == "✓ delegate_subservices"
    assert weu[2].strip() == "active"
    assert edge[2].strip() == "active"
    assert "12 events" in last


async def test_follow_on_a_terminal_names_running_tasks() -> None:
    e = records.event
    events = [
        e(1, RETAIL, K.TASK_STARTED, task="deploy_local"),
        e(2, RETAIL, K.TASK_STARTED, task="delegate_subservices"),
    ]
    node = RecordedNode(events, records.retail())
    out = io.StringIO()
    console = Console(file=out, width=140, force_terminal=True, color_system=None)
    await follow(node, "svc-retail", console)  # type: ignore[arg-type]
    assert "▶ deploy_local, delegate_subservices" in out.getvalue()
