"""A scripted lower SP behind the ``upper_sp.delegation.LowerSp`` protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

from spfed.errors import SpfedError
from spfed.model import (
    Catalogue,
    DescriptorRef,
    ErrorStatus,
    InstantiateRequest,
    Operation,
    OperationKind,
    OperationState,
    ServiceEvent,
    ServiceEventKind,
    ServiceRecord,
    ServiceState,
)
from tests.unit.upper_sp.builders import T0
from upper_sp.delegation import LowerSp

REMOTE_ID = "remote-1"


def state_event(
    seq: int, state: ServiceState, origin: tuple[str, ...], error: ErrorStatus | None = None
) -> ServiceEvent:
    return ServiceEvent(
        seq, REMOTE_ID, "op", T0, origin, ServiceEventKind.STATE_CHANGED, state=state, error=error
    )


def part_event(seq: int, part: str, origin: tuple[str, ...]) -> ServiceEvent:
    return ServiceEvent(
        seq, REMOTE_ID, "op", T0, origin, ServiceEventKind.PART_CHANGED, part_id=part
    )


def task_event(seq: int, task: str, origin: tuple[str, ...]) -> ServiceEvent:
    return ServiceEvent(
        seq, REMOTE_ID, "op", T0, origin, ServiceEventKind.TASK_SUCCEEDED, task=task
    )


def record(state: ServiceState, error: ErrorStatus | None = None) -> ServiceRecord:
    return ServiceRecord(
        REMOTE_ID,
        "sub",
        DescriptorRef("v", "n", "1"),
        state,
        "lower",
        "upper",
        "req",
        T0,
        T0,
        error=error,
    )


@dataclass
class FakeLowerSp:
    """Plays a script: what ``instantiate``/``terminate``/``list_services`` answer, which
    events stream.

    ``events`` are streamed (after the ``after`` the caller passes, and only milestones
    when the caller asks for milestones, like a real node); with ``hang`` the
    stream then waits forever, like a sub-service that never settles. ``open_streams``
    counts watch streams not yet closed, ``calls`` records every call in order.
    """

    id: str
    events: Sequence[ServiceEvent] = ()
    records: list[ServiceRecord] = field(default_factory=list)
    instantiate_error: SpfedError | None = None
    terminate_error: SpfedError | None = None
    listed: list[ServiceRecord] = field(default_factory=list)
    hang: bool = False
    calls: list[tuple[object, ...]] = field(default_factory=list)
    open_streams: int = 0

    def _operation(self, kind: OperationKind) -> Operation:
        return Operation("op", kind, REMOTE_ID, OperationState.RUNNING, T0, T0)

    async def instantiate(self, request: InstantiateRequest) -> Operation:
        self.calls.append(("instantiate", request.request_id))
        await asyncio.sleep(0)
        if self.instantiate_error is not None:
            raise self.instantiate_error
        return self._operation(OperationKind.INSTANTIATE)

    async def watch_service(
        self,
        service_id: str,
        *,
        after: int = 0,
        until_settled: bool = False,
        milestones: bool = False,
    ) -> AsyncIterator[ServiceEvent]:
        self.calls.append(("watch", service_id, after, until_settled, milestones))
        self.open_streams += 1
        try:
            for event in self.events:
                if event.sequence > after and (event.kind.milestone or not milestones):
                    await asyncio.sleep(0)
                    yield replace(event, service_id=service_id)
            if self.hang:
                await asyncio.Event().wait()
        finally:
            self.open_streams -= 1

    async def get_service(self, service_id: str) -> ServiceRecord:
        # Deliberately no await: the answer is ready, like a cached unary response.
        self.calls.append(("get", service_id))
        return self.records.pop(0) if len(self.records) > 1 else self.records[0]

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        self.calls.append(("terminate", service_id, request_id))
        await asyncio.sleep(0)
        if self.terminate_error is not None:
            raise self.terminate_error
        return self._operation(OperationKind.TERMINATE)

    async def list_services(
        self, *, include_inactive: bool = False, page_size: int = 0
    ) -> list[ServiceRecord]:
        self.calls.append(("list", include_inactive))
        await asyncio.sleep(0)
        return list(self.listed)

    async def get_catalogue(self) -> Catalogue:
        raise NotImplementedError

    def watch_catalogue(self, after_version: int = 0) -> AsyncIterator[Catalogue]:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def _conforms(lower: FakeLowerSp) -> LowerSp:
    return lower  # mypy checks the fake against the protocol here
