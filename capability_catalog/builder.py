"""What a node offers, computed from its configuration, its PoPs and its lower SPs.

- **Own functions**: the function types it has VNFDs for, deliverable in its
  own PoPs' regions, at the price its configuration sets.
- **Services**: the network services it has NSDs for, deliverable where all
  their members are; priced as configured, else the sum of their members'
  prices when every member has one.
- **Re-published**: everything its lower SPs offer, as its own offers and
  without naming them. Equal offers (kind and vendor/name/version) merge:
  their regions unite and the best (lowest) price is kept, since the node
  can always place an instance with the cheapest lower SP offering it.
  Connection points are shown bare (id, interface, type), never with
  anyone's addresses.
- **Capacity** by region: own PoPs and lower SPs' regions, summed, with the
  number of PoPs each region stands for.
- **SLA**: the node's own figures and its lower SPs', keeping per pair of
  regions the best entry (lowest latency, then highest bandwidth): the one
  it can honour by routing through that lower SP.
- Border points, WIM service types and address-constraint kinds are the
  node's own: a lower SP's attachment points are not the node's to offer.
- **Withdrawn** offers (an operator's decision) are left out, and so are
  services that need a withdrawn function or service.
- **Validity**: a version is valid until the node's own validity runs out,
  and never longer than any lower catalogue it re-publishes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from spfed.descriptors import best_match
from spfed.model import (
    BorderPoint,
    Catalogue,
    ConnectionPoint,
    DescriptorRef,
    NetworkServiceDescriptor,
    Offer,
    OfferKind,
    Price,
    RegionCapacity,
    RegionSla,
    Resources,
    VnfDescriptor,
    WimService,
)

__all__ = ["OfferKey", "Offering", "PopCapacity", "build_catalogue", "offer_keys"]

OfferKey = tuple[OfferKind, DescriptorRef]
"""What identifies an offer."""


@dataclass(frozen=True)
class PopCapacity:
    """Capacity of one own PoP."""

    region: str
    """Region."""
    total: Resources
    """Total."""
    free: Resources
    """Free."""


@dataclass(frozen=True)
class Offering:
    """What the node's configuration and its operator add to the catalogue."""

    prices: Mapping[DescriptorRef, Price] = field(default_factory=dict)
    """Price per instance-hour of own functions and services."""
    sla: tuple[RegionSla, ...] = ()
    """Own SLA figures."""
    borders: tuple[BorderPoint, ...] = ()
    """Own border attachment points."""
    wim_services: tuple[WimService, ...] = ()
    """WIM service types the node supports."""
    address_constraints: tuple[str, ...] = ()
    """Address-constraint kinds the node honours."""
    withdrawn: frozenset[OfferKey] = frozenset()
    """Offers the operator withdrew."""


def _cheapest(a: Price | None, b: Price | None) -> Price | None:
    """The lower price; across currencies (not comparable) the one in the first currency
    code, so the result does not depend on the order lower SPs are listed in."""
    if a is None or b is None:
        return a or b
    return min(a, b, key=lambda p: (p.currency, p.micros_per_hour))


def _bare(points: Iterable[ConnectionPoint]) -> tuple[ConnectionPoint, ...]:
    """Connection points as an offer shows them: no addresses of anyone's deployment."""
    return tuple(ConnectionPoint(cp.id, cp.interface, cp.type) for cp in points)


def _merge(offers: Iterable[Offer]) -> list[Offer]:
    merged: dict[OfferKey, Offer] = {}
    for offer in offers:
        key = (offer.kind, offer.descriptor)
        seen = merged.get(key)
        if seen is None:
            merged[key] = replace(offer, connection_points=_bare(offer.connection_points))
            continue
        merged[key] = Offer(
            kind=offer.kind,
            descriptor=offer.descriptor,
            connection_points=seen.connection_points or _bare(offer.connection_points),
            regions=tuple(sorted(set(seen.regions) | set(offer.regions))),
            resources=seen.resources,
            price=_cheapest(seen.price, offer.price),
        )
    return sorted(merged.values(), key=lambda o: (o.kind.value, o.descriptor))


def _find(offers: Mapping[DescriptorRef, Offer], ref: DescriptorRef) -> Offer | None:
    """The highest offered version that ``ref`` (its version may be a constraint) names."""
    return best_match(ref, offers.values(), lambda o: o.descriptor)


def _service_offer(
    nsd: NetworkServiceDescriptor,
    functions: Mapping[DescriptorRef, Offer],
    services: Mapping[DescriptorRef, Offer],
    price: Price | None,
) -> Offer | None:
    regions: set[str] | None = None
    resources = Resources()
    member_prices: list[Price | None] = []
    members = [(functions, f.descriptor) for f in nsd.network_functions] + [
        (services, s.descriptor) for s in nsd.network_services
    ]
    for offers, ref in members:
        offer = _find(offers, ref)  # a function member is a function, a service a service
        if offer is None:
            return None
        regions = set(offer.regions) if regions is None else regions & set(offer.regions)
        resources = resources + offer.resources
        member_prices.append(offer.price)
    if not regions:
        return None
    if price is None and member_prices and all(p is not None for p in member_prices):
        known = [p for p in member_prices if p is not None]
        if len({p.currency for p in known}) == 1:
            price = Price(sum(p.micros_per_hour for p in known), known[0].currency)
    return Offer(
        kind=OfferKind.NETWORK_SERVICE,
        descriptor=nsd.ref,
        connection_points=tuple(
            ConnectionPoint(cp.id, cp.interface, cp.type) for cp in nsd.connection_points
        ),
        regions=tuple(sorted(regions)),
        resources=resources,
        price=price,
    )


def _best_sla(entries: Iterable[RegionSla]) -> tuple[RegionSla, ...]:
    best: dict[tuple[str, str], RegionSla] = {}
    for entry in entries:
        key = (entry.region, entry.toward)
        seen = best.get(key)
        if seen is None or (entry.latency_ms, -entry.bandwidth_mbps) < (
            seen.latency_ms,
            -seen.bandwidth_mbps,
        ):
            best[key] = entry
    return tuple(best[k] for k in sorted(best))


def offer_keys(
    vnfds: Iterable[VnfDescriptor],
    nsds: Iterable[NetworkServiceDescriptor],
    *,
    has_pops: bool,
    lower: Iterable[Catalogue],
) -> frozenset[OfferKey]:
    """Every offer the node has, whether withdrawn or not: what an operator may withdraw.

    Its own functions (when it has a PoP to run them on), its own services (even
    one whose members are not deliverable now: the descriptor is the node's),
    and what its lower SPs' current catalogues offer.
    """
    own = [(OfferKind.NETWORK_FUNCTION, v.ref) for v in vnfds] if has_pops else []
    return frozenset(
        [
            *own,
            *((OfferKind.NETWORK_SERVICE, n.ref) for n in nsds),
            *((o.kind, o.descriptor) for c in lower for o in c.offers),
        ]
    )


def build_catalogue(
    publisher: str,
    version: int,
    issued: datetime,
    valid_until: datetime,
    vnfds: Sequence[VnfDescriptor],
    nsds: Sequence[NetworkServiceDescriptor],
    pops: Sequence[PopCapacity],
    lower: Sequence[Catalogue],
    offering: Offering | None = None,
) -> Catalogue:
    """One catalogue version for ``publisher`` (unsigned: the publisher signs it).

    ``lower`` are the lower SPs' current, valid catalogues.
    """
    offering = offering or Offering()
    withdrawn = offering.withdrawn
    own_regions = tuple(sorted({p.region for p in pops}))
    function_offers: list[Offer] = []
    if own_regions:
        function_offers = [
            Offer(
                kind=OfferKind.NETWORK_FUNCTION,
                descriptor=v.ref,
                connection_points=tuple(
                    ConnectionPoint(cp.id, cp.interface, cp.type) for cp in v.connection_points
                ),
                regions=own_regions,
                resources=v.resources(),
                price=offering.prices.get(v.ref),
            )
            for v in vnfds
        ]
    below = [o for c in lower for o in c.offers if (o.kind, o.descriptor) not in withdrawn]
    functions = {
        o.descriptor: o
        for o in _merge(
            [o for o in function_offers if (o.kind, o.descriptor) not in withdrawn]
            + [o for o in below if o.kind is OfferKind.NETWORK_FUNCTION]
        )
    }
    services = {
        o.descriptor: o for o in _merge(o for o in below if o.kind is OfferKind.NETWORK_SERVICE)
    }
    # Own services may nest own services: resolve them in rounds until nothing new appears.
    own_services: dict[DescriptorRef, Offer] = {}
    for _ in range(len(nsds)):
        known = {**services, **own_services}
        found = {
            n.ref: o
            for n in nsds
            if (o := _service_offer(n, functions, known, offering.prices.get(n.ref))) is not None
            and (o.kind, o.descriptor) not in withdrawn
        }
        if found.keys() == own_services.keys():
            break
        own_services = found
    regions: dict[str, tuple[Resources, Resources, int]] = {}
    for region, total, free, count in [(p.region, p.total, p.free, 1) for p in pops] + [
        (r.region, r.total, r.free, r.pops) for c in lower for r in c.regions
    ]:
        t, f, n = regions.get(region, (Resources(), Resources(), 0))
        regions[region] = (t + total, f + free, n + count)
    expiries = [valid_until] + [c.valid_until for c in lower if c.valid_until is not None]
    return Catalogue(
        publisher=publisher,
        version=version,
        issue_time=issued,
        offers=tuple(_merge([*functions.values(), *services.values(), *own_services.values()])),
        regions=tuple(RegionCapacity(r, t, f, n) for r, (t, f, n) in sorted(regions.items())),
        valid_until=min(expiries),
        sla=_best_sla([*offering.sla, *(s for c in lower for s in c.sla)]),
        borders=offering.borders,
        wim_services=offering.wim_services,
        address_constraints=offering.address_constraints,
    )
