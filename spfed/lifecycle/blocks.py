"""The spaces of top-level services and slices, drawn from the node's pools.

A service that arrives without an address space (a customer's request at the
top node) gets a *space*: an address block from ``addressing.service_pool``
(or ``service_pool_v6``), a range of VNIs from ``addressing.vni_pool`` and a
MAC block from ``addressing.mac_pool``; a slice draws its block from
``addressing.slice_pool`` (``slice_pool_v6``) instead. Sub-services bring the
space their upper SP gave them. Allocations are stored, so they survive a
restart, and released exactly on terminate; when one pool is dry, nothing of
the others is kept either.
"""

from __future__ import annotations

import asyncio
import ipaddress
from enum import Enum

from addressing import (
    IdPool,
    MacPool,
    PrefixPool,
    ServiceSpace,
    parse_id_range,
    parse_mac_block,
    parse_network,
)
from spfed.config import AddressingConfig
from spfed.errors import FieldViolation, InvalidArgument
from spfed.storage import AddressStore, StoredAllocation

__all__ = [
    "MAC_POOL",
    "POOL_NAME",
    "POOL_NAME_V6",
    "SLICE_POOL",
    "SLICE_POOL_V6",
    "VNI_POOL",
    "Purpose",
    "ServiceBlocks",
]

POOL_NAME = "services"
POOL_NAME_V6 = "services-v6"
SLICE_POOL = "slices"
SLICE_POOL_V6 = "slices-v6"
VNI_POOL = "vnis"
MAC_POOL = "macs"


class Purpose(Enum):
    """What a space is for: its block comes from that purpose's pools."""

    SERVICE = "service"
    SLICE = "slice"


_ADDRESS_POOLS = (
    # purpose, IP version, pool name, configured prefix, configured block length
    (Purpose.SERVICE, 4, POOL_NAME, "service_pool", "service_prefix_length"),
    (Purpose.SERVICE, 6, POOL_NAME_V6, "service_pool_v6", "service_prefix_length_v6"),
    (Purpose.SLICE, 4, SLICE_POOL, "slice_pool", "slice_prefix_length"),
    (Purpose.SLICE, 6, SLICE_POOL_V6, "slice_pool_v6", "slice_prefix_length_v6"),
)


class ServiceBlocks:
    """The node's pools of spaces: addresses (services and slices, IPv4 and IPv6), VNIs, MACs.

    Raises (constructor):
        InvalidArgument: a pool in the configuration does not parse; names the field.
    """

    def __init__(self, config: AddressingConfig, store: AddressStore) -> None:
        self._config = config
        self._store = store
        self._blocks: dict[tuple[Purpose, int], tuple[PrefixPool, int]] = {}
        for purpose, version, name, where, length_field in _ADDRESS_POOLS:
            text = getattr(config, where)
            length = getattr(config, length_field)
            network = parse_network(text, field=f"addressing.{where}")
            if network.version != version:
                raise InvalidArgument(
                    f"addressing.{where} {text} is not IPv{version}",
                    field_violations=[
                        FieldViolation(f"addressing.{where}", f"an IPv{version} prefix")
                    ],
                )
            self._blocks[(purpose, version)] = (
                PrefixPool(name, network),
                max(length, network.prefixlen),
            )
        self._vnis = IdPool(VNI_POOL, parse_id_range(config.vni_pool, field="addressing.vni_pool"))
        self._macs = MacPool(
            MAC_POOL, parse_mac_block(config.mac_pool, field="addressing.mac_pool")
        )
        self._lock = asyncio.Lock()

    @property
    def _address_pools(self) -> list[PrefixPool]:
        return [pool for pool, _ in self._blocks.values()]

    async def start(self) -> None:
        """Restore the stored allocations."""
        by_name = {pool.name: pool for pool in self._address_pools}
        for alloc in await self._store.all():
            if alloc.pool in by_name:
                by_name[alloc.pool].reserve(parse_network(alloc.prefix), alloc.owner)
            elif alloc.pool == VNI_POOL:
                self._vnis.reserve(parse_id_range(alloc.prefix), alloc.owner)
            elif alloc.pool == MAC_POOL:
                self._macs.reserve(parse_mac_block(alloc.prefix), alloc.owner)

    async def allocate(
        self, owner: str, *, ip_version: int = 4, purpose: Purpose = Purpose.SERVICE
    ) -> ServiceSpace:
        """A fresh space for ``owner``, stored before it is returned.

        Raises:
            ResourceExhausted: a pool has no room left; names the pool. Nothing
                is left allocated.
        """
        async with self._lock:
            cfg = self._config
            pool, length = self._blocks[(purpose, 6 if ip_version == 6 else 4)]
            try:
                block = pool.allocate(length, owner)
                vnis = self._vnis.allocate(cfg.service_vnis, owner)
                macs = self._macs.allocate(
                    max(cfg.service_mac_prefix_length, self._macs.block.length), owner
                )
                await self._store.add(
                    [
                        StoredAllocation(pool.name, str(block), owner, f"{purpose.value} block"),
                        StoredAllocation(VNI_POOL, str(vnis), owner, f"{purpose.value} VNIs"),
                        StoredAllocation(MAC_POOL, str(macs), owner, f"{purpose.value} MACs"),
                    ]
                )
            except BaseException:
                self._forget(owner)
                raise
            return ServiceSpace(
                block=str(block),
                vnis=vnis,
                macs=str(macs),
                port_id_prefix="",
                mtu=cfg.mtu,
            )

    async def allocate_ids(self, owner: str) -> ServiceSpace:
        """VNIs and a MAC block only (for a sub-service whose upper SP gave only a block);
        the space's block is "".

        Raises:
            ResourceExhausted: a pool has no room left; nothing is left allocated.
        """
        async with self._lock:
            cfg = self._config
            try:
                vnis = self._vnis.allocate(cfg.service_vnis, owner)
                macs = self._macs.allocate(
                    max(cfg.service_mac_prefix_length, self._macs.block.length), owner
                )
                await self._store.add(
                    [
                        StoredAllocation(VNI_POOL, str(vnis), owner, "service VNIs"),
                        StoredAllocation(MAC_POOL, str(macs), owner, "service MACs"),
                    ]
                )
            except BaseException:
                self._forget(owner)
                raise
            return ServiceSpace("", vnis, str(macs), "", cfg.mtu)

    async def allocate_link(self, owner: str, *, ip_version: int = 4) -> tuple[str, int]:
        """A transit subnet (/31, or /127 for IPv6) from the slice pool and one VNI, for
        ``owner`` (one owner per link), stored before they are returned;
        ``release(owner)`` frees them.

        Raises:
            ResourceExhausted: the slice pool or the VNI pool is dry; names the pool.
                Nothing of ``owner``'s is left allocated.
        """
        async with self._lock:
            pool, _ = self._blocks[(Purpose.SLICE, 6 if ip_version == 6 else 4)]
            try:
                block = pool.allocate(pool.prefix.max_prefixlen - 1, owner)
                vni = self._vnis.allocate(1, owner)
                await self._store.add(
                    [
                        StoredAllocation(pool.name, str(block), owner, "slice link"),
                        StoredAllocation(VNI_POOL, str(vni), owner, "slice link VNI"),
                    ]
                )
            except BaseException:
                self._forget(owner)
                raise
            return str(block), vni.first

    def holder_of(self, address: str) -> str:
        """The node's address pool an address lies in ("" for none)."""
        try:
            ip = ipaddress.ip_interface(address).ip
        except ValueError:
            return ""
        for pool in self._address_pools:
            if ip.version == pool.prefix.version and ip in pool.prefix:
                return f"{pool.name} ({pool.prefix})"
        return ""

    def _forget(self, owner: str) -> None:
        for pool in self._address_pools:
            pool.release(owner)
        self._vnis.release(owner)
        self._macs.release(owner)

    async def release(self, owner: str) -> None:
        """Return everything ``owner`` holds to the pools (idempotent)."""
        async with self._lock:
            await self._store.release_owner(owner)
            self._forget(owner)

    def usage(self) -> list[tuple[str, int, int]]:
        """(pool name, allocated, size) of every pool: addresses, VNIs, MACs."""
        out = [(pool.name, *pool.counts()) for pool in self._address_pools]
        return [*out, (self._vnis.name, *self._vnis.counts()), (MAC_POOL, *self._macs.counts())]

    def held(self) -> dict[str, str]:
        """Everything allocated (block, VNI range or MAC block, as text) and its owner."""
        out = {str(n): o for pool in self._address_pools for n, o in pool.allocated().items()}
        out |= {str(r): o for r, o in self._vnis.allocated().items()}
        out |= self._macs.allocated()
        return out
