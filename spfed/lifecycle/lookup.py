"""Resolving a request's descriptor references.

In order: the descriptors sent with the request, those onboarded at the node,
then the offers in the lower SPs' latest catalogues. Versions may be
constraints (``>= 0.2``); the highest matching version wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from spfed.descriptors import DescriptorSet, best_match
from spfed.model import (
    Catalogue,
    DescriptorRef,
    NetworkServiceDescriptor,
    Offer,
    OfferKind,
    VnfDescriptor,
)

__all__ = ["RequestLookup"]


class RequestLookup:
    """Implements both ``upper_sp.graph.DescriptorLookup`` and ``InterfaceResolver``."""

    def __init__(
        self, sent: DescriptorSet, onboarded: DescriptorSet, catalogues: Iterable[Catalogue]
    ) -> None:
        self._sent = sent
        self._onboarded = onboarded
        self._offers = [o for c in catalogues for o in c.offers]

    def vnfd(self, ref: DescriptorRef) -> VnfDescriptor | None:
        return self._sent.find_vnfd(ref) or self._onboarded.find_vnfd(ref)

    def nsd(self, ref: DescriptorRef) -> NetworkServiceDescriptor | None:
        return self._sent.find_nsd(ref) or self._onboarded.find_nsd(ref)

    def _offer(self, kind: OfferKind, ref: DescriptorRef) -> Offer | None:
        offers = (o for o in self._offers if o.kind is kind)
        return best_match(ref, offers, lambda o: o.descriptor)

    def function_offer(self, ref: DescriptorRef) -> Offer | None:
        return self._offer(OfferKind.NETWORK_FUNCTION, ref)

    def service_offer(self, ref: DescriptorRef) -> Offer | None:
        return self._offer(OfferKind.NETWORK_SERVICE, ref)

    def function_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        vnfd = self.vnfd(ref)
        if vnfd is not None:
            return tuple(cp.id for cp in vnfd.connection_points)
        offer = self.function_offer(ref)
        return None if offer is None else tuple(cp.id for cp in offer.connection_points)

    def service_points(self, ref: DescriptorRef) -> tuple[str, ...] | None:
        nsd = self.nsd(ref)
        if nsd is not None:
            return tuple(cp.id for cp in nsd.connection_points)
        offer = self.service_offer(ref)
        return None if offer is None else tuple(cp.id for cp in offer.connection_points)

    def known_functions(self) -> Sequence[DescriptorRef]:
        refs = [*self._sent.known_functions(), *self._onboarded.known_functions()]
        refs += [o.descriptor for o in self._offers if o.kind is OfferKind.NETWORK_FUNCTION]
        return sorted(set(refs))

    def known_services(self) -> Sequence[DescriptorRef]:
        refs = [*self._sent.known_services(), *self._onboarded.known_services()]
        refs += [o.descriptor for o in self._offers if o.kind is OfferKind.NETWORK_SERVICE]
        return sorted(set(refs))
