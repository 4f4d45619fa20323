"""Offers an operator withdrew: out of the catalogue, and out of placement, at once.

Withdrawing publishes a new version right away (no debounce) and returns it;
the node's placement consults the same set, so a withdrawn function or
service attracts no new request even before subscribers have the version.
Running services are not touched. The set survives restarts.

Only an offer the node has (its own descriptors, or what a lower SP offers now)
can be withdrawn: anything else is NOT_FOUND and nothing is stored, so a caller
cannot fill the table with names of offers that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

from capability_catalog.builder import OfferKey
from capability_catalog.publisher import CataloguePublisher
from spfed.errors import NotFound
from spfed.model import Catalogue, DescriptorRef, OfferKind

__all__ = ["WithdrawalStore", "Withdrawals"]


class WithdrawalStore(Protocol):
    """Where withdrawals are kept."""

    async def all(self) -> frozenset[OfferKey]:
        """Every withdrawn offer."""
        ...

    async def withdraw(self, kind: OfferKind, ref: DescriptorRef) -> None:
        """Keep a withdrawal."""
        ...

    async def restore(self, kind: OfferKind, ref: DescriptorRef) -> bool:
        """Drop a withdrawal; whether there was one."""
        ...


class Withdrawals:
    """The withdrawn offers of one node."""

    def __init__(self, store: WithdrawalStore, offered: Callable[[], Collection[OfferKey]]) -> None:
        """``offered()`` is every offer the node has, withdrawn or not, at the time of the call
        (see ``capability_catalog.offer_keys``)."""
        self._store = store
        self._offered = offered
        self._withdrawn: frozenset[OfferKey] = frozenset()
        self._publisher: CataloguePublisher | None = None

    async def load(self) -> None:
        """Read the stored withdrawals."""
        self._withdrawn = await self._store.all()

    def attach(self, publisher: CataloguePublisher) -> None:
        """The publisher to re-publish through on every change."""
        self._publisher = publisher

    def current(self) -> frozenset[OfferKey]:
        """What is withdrawn now."""
        return self._withdrawn

    async def withdraw(self, kind: OfferKind, ref: DescriptorRef) -> Catalogue:
        """Withdraw an offer; returns the catalogue version without it.

        Withdrawing a withdrawn offer again changes nothing and succeeds.

        Raises:
            NotFound: the node has no such offer (nothing is stored).
        """
        key = (kind, ref)
        if key not in self._withdrawn and key not in self._offered():
            raise NotFound(f"this node has no {kind.value.replace('_', ' ')} offer {ref}")
        await self._store.withdraw(kind, ref)
        self._withdrawn = self._withdrawn | {(kind, ref)}
        return await self._republish()

    async def restore(self, kind: OfferKind, ref: DescriptorRef) -> Catalogue:
        """Offer it again (if the node can deliver it); returns the catalogue version."""
        await self._store.restore(kind, ref)
        self._withdrawn = self._withdrawn - {(kind, ref)}
        return await self._republish()

    async def _republish(self) -> Catalogue:
        assert self._publisher is not None, "attach a publisher first"
        return await self._publisher.refresh()
