"""A lower-SP client that hands every call to the real one: the base of the test doubles
that stand behind the ``upper_sp.delegation.LowerSp`` interface (no ``mock.patch``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from spfed.model import Catalogue, InstantiateRequest, Operation, ServiceEvent, ServiceRecord
from upper_sp.delegation import LowerSp

__all__ = ["Relaying"]


class Relaying:
    """A lower SP client that hands every call to the real one."""

    def __init__(self, inner: LowerSp) -> None:
        self.id = inner.id
        self.inner = inner

    async def instantiate(self, request: InstantiateRequest) -> Operation:
        return await self.inner.instantiate(request)

    def watch_service(
        self,
        service_id: str,
        *,
        after: int = 0,
        until_settled: bool = False,
        milestones: bool = False,
    ) -> AsyncGenerator[ServiceEvent, None]:
        return self.inner.watch_service(
            service_id, after=after, until_settled=until_settled, milestones=milestones
        )

    async def get_service(self, service_id: str) -> ServiceRecord:
        return await self.inner.get_service(service_id)

    async def terminate(self, service_id: str, request_id: str = "") -> Operation:
        return await self.inner.terminate(service_id, request_id)

    async def list_services(
        self, *, include_inactive: bool = False, page_size: int = 0
    ) -> list[ServiceRecord]:
        return await self.inner.list_services(
            include_inactive=include_inactive, page_size=page_size
        )

    async def get_catalogue(self) -> Catalogue:
        return await self.inner.get_catalogue()

    def watch_catalogue(self, after_version: int = 0) -> AsyncGenerator[Catalogue, None]:
        return self.inner.watch_catalogue(after_version)

    async def close(self) -> None:
        await self.inner.close()
