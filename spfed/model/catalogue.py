"""A node's published catalogue: what it offers, where, at what price, with what room.

Like an operator's supplier information note: function types and services
(with their external connection points), regions as an abstract view of the
PoPs behind them, free and total capacity, SLA figures toward each region,
prices, border attachment points, the WIM service types it supports and the
address-constraint kinds it honours. Every version is numbered, dated, valid
until a given time, and signed by its publisher (``SignedCatalogue``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from spfed.model.descriptors import ConnectionPoint, DescriptorRef
from spfed.model.resources import Resources

__all__ = [
    "BorderPoint",
    "Catalogue",
    "Offer",
    "OfferKind",
    "Price",
    "RegionCapacity",
    "RegionSla",
    "SignedCatalogue",
    "WimService",
]


class OfferKind(StrEnum):
    """What an offer is."""

    NETWORK_FUNCTION = "network_function"
    NETWORK_SERVICE = "network_service"


class WimService(StrEnum):
    """Connectivity a WIM can build between attachment points."""

    E_LINE = "E-Line"
    """Point to point."""
    E_LAN = "E-LAN"
    """Multipoint."""


@dataclass(frozen=True, order=True)
class Price:
    """What one instance costs per hour, in millionths of the currency unit."""

    micros_per_hour: int
    """E.g. 120000 for 0.12 per hour."""
    currency: str = "EUR"
    """ISO 4217 code."""

    def __str__(self) -> str:
        return f"{self.micros_per_hour / 1_000_000:g} {self.currency}/h"


@dataclass(frozen=True)
class Offer:
    """One function type or service a node can deliver."""

    kind: OfferKind
    """Function or service."""
    descriptor: DescriptorRef
    """Identity."""
    connection_points: tuple[ConnectionPoint, ...] = ()
    """External connection points."""
    regions: tuple[str, ...] = ()
    """Regions where it can be delivered."""
    resources: Resources = field(default_factory=Resources)
    """Resources one instance needs."""
    price: Price | None = None
    """Price per instance-hour; None: on request."""


@dataclass(frozen=True)
class RegionCapacity:
    """Capacity of one region: an abstract view of the PoPs behind it."""

    region: str
    """Region."""
    total: Resources
    """Total."""
    free: Resources
    """Not in use."""
    pops: int = 1
    """How many PoPs it stands for."""


@dataclass(frozen=True)
class RegionSla:
    """What the node guarantees between one of its regions and another region."""

    region: str
    """From."""
    toward: str
    """To."""
    latency_ms: int
    """One-way latency bound, in milliseconds."""
    bandwidth_mbps: int
    """Bandwidth it can assure, in Mbit/s."""


@dataclass(frozen=True)
class BorderPoint:
    """A point where a neighbour's network can attach to the node's WAN."""

    id: str
    """Attachment point id, unique at the node."""
    region: str
    """Region it is in."""
    services: tuple[WimService, ...] = (WimService.E_LINE, WimService.E_LAN)
    """What can be built across it."""


@dataclass(frozen=True)
class Catalogue:
    """One published version of a node's catalogue."""

    publisher: str
    """Publishing node."""
    version: int
    """Grows with every publication."""
    issue_time: datetime
    """Issued at."""
    offers: tuple[Offer, ...] = ()
    """Offers."""
    regions: tuple[RegionCapacity, ...] = ()
    """Capacity by region."""
    valid_until: datetime | None = None
    """After this, subscribers stop using the version (None only before signing)."""
    sla: tuple[RegionSla, ...] = ()
    """SLA figures from its regions toward others."""
    borders: tuple[BorderPoint, ...] = ()
    """Its border attachment points."""
    wim_services: tuple[WimService, ...] = ()
    """WIM service types it supports."""
    address_constraints: tuple[str, ...] = ()
    """Address-constraint kinds it honours (``prefix``, ``subnet``, ``gateway``, …)."""

    def find(self, kind: OfferKind, ref: DescriptorRef) -> Offer | None:
        """The offer of a function or service, if published."""
        return next((o for o in self.offers if o.kind is kind and o.descriptor == ref), None)

    def free_in(self, region: str) -> Resources:
        """Free capacity in a region (all regions together for ``""``)."""
        total = Resources()
        for rc in self.regions:
            if not region or rc.region == region:
                total = total + rc.free
        return total

    def valid_at(self, moment: datetime) -> bool:
        """Whether the version may be used at ``moment``."""
        return self.valid_until is not None and moment < self.valid_until


@dataclass(frozen=True)
class SignedCatalogue:
    """A catalogue as its publisher signed it.

    ``payload`` is the exact serialised catalogue the signature covers;
    ``catalogue`` is what it says.
    """

    catalogue: Catalogue
    """The content, read from ``payload``."""
    payload: bytes
    """The signed bytes (a deterministically serialised ``spfed.v1.Catalogue``)."""
    signature: bytes
    """Ed25519 signature of ``payload`` by the publisher's key."""
    key_id: str
    """RFC 7638 thumbprint of the publisher's key."""
