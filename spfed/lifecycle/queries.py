"""The read side of the service lifecycle: services, operations and event streams.

Every query is scoped to the caller: a customer sees its own services, an
operator every service of the node, and another customer's service is
NOT_FOUND (and audited), so nothing leaks about what others run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace

from spfed.errors import InvalidArgument, NotFound
from spfed.lifecycle.runtime import NodeRuntime
from spfed.model import Operation, Principal, ServiceEvent, ServiceRecord

__all__ = ["ServiceQueries"]

audit = logging.getLogger("spfed.audit")
_DEFAULT_PAGE = 50
_MAX_PAGE = 500


def _hidden(caller: Principal, service_id: str, owner: str | None) -> NotFound:
    """NOT_FOUND for a missing service, and for another customer's (audited: nothing leaks)."""
    if owner is not None:
        audit.warning(
            "event=foreign_service_refused account=%s service=%s code=NOT_FOUND",
            caller.account,
            service_id,
        )
    return NotFound(f"service {service_id} not found")


class ServiceQueries:
    """What a node answers about its services, for one caller at a time."""

    def __init__(self, rt: NodeRuntime) -> None:
        self.rt = rt

    async def get_service(
        self, caller: Principal, service_id: str, *, remote: bool = True
    ) -> ServiceRecord:
        """A service of the caller's (any service, for an operator), with its tree.

        Raises:
            NotFound: no such service, or it belongs to someone else.
        """
        record = await self.rt.services.get_service(service_id)
        if record is None or not caller.owns(record.owner):
            raise _hidden(caller, service_id, record.owner if record else None)
        record = replace(record, operator=self.rt.node_id)
        if not remote:
            record = replace(record, parts=tuple(replace(p, remote=None) for p in record.parts))
        return record

    async def list_services(
        self, caller: Principal, *, include_inactive: bool, page_size: int, page_token: str
    ) -> tuple[list[ServiceRecord], str]:
        """One page of the caller's services, newest first, and the next page token.

        Raises:
            InvalidArgument: a malformed page token.
        """
        try:
            offset = int(page_token) if page_token else 0
        except ValueError:
            raise InvalidArgument("page_token is malformed; pass the one a response gave") from None
        size = min(page_size or _DEFAULT_PAGE, _MAX_PAGE)
        rows = await self.rt.services.list_services(
            None if caller.sees_every_service else caller.account,
            include_inactive=include_inactive,
            limit=size + 1,
            offset=offset,
        )
        page = [replace(r, operator=self.rt.node_id) for r in rows[:size]]
        return page, str(offset + size) if len(rows) > size else ""

    async def watch(
        self,
        caller: Principal,
        service_id: str,
        after: int,
        until_settled: bool,
        milestones: bool = False,
    ) -> AsyncIterator[ServiceEvent]:
        """A service's events after ``after``; see ``EventLog.watch``.

        Raises:
            NotFound: no such service for this caller.
        """
        await self._check_owner(caller, service_id)
        async for event in self.rt.events.watch(
            service_id, after, settled_at=self.rt.node_id if until_settled else None
        ):
            if not milestones or event.kind.milestone:
                yield event

    async def get_operation(self, caller: Principal, operation_id: str) -> Operation:
        """An operation on one of the caller's services.

        Raises:
            NotFound: no such operation for this caller.
        """
        op = await self._operation(operation_id)
        await self._check_owner(caller, op.service_id)
        return op

    async def _check_owner(self, caller: Principal, service_id: str) -> None:
        """Raises NotFound unless the service exists and the caller may see it."""
        found = await self.rt.services.owner_of(service_id)
        if found is None or not caller.owns(found):
            raise _hidden(caller, service_id, found)

    async def _operation(self, operation_id: str) -> Operation:
        op = await self.rt.services.get_operation(operation_id)
        if op is None:
            raise NotFound(f"operation {operation_id} not found")
        return op
