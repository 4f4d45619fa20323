"""How the CLI (and the demo) shows services, events and errors to people and scripts.

``service_tree`` draws a service record across every operator it reaches;
``follow`` watches a service until it settles and shows live progress, one
row per operator path; ``event_line`` is the one-line form of an event for
logs; ``error_lines`` is what a domain error looks like on a terminal;
``json_form`` is the JSON form of any domain object.

Nothing here forces a terminal: on a pipe or a file (CI logs), rich prints
plain text without colours or cursor movement, and ``follow`` prints one
line per event instead of animating.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from spfed.errors import SpfedError
from spfed.model import (
    AddressConstraint,
    ErrorStatus,
    PartKind,
    ServiceEvent,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
    UnitRecord,
    VnfRecord,
)

if TYPE_CHECKING:
    from spfed.client import PlatformClient

__all__ = [
    "error_json",
    "error_lines",
    "event_line",
    "follow",
    "json_form",
    "json_text",
    "make_console",
    "service_tree",
    "services_table",
    "state_text",
]

_STATE_STYLES = {
    ServiceState.INSTANTIATING: "yellow",
    ServiceState.ACTIVE: "bold green",
    ServiceState.TERMINATING: "yellow",
    ServiceState.TERMINATED: "dim",
    ServiceState.FAILED: "bold red",
}
_LOG_LENGTH = 3
"""Events kept per operator path in the live progress."""
_LOG_WIDTH = 200
"""Width of output to a pipe or a file (unless $COLUMNS says): a log is not a screen."""


def make_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that never forces a terminal.

    On a pipe or a file it prints plain text, no colours, no cursor
    movement, and wraps at ``_LOG_WIDTH`` columns instead of 80.
    """
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = _LOG_WIDTH
    return console


# --- JSON -------------------------------------------------------------------------------------


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(kind: type) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def json_form(obj: object) -> Any:
    """The JSON-ready form of a domain object (dataclass), or of a list of them.

    Enums become their values, datetimes ISO 8601 strings, tuples lists.
    """
    if isinstance(obj, list | tuple):
        return [json_form(item) for item in obj]
    return _adapter(type(obj)).dump_python(obj, mode="json")


def json_text(obj: object, *, indent: int | None = 2) -> str:
    """``json_form`` as text: indented by default, one line with ``indent=None``."""
    return json.dumps(json_form(obj), indent=indent)


# --- errors -----------------------------------------------------------------------------------


def _status(error: SpfedError | ErrorStatus) -> ErrorStatus:
    return ErrorStatus.from_error(error) if isinstance(error, SpfedError) else error


def error_lines(error: SpfedError | ErrorStatus) -> list[str]:
    """``CODE at op/path: message``, then one indented line per field or quota violation."""
    status = _status(error)
    lines = [status.describe()]
    lines += [f"  {v.field}: {v.description}" for v in status.field_violations]
    lines += [f"  {v.subject}: {v.description}" for v in status.quota_violations]
    return lines


def error_json(error: SpfedError | ErrorStatus, **extra: object) -> dict[str, Any]:
    """``{"error": {code, message, field_violations, quota_violations, origin}, **extra}``."""
    return {"error": json_form(_status(error)), **extra}


# --- the service tree -------------------------------------------------------------------------


def state_text(state: ServiceState | None) -> Text:
    """A service state, coloured."""
    if state is None:
        return Text("-", style="dim")
    return Text(state.value, style=_STATE_STYLES[state])


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _constraints(label: str, constraints: Iterable[AddressConstraint]) -> Text | None:
    points = [f"{c.connection_point} → {c.prefix}" for c in constraints]
    if not points:
        return None
    return Text.assemble((f"{label}: ", "dim"), ", ".join(points))


def _record_label(record: ServiceRecord) -> Text:
    label = Text.assemble(
        (record.operator, "bold cyan"), "  ", state_text(record.state), "  ", str(record.descriptor)
    )
    if record.name:
        label.append(f'  "{record.name}"')
    label.append(f"  id {record.id}", style="dim")
    if record.address_space:
        label.append(f"  space {record.address_space}")
    return label


def _add_record(node: Tree, record: ServiceRecord, given: tuple[AddressConstraint, ...]) -> None:
    """Fill ``node`` with a record's error, constraints and parts (recursively)."""
    if record.error is not None:
        lines = error_lines(record.error)
        node.add(Text("\n".join([f"✗ {lines[0]}", *(f"  {line}" for line in lines[1:])]), "red"))
    # A lower SP's own constraints repeat those its part was given; show them once.
    if record.constraints != given:
        points = _constraints("points", record.constraints)
        if points is not None:
            node.add(points)
    for part in record.parts:
        _add_part(node, part)


def _add_part(node: Tree, part: ServicePart) -> None:
    label = Text.assemble((part.kind.value, "magenta"), " ", (part.id, "bold"))
    if part.kind is PartKind.LOCAL:
        label.append(f"  PoP {part.pop}")
    else:
        label.append(f"  lower SP {part.lower_sp}")
        if part.remote_service_id:
            label.append(f"  remote id {part.remote_service_id}", style="dim")
    if part.members:
        label.append(f"  members {', '.join(part.members)}")
    if part.address_space:
        label.append(f"  space {part.address_space}")
    branch = node.add(label)
    given = _constraints("constraints", part.constraints)
    if given is not None:
        branch.add(given)
    if part.kind is PartKind.LOCAL:
        for vnf in part.vnfs:
            _add_vnf(branch, vnf)
    elif part.remote is None:
        branch.add(Text("(no view of the sub-service from the lower SP)", style="dim"))
    else:
        _add_record(branch.add(_record_label(part.remote)), part.remote, part.constraints)


def _add_vnf(node: Tree, vnf: VnfRecord) -> None:
    branch = node.add(Text.assemble((vnf.vnf_id, "bold"), "  ", str(vnf.descriptor)))
    for unit in vnf.units:
        branch.add(_unit(unit))


def _unit(unit: UnitRecord) -> RenderableType:
    head = Text.assemble(
        ("unit ", "dim"),
        (unit.unit_id, "bold"),
        f"  {unit.resources}",
        (f"  server {unit.server_id}", "dim"),
    )
    if not unit.ports:
        return head
    ports = Table.grid(padding=(0, 2))
    for _ in range(3):
        ports.add_column(no_wrap=True)
    for port in unit.ports:
        ports.add_row(
            port.connection_point, Text(port.virtual_link, style="dim"), port.address or "-"
        )
    return Group(head, ports)


def service_tree(record: ServiceRecord) -> Tree:
    """The whole service across operators.

    Each operator's node shows its state, descriptor, id and address space,
    and its error if it failed; each part its kind, PoP or lower SP, members
    and the address constraints it got; local parts list their VNFs, units
    and ports (connection point, link, address); delegated parts nest the
    lower SP's own record, recursively.
    """
    tree = Tree(_record_label(record), guide_style="dim")
    _add_record(tree, record, ())
    return tree


def services_table(records: Iterable[ServiceRecord]) -> Table:
    """One row per service: id, name, descriptor, state, created, parts (their ids)."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "name", "descriptor", "state", "created", "parts"):
        table.add_column(column, no_wrap=column in ("id", "created"))
    for r in records:
        parts = ", ".join(p.id for p in r.parts)
        table.add_row(
            r.id, r.name, str(r.descriptor), state_text(r.state), _when(r.create_time), parts
        )
    return table


# --- events -----------------------------------------------------------------------------------


def _what(event: ServiceEvent) -> Text:
    """What an event says, without where and when."""
    kind = event.kind
    message = event.message
    if kind is ServiceEventKind.STATE_CHANGED:
        text = Text.assemble("● ", state_text(event.state))
        if event.state is not None and message.startswith(event.state.value):
            # "active across 3 parts": the message goes on from the state word
            text.append(message.removeprefix(event.state.value))
            message = ""
    elif kind is ServiceEventKind.TASK_STARTED:
        text = Text(f"▶ {event.task}")
    elif kind is ServiceEventKind.TASK_SUCCEEDED:
        text = Text.assemble(("✓ ", "green"), event.task)
    elif kind is ServiceEventKind.TASK_FAILED:
        text = Text(f"✗ {event.task}", style="red")
    elif kind is ServiceEventKind.TASK_COMPENSATED:
        text = Text(f"↺ {event.task} undone", style="yellow")
    elif len(event.origin) <= 1 and event.part_id:
        text = Text(f"{event.part_id}:", style="magenta")
    else:  # below the node, part_id names the node's own part, not the emitter's
        text = Text("◆", style="magenta")
    if message:
        text.append(f" {message}" if kind is ServiceEventKind.PART_CHANGED else f"  {message}")
    if event.error is not None:
        text.append(f"  {event.error.describe()}", style="red")
    return text


def event_line(event: ServiceEvent) -> Text:
    """``  12 22:24:56.708 retail/wholesale-eu  ✓ plan_addresses``: one event for a log."""
    when = event.time.strftime("%H:%M:%S.%f")[:-3]
    return Text.assemble(
        (f"{event.sequence:>4} {when} ", "dim"),
        (f"{'/'.join(event.origin):<28}", "cyan"),
        " ",
        _what(event),
    )


@dataclass
class _Row:
    """What one operator path is doing, for the live progress."""

    state: ServiceState | None = None
    running: list[str] = field(default_factory=list)
    last: Text = field(default_factory=Text)
    log: deque[Text] = field(default_factory=lambda: deque(maxlen=_LOG_LENGTH))


class _Progress:
    """Rows by operator path, fed with events; renders as a table."""

    def __init__(self, service_id: str, node: str) -> None:
        self.service_id = service_id
        self.node = node
        self.rows: dict[tuple[str, ...], _Row] = {}
        self.started = time.monotonic()
        self.count = 0

    def add(self, event: ServiceEvent) -> None:
        if not self.rows and event.origin:
            self.node = f"{event.origin[0]} ({self.node})"
        row = self.rows.setdefault(event.origin, _Row())
        self.count += 1
        if event.kind is ServiceEventKind.STATE_CHANGED:
            row.state = event.state
        elif event.kind is ServiceEventKind.TASK_STARTED:
            row.running.append(event.task)
            return  # the task column shows it; the log keeps what finished or changed
        elif event.task in row.running:
            row.running.remove(event.task)
        if event.task:
            row.last = _what(event)
            row.last.truncate(40, overflow="ellipsis")
        row.log.append(_what(event))

    def render(self) -> Table:
        elapsed = time.monotonic() - self.started
        table = Table(
            title=f"service {self.service_id} at {self.node}",
            title_justify="left",
            caption=f"{self.count} events, {elapsed:.1f} s",
            caption_justify="left",
            header_style="bold",
        )
        # The log gives way on a narrow terminal; where and how far each operator is do not.
        paths = ["/".join(origin) for origin in self.rows]
        table.add_column(
            "operator", style="cyan", no_wrap=True, min_width=max(map(len, paths), default=8)
        )
        table.add_column("state", no_wrap=True, min_width=len(ServiceState.INSTANTIATING.value))
        table.add_column("task", no_wrap=True, min_width=24)
        table.add_column("recent events")  # collapsible; its lines are cut, not wrapped
        for origin in sorted(self.rows):
            row = self.rows[origin]
            task = Text(f"▶ {', '.join(row.running)}", style="yellow") if row.running else row.last
            log = Text("\n").join(row.log)
            log.no_wrap, log.overflow = True, "ellipsis"
            table.add_row("/".join(origin), state_text(row.state), task, log)
        return table


async def follow(
    client: PlatformClient,
    service_id: str,
    console: Console,
    *,
    json_lines: bool = False,
    after: int = 0,
    operation_id: str = "",
) -> ServiceRecord:
    """Watch a service's events until its record at the node settles; return the final record.

    On a terminal, shows live progress (``rich.live.Live``): one row per
    operator path with its state, its current task(s) and its last events.
    Elsewhere (a pipe, a CI log) prints one ``event_line`` per event, and
    with ``json_lines`` one JSON object per event, on ``console``'s file.
    ``operation_id`` shows only the events of that operation (the history
    of earlier operations is skipped, not shown).

    Raises:
        SpfedError: the node failed the watch or the final read.
    """
    events = client.watch_service(service_id, after=after, until_settled=True)
    if json_lines:
        async for event in events:
            if not operation_id or event.operation_id == operation_id:
                console.file.write(json_text(event, indent=None) + "\n")
                console.file.flush()
    elif console.is_terminal and not console.is_dumb_terminal:
        progress = _Progress(service_id, client.id)
        with Live(
            progress.render(),
            console=console,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        ) as live:
            async for event in events:
                if not operation_id or event.operation_id == operation_id:
                    progress.add(event)
                    live.update(progress.render(), refresh=True)
    else:
        async for event in events:
            if not operation_id or event.operation_id == operation_id:
                console.print(event_line(event), soft_wrap=True)
    return await client.get_service(service_id)
