"""Catalogues: domain to and from ``spfed.v1``, and the bytes a signature covers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from google.protobuf.message import DecodeError

from spfed.api.v1 import catalogue_pb2 as pb
from spfed.errors import InvalidArgument
from spfed.model import (
    BorderPoint,
    Catalogue,
    Offer,
    OfferKind,
    Price,
    RegionCapacity,
    RegionSla,
    Resources,
    SignedCatalogue,
    WimService,
)
from spfed.wire._enums import EnumMap
from spfed.wire.descriptors import (
    cp_from_pb,
    cp_to_pb,
    ref_from_pb,
    ref_to_pb,
    resources_from_pb,
    resources_to_pb,
)
from spfed.wire.services import timestamp_to_pb

__all__ = [
    "OFFER_KINDS",
    "catalogue_from_pb",
    "catalogue_payload",
    "catalogue_to_pb",
    "signed_catalogue_from_pb",
    "signed_catalogue_to_pb",
]

OFFER_KINDS: EnumMap[OfferKind | None, pb.OfferKind.ValueType] = EnumMap(
    {
        OfferKind.NETWORK_FUNCTION: pb.OFFER_KIND_NETWORK_FUNCTION,
        OfferKind.NETWORK_SERVICE: pb.OFFER_KIND_NETWORK_SERVICE,
    },
    default=None,
)
_WIM: EnumMap[WimService | None, pb.WimService.ValueType] = EnumMap(
    {WimService.E_LINE: pb.WIM_SERVICE_E_LINE, WimService.E_LAN: pb.WIM_SERVICE_E_LAN},
    default=None,
)


def _capacity_to_pb(res: Resources) -> pb.Capacity:
    return pb.Capacity(vcpus=res.vcpus, memory_mib=res.memory_mib, disk_gib=res.disk_gib)


def _capacity_from_pb(msg: pb.Capacity) -> Resources:
    return Resources(msg.vcpus, msg.memory_mib, msg.disk_gib)


def _offer_to_pb(o: Offer) -> pb.Offer:
    message = pb.Offer(
        kind=OFFER_KINDS.to_pb(o.kind),
        descriptor=ref_to_pb(o.descriptor),
        connection_points=[cp_to_pb(cp) for cp in o.connection_points],
        regions=list(o.regions),
        resources=resources_to_pb(o.resources),
    )
    if o.price is not None:
        message.price.CopyFrom(
            pb.Price(micros_per_hour=o.price.micros_per_hour, currency=o.price.currency)
        )
    return message


def _wim_services(values: Iterable[int]) -> tuple[WimService, ...]:
    out = []
    for value in values:
        service = _WIM.from_pb(value)
        if service is not None:
            out.append(service)
    return tuple(out)


def catalogue_to_pb(catalogue: Catalogue) -> pb.Catalogue:
    """A catalogue as the API carries it."""
    message = pb.Catalogue(
        publisher=catalogue.publisher,
        version=catalogue.version,
        issue_time=timestamp_to_pb(catalogue.issue_time),
        offers=[_offer_to_pb(o) for o in catalogue.offers],
        regions=[
            pb.RegionCapacity(
                region=r.region,
                total=_capacity_to_pb(r.total),
                free=_capacity_to_pb(r.free),
                pops=r.pops,
            )
            for r in catalogue.regions
        ],
        sla=[
            pb.RegionSla(
                region=s.region,
                toward=s.toward,
                latency_ms=s.latency_ms,
                bandwidth_mbps=s.bandwidth_mbps,
            )
            for s in catalogue.sla
        ],
        borders=[
            pb.BorderPoint(id=b.id, region=b.region, services=[_WIM.to_pb(s) for s in b.services])
            for b in catalogue.borders
        ],
        wim_services=[_WIM.to_pb(s) for s in catalogue.wim_services],
        address_constraints=list(catalogue.address_constraints),
    )
    if catalogue.valid_until is not None:
        message.valid_until.CopyFrom(timestamp_to_pb(catalogue.valid_until))
    return message


def catalogue_payload(catalogue: Catalogue) -> bytes:
    """The bytes a publisher signs: the catalogue, deterministically serialised."""
    return catalogue_to_pb(catalogue).SerializeToString(deterministic=True)


def catalogue_from_pb(msg: pb.Catalogue) -> Catalogue:
    """Read a catalogue; offers and services of a kind this node does not know are dropped."""
    offers = []
    for o in msg.offers:
        kind = OFFER_KINDS.from_pb(o.kind)
        if kind is None:
            continue
        offers.append(
            Offer(
                kind=kind,
                descriptor=ref_from_pb(o.descriptor),
                connection_points=tuple(cp_from_pb(cp) for cp in o.connection_points),
                regions=tuple(o.regions),
                resources=resources_from_pb(o.resources),
                price=Price(o.price.micros_per_hour, o.price.currency)
                if o.HasField("price")
                else None,
            )
        )
    return Catalogue(
        publisher=msg.publisher,
        version=msg.version,
        issue_time=msg.issue_time.ToDatetime(tzinfo=UTC),
        offers=tuple(offers),
        regions=tuple(
            RegionCapacity(r.region, _capacity_from_pb(r.total), _capacity_from_pb(r.free), r.pops)
            for r in msg.regions
        ),
        valid_until=msg.valid_until.ToDatetime(tzinfo=UTC) if msg.HasField("valid_until") else None,
        sla=tuple(RegionSla(s.region, s.toward, s.latency_ms, s.bandwidth_mbps) for s in msg.sla),
        borders=tuple(BorderPoint(b.id, b.region, _wim_services(b.services)) for b in msg.borders),
        wim_services=_wim_services(msg.wim_services),
        address_constraints=tuple(msg.address_constraints),
    )


def signed_catalogue_to_pb(signed: SignedCatalogue) -> pb.SignedCatalogue:
    """A signed catalogue as the API carries it (the payload as it was signed)."""
    return pb.SignedCatalogue(
        catalogue=signed.payload, signature=signed.signature, key_id=signed.key_id
    )


def signed_catalogue_from_pb(msg: pb.SignedCatalogue) -> SignedCatalogue:
    """Read a signed catalogue; the content comes from the signed bytes themselves.

    The signature is not checked here (``capability_catalog.signing`` does).

    Raises:
        InvalidArgument: the payload is not a serialised catalogue.
    """
    try:
        content = pb.Catalogue.FromString(msg.catalogue)
    except DecodeError as exc:
        raise InvalidArgument(f"the signed catalogue cannot be read: {exc}") from exc
    return SignedCatalogue(
        catalogue=catalogue_from_pb(content),
        payload=msg.catalogue,
        signature=msg.signature,
        key_id=msg.key_id,
    )
