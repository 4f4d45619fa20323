"""Catalogue aggregation as properties: what a node publishes from its lower SPs' catalogues.

Inputs are random federations: own PoPs, VNFDs and NSDs, an operator's ``Offering`` and up
to four lower catalogues. Descriptor names, versions and regions come from small pools so
that equal offers collide and regions overlap. Lower SPs are called ``lowersp-<hex>``, and
no other generated string contains ``lowersp``; their own border points and constraint
kinds carry that id too, so finding it anywhere in the aggregate means the aggregate
leaked a lower SP (or copied what is not the node's to offer).

Where a property needs to know how a member reference resolves, it resolves it against the
*published* catalogue with the project's ``best_match``: what a reader of the catalogue
would check, not a second copy of the builder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from capability_catalog.builder import Offering, OfferKey, PopCapacity, build_catalogue
from spfed.descriptors import best_match
from spfed.model import (
    BorderPoint,
    Catalogue,
    ConnectionPoint,
    ConnectionPointType,
    DescriptorRef,
    InterfaceType,
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
from spfed.wire import catalogue_payload
from tests.strategies import small_resources
from tests.unit.upper_sp.builders import nsd, ref, vnfd

FN, SVC = OfferKind.NETWORK_FUNCTION, OfferKind.NETWORK_SERVICE
ME = "retail"
T = datetime(2026, 3, 1, tzinfo=UTC)
LOWER_PREFIX = "lowersp-"
REGIONS = ("eu", "us", "ap", "sa")
FUNCTION_NAMES = ("fw", "ids", "nat")
SERVICE_NAMES = ("chain", "edge", "core")
VERSIONS = ("1.0", "2.0")
"""Versions of functions and of services offered below."""
OWN_SERVICE_VERSIONS = ("2.0", "5.0")
"""Own NSDs: 2.0 collides with services offered below, 5.0 never does."""
CONSTRAINTS = ("1.0", "2.0", ">= 1.0", "<= 1.5", ">= 3")
CURRENCIES = ("EUR", "USD")
CONSTRAINT_KINDS = ("prefix", "subnet", "gateway")

ALL_KEYS: tuple[OfferKey, ...] = (
    *((FN, ref(n, v)) for n in FUNCTION_NAMES for v in VERSIONS),
    *((SVC, ref(n, v)) for n in SERVICE_NAMES for v in (*VERSIONS, *OWN_SERVICE_VERSIONS)),
)


@dataclass(frozen=True)
class Federation:
    """Everything ``build_catalogue`` is given."""

    valid_until: datetime
    vnfds: tuple[VnfDescriptor, ...]
    nsds: tuple[NetworkServiceDescriptor, ...]
    pops: tuple[PopCapacity, ...]
    lower: tuple[Catalogue, ...]
    offering: Offering

    def build(self) -> Catalogue:
        return build_catalogue(
            ME,
            4,
            T,
            self.valid_until,
            self.vnfds,
            self.nsds,
            self.pops,
            self.lower,
            self.offering,
        )

    @property
    def own_regions(self) -> set[str]:
        return {p.region for p in self.pops}

    def own_function_keys(self) -> set[OfferKey]:
        """Own functions are offered only where the node has PoPs."""
        return {(FN, v.ref) for v in self.vnfds} if self.pops else set()

    def own_service_refs(self) -> set[DescriptorRef]:
        return {n.ref for n in self.nsds}

    def lower_offers(self, key: OfferKey) -> list[Offer]:
        return [o for c in self.lower for o in c.offers if (o.kind, o.descriptor) == key]

    def lower_keys(self) -> set[OfferKey]:
        return {(o.kind, o.descriptor) for c in self.lower for o in c.offers}

    def own_only_service_refs(self) -> set[DescriptorRef]:
        """Own services no lower SP offers: never candidates for a nested member.

        A nested member resolves among the services offered below; in the published
        catalogue those are the services offered below, plus own services of other refs.
        """
        return self.own_service_refs() - {r for k, r in self.lower_keys() if k is SVC}

    def input_regions(self) -> set[str]:
        """Every region any input names: PoPs, capacity, offers, SLA entries."""
        regions = self.own_regions | {s.region for s in self.offering.sla}
        regions |= {s.toward for s in self.offering.sla}
        for c in self.lower:
            regions |= {rc.region for rc in c.regions}
            regions |= {r for o in c.offers for r in o.regions}
            regions |= {s.region for s in c.sla} | {s.toward for s in c.sla}
        return regions

    def regions_of(
        self, kind: OfferKind, name: str, seen: frozenset[str] = frozenset()
    ) -> set[str]:
        """Everywhere any input offers some version of ``name``, or an own service of that
        name can be delivered (``seen``: services already being expanded)."""
        regions = {
            r
            for c in self.lower
            for o in c.offers
            for r in o.regions
            if (o.kind is kind and o.descriptor.name == name)
        }
        if kind is FN and any(v.ref.name == name for v in self.vnfds):
            regions |= self.own_regions
        if kind is SVC and name not in seen:
            # an own service nested in another is deliverable where all its members are
            for nsd in (n for n in self.nsds if n.ref.name == name):
                members = [(FN, m.descriptor.name) for m in nsd.network_functions] + [
                    (SVC, m.descriptor.name) for m in nsd.network_services
                ]
                where = [self.regions_of(k, n, seen | {name}) for k, n in members]
                regions |= set.intersection(*where) if where else set()
        return regions


# --- generators ----------------------------------------------------------------------
# Strategies are built once, here: building them inside the composite on every draw
# costs more than the property checks themselves.

lower_ids = st.text("0123456789abcdef", min_size=6, max_size=6).map(lambda h: LOWER_PREFIX + h)
regions = st.sampled_from(REGIONS)
region_lists = st.lists(regions, max_size=3, unique=True)
function_names = st.sampled_from(FUNCTION_NAMES)
service_names = st.sampled_from(SERVICE_NAMES)
versions = st.sampled_from(VERSIONS)
own_service_versions = st.sampled_from(OWN_SERVICE_VERSIONS)
constraints = st.sampled_from(CONSTRAINTS)
kinds = st.sampled_from(OfferKind)
wim_service_sets = st.lists(st.sampled_from(WimService), unique=True).map(tuple)
constraint_kinds = st.lists(st.sampled_from(CONSTRAINT_KINDS), unique=True).map(tuple)
expiries = st.integers(1, 72).map(lambda h: T + timedelta(hours=h))
withdrawals = st.lists(st.sampled_from(ALL_KEYS), max_size=3).map(frozenset)
PRICES = {
    currencies: st.builds(Price, st.integers(0, 1000), st.sampled_from(currencies))
    for currencies in (CURRENCIES[:1], CURRENCIES)
}
"""Prices in one currency, or in two."""

sla_regions = st.sampled_from(REGIONS[:3])
sla_entries = st.lists(
    st.builds(
        RegionSla,
        region=sla_regions,
        toward=sla_regions,
        latency_ms=st.integers(1, 4),
        bandwidth_mbps=st.integers(1, 5),
    ),
    max_size=4,
).map(tuple)
"""Few pairs and narrow ranges, so that entries for one pair with equal latencies (where
bandwidth decides) are common."""

POINTS = (ConnectionPoint("in", InterfaceType.IPV4, ConnectionPointType.EXTERNAL),)


@st.composite
def federations(draw: st.DrawFn, *, rich_own_services: bool = False) -> Federation:
    """Random federations.

    ``rich_own_services``: the node has PoPs and a VNFD of every function name and
    version, its services have two or three different functions and a version no lower SP
    offers, and prices come in two currencies; so most of its own services are
    deliverable, and the sum rule of their prices meets unpriced members and mixed
    currencies often.
    """
    prices = PRICES[CURRENCIES if rich_own_services else draw(st.sampled_from(list(PRICES)))]
    maybe_prices = st.one_of(st.none(), prices, prices)  # mostly priced: sums need all members

    def amount() -> Resources:
        return draw(small_resources)

    pops = []
    for region in draw(st.lists(regions, min_size=int(rich_own_services), max_size=4)):
        free = amount()
        pops.append(PopCapacity(region, free + amount(), free))

    vnfds = [
        vnfd(draw(function_names), draw(versions), vcpus=draw(st.integers(1, 8)))
        for _ in range(draw(st.integers(0, 3)))
    ]
    if rich_own_services:
        vnfds += [vnfd(name, version) for name in FUNCTION_NAMES for version in VERSIONS]

    nsds = []
    for name in draw(st.lists(service_names, max_size=2, unique=True)):
        functions = draw(
            st.lists(function_names, min_size=2, max_size=3, unique=True)
            if rich_own_services
            else st.lists(function_names, min_size=1, max_size=2)
        )
        nested = draw(st.lists(service_names, max_size=1))
        nsds.append(
            nsd(
                name,
                OWN_SERVICE_VERSIONS[-1] if rich_own_services else draw(own_service_versions),
                functions={f"f{i}": ref(f, draw(constraints)) for i, f in enumerate(functions)},
                services={f"s{i}": ref(n, draw(constraints)) for i, n in enumerate(nested)},
                points=("in",),
            )
        )

    lower = []
    for lower_id in draw(st.lists(lower_ids, max_size=4, unique=True)):
        offers = []
        for _ in range(draw(st.integers(0, 5))):
            kind = draw(kinds)
            name = draw(function_names if kind is FN else service_names)
            offers.append(
                Offer(
                    kind,
                    ref(name, draw(versions)),
                    POINTS,
                    tuple(draw(region_lists)),
                    amount(),
                    draw(maybe_prices),
                )
            )
        capacity = []
        for region in draw(region_lists):
            free = amount()
            capacity.append(RegionCapacity(region, free + amount(), free, draw(st.integers(1, 5))))
        lower.append(
            Catalogue(
                publisher=lower_id,
                version=draw(st.integers(1, 100)),
                issue_time=T,
                offers=tuple(offers),
                regions=tuple(capacity),
                valid_until=draw(st.none() | expiries),
                sla=draw(sla_entries),
                borders=tuple(
                    BorderPoint(f"{lower_id}-bp{i}", region)
                    for i, region in enumerate(draw(region_lists))
                ),
                wim_services=draw(wim_service_sets),
                address_constraints=(*draw(constraint_kinds), f"{lower_id}-pool"),
            )
        )

    # own services mostly without a configured price: their members' prices sum up
    service_prices = st.one_of(st.none(), st.none(), prices)
    offering = Offering(
        prices={
            **{v.ref: p for v in vnfds if (p := draw(maybe_prices)) is not None},
            **{n.ref: p for n in nsds if (p := draw(service_prices)) is not None},
        },
        sla=draw(sla_entries),
        borders=tuple(
            BorderPoint(f"border-{i}", draw(regions), draw(wim_service_sets))
            for i in range(draw(st.integers(0, 2)))
        ),
        wim_services=draw(wim_service_sets),
        address_constraints=draw(constraint_kinds),
        withdrawn=draw(withdrawals),
    )
    return Federation(
        valid_until=draw(expiries),
        vnfds=tuple(vnfds),
        nsds=tuple(nsds),
        pops=tuple(pops),
        lower=tuple(lower),
        offering=offering,
    )


def keys(offers: Iterable[Offer]) -> list[OfferKey]:
    return [(o.kind, o.descriptor) for o in offers]


def resolve(
    member: DescriptorRef, kind: OfferKind, published: Catalogue, exclude: set[DescriptorRef]
) -> Offer | None:
    """The published offer a member reference names (highest matching version)."""
    candidates = [o for o in published.offers if o.kind is kind and o.descriptor not in exclude]
    return best_match(member, candidates, lambda o: o.descriptor)


# --- properties ----------------------------------------------------------------------


@settings(deadline=None, max_examples=150)
@given(federations())
def test_never_offers_more_than_own_descriptors_and_lower_sps_offer(fed: Federation) -> None:
    cat = fed.build()
    own_functions = fed.own_function_keys()
    own_services = {(SVC, r) for r in fed.own_service_refs()}
    lower_keys = fed.lower_keys()
    assert len(keys(cat.offers)) == len(set(keys(cat.offers)))
    for o in cat.offers:
        key = (o.kind, o.descriptor)
        assert key in own_functions | own_services | lower_keys, o
        allowed = {r for lo in fed.lower_offers(key) for r in lo.regions}
        if key in own_functions:
            allowed |= fed.own_regions
        if key in own_services:
            [n] = [n for n in fed.nsds if n.ref == o.descriptor]
            members = [(FN, m.descriptor.name) for m in n.network_functions] + [
                (SVC, m.descriptor.name) for m in n.network_services
            ]
            where = [fed.regions_of(kind, name) for kind, name in members]
            allowed |= set.intersection(*where) if where else set()
        assert set(o.regions) <= allowed, (o, allowed)
        # the size of an instance is one that was offered for it
        if key not in own_services:
            sizes = {lo.resources for lo in fed.lower_offers(key)}
            sizes |= {v.resources() for v in fed.vnfds if key in own_functions and v.ref == key[1]}
            assert o.resources in sizes

    # capacity: exactly what own PoPs and lower SPs report, region by region
    assert {rc.region for rc in cat.regions} == fed.own_regions | {
        rc.region for c in fed.lower for rc in c.regions
    }
    assert len({rc.region for rc in cat.regions}) == len(cat.regions)
    for rc in cat.regions:
        below = [x for c in fed.lower for x in c.regions if x.region == rc.region]
        own = [p for p in fed.pops if p.region == rc.region]
        totals = [p.total for p in own] + [x.total for x in below]
        frees = [p.free for p in own] + [x.free for x in below]
        assert rc.total == sum(totals, Resources())
        assert rc.free == sum(frees, Resources())
        assert rc.pops == len(own) + sum(x.pops for x in below)

    # no region that no input names
    named = {r for o in cat.offers for r in o.regions} | {rc.region for rc in cat.regions}
    named |= {s.region for s in cat.sla} | {s.toward for s in cat.sla}
    named |= {b.region for b in cat.borders}
    assert named <= fed.input_regions() | {b.region for b in fed.offering.borders}


@settings(deadline=None, max_examples=150)
@given(federations())
def test_a_republished_offer_costs_the_cheapest_price_offered_in_its_currency(
    fed: Federation,
) -> None:
    cat = fed.build()
    own_services = fed.own_service_refs()
    for o in cat.offers:
        key = (o.kind, o.descriptor)
        if o.kind is SVC and o.descriptor in own_services:
            continue  # own services: next property
        offered = [lo.price for lo in fed.lower_offers(key) if lo.price is not None]
        configured = fed.offering.prices.get(o.descriptor)
        if key in fed.own_function_keys() and configured is not None:
            offered.append(configured)
        if not offered:
            assert o.price is None, o
            continue
        assert o.price is not None, (o, offered)
        assert o.price in offered
        same_currency = [p for p in offered if p.currency == o.price.currency]
        assert o.price.micros_per_hour == min(p.micros_per_hour for p in same_currency)


@settings(deadline=None, max_examples=300)
@given(federations() | federations(rich_own_services=True))
def test_own_services_are_priced_and_placed_by_their_published_members(fed: Federation) -> None:
    cat = fed.build()
    own_refs = fed.own_service_refs()
    own_only = fed.own_only_service_refs()
    lower_keys = fed.lower_keys()
    for n in fed.nsds:
        if (SVC, n.ref) in lower_keys:
            continue  # merged with a lower offer: the properties above cover it
        published = cat.find(SVC, n.ref)
        if (SVC, n.ref) in fed.offering.withdrawn:
            assert published is None
            continue
        nested = [resolve(m.descriptor, SVC, cat, own_only) for m in n.network_services]
        if any(m is not None and m.descriptor in own_refs for m in nested):
            continue  # the member offer published was merged with an own service
        members = [resolve(m.descriptor, FN, cat, set()) for m in n.network_functions] + nested
        resolved = [m for m in members if m is not None]
        if len(resolved) < len(members) or not members:
            assert published is None, (n, members)
            continue
        regions = set.intersection(*(set(m.regions) for m in resolved))
        if not regions:
            assert published is None, (n, members)
            continue
        assert published is not None, (n, members)
        assert set(published.regions) == regions
        assert published.resources == sum((m.resources for m in resolved), Resources())
        configured = fed.offering.prices.get(n.ref)
        if configured is not None:
            assert published.price == configured
            continue
        prices = [m.price for m in resolved]
        known = [p for p in prices if p is not None]
        if len(known) == len(prices) and len({p.currency for p in known}) == 1:
            expected = Price(sum(p.micros_per_hour for p in known), known[0].currency)
            assert published.price == expected
        else:
            assert published.price is None


@settings(deadline=None, max_examples=200)
@given(federations())
def test_sla_keeps_one_input_entry_per_pair_and_none_beats_it(fed: Federation) -> None:
    cat = fed.build()
    entries = [*fed.offering.sla, *(s for c in fed.lower for s in c.sla)]
    pairs = [(s.region, s.toward) for s in cat.sla]
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == {(s.region, s.toward) for s in entries}
    for s in cat.sla:
        assert s in entries
        rivals = [e for e in entries if (e.region, e.toward) == (s.region, s.toward)]
        assert all(e.latency_ms >= s.latency_ms for e in rivals)
        assert all(
            e.bandwidth_mbps <= s.bandwidth_mbps for e in rivals if e.latency_ms == s.latency_ms
        )


@settings(deadline=None, max_examples=50)
@given(federations())
def test_borders_wim_services_and_constraint_kinds_come_from_the_offering_only(
    fed: Federation,
) -> None:
    cat = fed.build()
    assert cat.borders == fed.offering.borders
    assert cat.wim_services == fed.offering.wim_services
    assert cat.address_constraints == fed.offering.address_constraints


@settings(deadline=None, max_examples=150)
@given(federations() | federations(rich_own_services=True))
def test_withdrawn_offers_and_the_services_needing_them_are_left_out(fed: Federation) -> None:
    cat = fed.build()
    assert not set(keys(cat.offers)) & fed.offering.withdrawn
    # every own service offered is deliverable with what is published (so nothing withdrawn)
    lower_keys = fed.lower_keys()
    for n in fed.nsds:
        if (SVC, n.ref) in lower_keys or cat.find(SVC, n.ref) is None:
            continue
        for m in n.network_functions:
            assert resolve(m.descriptor, FN, cat, set()) is not None, (n, m)
        for s in n.network_services:
            # own services may nest own services, so every published service is a candidate
            assert resolve(s.descriptor, SVC, cat, set()) is not None, (n, s)
    # and what is not withdrawn is still offered
    for key in fed.lower_keys() - fed.offering.withdrawn:
        assert cat.find(*key) is not None, key
    if fed.pops:
        for v in fed.vnfds:
            assert ((FN, v.ref) in fed.offering.withdrawn) == (cat.find(FN, v.ref) is None)


@settings(deadline=None, max_examples=50)
@given(federations())
def test_a_version_is_never_valid_longer_than_any_catalogue_it_republishes(
    fed: Federation,
) -> None:
    cat = fed.build()
    assert cat.valid_until is not None
    assert cat.valid_until <= fed.valid_until
    lower_expiries = [c.valid_until for c in fed.lower if c.valid_until is not None]
    assert all(cat.valid_until <= e for e in lower_expiries)
    assert cat.valid_until == min([fed.valid_until, *lower_expiries])


@settings(deadline=None, max_examples=100)
@given(federations())
def test_no_lower_sp_is_named_in_the_catalogue_or_on_the_wire(fed: Federation) -> None:
    cat = fed.build()
    assert cat.publisher == ME
    text = repr(cat)
    payload = catalogue_payload(cat)
    assert LOWER_PREFIX not in text
    assert LOWER_PREFIX.encode() not in payload
    for c in fed.lower:
        assert c.publisher not in text
        assert c.publisher.encode() not in payload
    assert ME.encode() in payload


def test_lower_ids_cannot_be_mistaken_for_anything_else() -> None:
    # guards the leak property: no other generated string can contain the prefix
    others = (
        *REGIONS,
        *FUNCTION_NAMES,
        *SERVICE_NAMES,
        *CURRENCIES,
        *CONSTRAINT_KINDS,
        *(w.value for w in WimService),
        ME,
        ref("x").vendor,
        "in",
        "border-0",
    )
    assert all(LOWER_PREFIX not in o and "lowersp" not in o for o in others)
