"""What exists of a prefix, and removing all of it: crash recovery and test teardown.

Both need nothing but the prefix (see ``names``): every namespace the fabric creates
is named ``{prefix}-...``, and so is every interface. ``cleanup`` deletes the
namespaces (which deletes what is in them, and the far ends of their veth pairs) and
any interface of the prefix left in the caller's own namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from spfed.errors import NotFound

from .ip import IpRoute, JsonObject
from .names import check_prefix, owned_by

__all__ = ["Inventory", "LinkInfo", "NamespaceInventory", "cleanup", "inventory", "link_info"]


@dataclass(frozen=True)
class LinkInfo:
    """One interface as the kernel reports it."""

    name: str
    """Interface name."""
    kind: str
    """``veth``, ``bridge``, ``vxlan``...; ``""`` for devices without one (``lo``)."""
    master: str
    """The bridge it is enslaved to, or ""."""
    alias: str
    """Its alias (the fabric writes ``spfed:<labels>``), or ""."""
    up: bool
    """Whether it is administratively up."""
    mtu: int
    """Its MTU."""


@dataclass(frozen=True)
class NamespaceInventory:
    """One namespace of the prefix and its interfaces."""

    name: str
    """The netns name."""
    links: tuple[LinkInfo, ...]
    """Its interfaces, ``lo`` included."""


@dataclass(frozen=True)
class Inventory:
    """Everything of one prefix that exists right now."""

    prefix: str
    """The prefix listed."""
    namespaces: tuple[NamespaceInventory, ...]
    """Namespaces named after the prefix."""
    stray_links: tuple[LinkInfo, ...]
    """Interfaces named after the prefix in the caller's own namespace (normally none)."""

    @property
    def empty(self) -> bool:
        """Whether nothing of the prefix is left."""
        return not self.namespaces and not self.stray_links

    def links(self, namespace: str) -> tuple[LinkInfo, ...]:
        """The interfaces of ``namespace`` (empty if it is not there)."""
        for entry in self.namespaces:
            if entry.name == namespace:
                return entry.links
        return ()


def link_info(entry: JsonObject) -> LinkInfo:
    """The ``LinkInfo`` of one object of ``ip -j -d link show``."""
    linkinfo = entry.get("linkinfo") or {}
    return LinkInfo(
        name=str(entry.get("ifname", "")),
        kind=str(linkinfo.get("info_kind", "")),
        master=str(entry.get("master", "")),
        alias=str(entry.get("ifalias", "")),
        up="UP" in (entry.get("flags") or []),
        mtu=int(entry.get("mtu", 0)),
    )


async def _namespaces(ip: IpRoute, prefix: str) -> list[str]:
    return sorted(
        name
        for entry in await ip.ip_json("netns", "list")
        if owned_by(prefix, name := str(entry.get("name", "")))
    )


async def _links(ip: IpRoute, netns: str | None) -> tuple[LinkInfo, ...]:
    return tuple(link_info(entry) for entry in await ip.ip_json("-d", "link", "show", netns=netns))


async def inventory(prefix: str, *, ip: IpRoute | None = None) -> Inventory:
    """What exists of ``prefix``: its namespaces with their interfaces, and stray interfaces.

    Raises:
        InvalidArgument: the prefix is malformed.
        FailedPrecondition: ``ip`` is missing or not permitted.
    """
    check_prefix(prefix)
    ip = ip or IpRoute()
    found: list[NamespaceInventory] = []
    for name in await _namespaces(ip, prefix):
        try:
            found.append(NamespaceInventory(name, await _links(ip, name)))
        except NotFound:
            continue  # deleted meanwhile
    stray = tuple(link for link in await _links(ip, None) if owned_by(prefix, link.name))
    return Inventory(prefix, tuple(found), stray)


async def _delete_namespace(ip: IpRoute, name: str) -> None:
    with contextlib.suppress(NotFound):
        await ip.ip("netns", "delete", name)


async def cleanup(prefix: str, *, ip: IpRoute | None = None) -> None:
    """Delete every namespace and stray interface of ``prefix``; nothing there is success.

    For crash recovery and test teardown: it needs no handle. Processes still running
    in a deleted namespace keep it alive (unnamed) until they exit.

    Raises:
        InvalidArgument: the prefix is malformed.
        FailedPrecondition: ``ip`` is missing or not permitted.
    """
    check_prefix(prefix)
    ip = ip or IpRoute()
    await asyncio.gather(*(_delete_namespace(ip, name) for name in await _namespaces(ip, prefix)))
    for link in await _links(ip, None):
        if owned_by(prefix, link.name):
            with contextlib.suppress(NotFound):
                await ip.ip("link", "delete", "dev", link.name)
