"""Hand-built domain objects for the rendering tests: a service across three operators.

retail keeps the firewall on its PoP ams and delegates the NAT and the nested
CDN to wholesale-eu, which keeps the NAT on fra and delegates the CDN to
edge-be, whose PoP bru runs the router and the cache.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from spfed.errors import QuotaViolation
from spfed.model import (
    AddressConstraint,
    BorderPoint,
    Catalogue,
    ConnectionPoint,
    ConnectionPointType,
    DescriptorRef,
    ErrorStatus,
    InterfaceType,
    Offer,
    OfferKind,
    PartKind,
    PortRecord,
    Price,
    RegionCapacity,
    RegionSla,
    Resources,
    ServiceEvent,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
    UnitRecord,
    VnfRecord,
    WimService,
)

T0 = datetime(2026, 3, 1, 9, 30, 0, tzinfo=UTC)
"""Every record's creation time."""


def _ref(name: str) -> DescriptorRef:
    return DescriptorRef("eu.spfed.demo", name, "1.0")


def _vnf(
    vnf_id: str, name: str, pop: str, unit: str, ports: list[tuple[str, str, str]]
) -> VnfRecord:
    return VnfRecord(
        vnf_id=vnf_id,
        descriptor=_ref(name),
        pop=pop,
        units=(
            UnitRecord(
                unit_id=unit,
                server_id=f"srv-{name}",
                resources=Resources(1, 512, 2),
                ports=tuple(PortRecord(cp, link, address) for cp, link, address in ports),
            ),
        ),
    )


def _record(
    operator: str, service_id: str, space: str, parts: tuple[ServicePart, ...]
) -> ServiceRecord:
    return ServiceRecord(
        id=service_id,
        name="chain",
        descriptor=_ref("secure-chain"),
        state=ServiceState.ACTIVE,
        operator=operator,
        owner="anonymous",
        request_id=f"req-{operator}",
        create_time=T0,
        update_time=T0,
        parts=parts,
        address_space=space,
    )


EDGE_POINTS = (AddressConstraint("nat-2-cdn", "10.0.4.128/25", "10.0.4.0/24", "10.0.4.1"),)
WEU_POINTS = (AddressConstraint("dpi-2-nat", "10.0.67.0/25", "10.0.67.0/24", "10.0.67.1"),)


def edge_be() -> ServiceRecord:
    """edge-be's own record of the CDN sub-service."""
    bru = ServicePart(
        id="pop:bru",
        kind=PartKind.LOCAL,
        members=("ns_cdn/vnf_router", "ns_cdn/vnf_cache"),
        pop="bru",
        vnfs=(
            _vnf(
                "ns_cdn/vnf_router",
                "router",
                "bru",
                "vdu01",
                [("eth1", "nat-2-cdn", "10.0.4.129/24")],
            ),
            _vnf("ns_cdn/vnf_cache", "cache", "bru", "cdu01", [("http-in", "ns_cdn/r-2-c", "")]),
        ),
    )
    return replace(_record("edge-be", "svc-edge", "10.0.0.0/22", (bru,)), constraints=EDGE_POINTS)


def wholesale_eu() -> ServiceRecord:
    """wholesale-eu's record: the NAT locally, the CDN at edge-be."""
    fra = ServicePart(
        id="pop:fra",
        kind=PartKind.LOCAL,
        members=("vnf_nat",),
        pop="fra",
        vnfs=(_vnf("vnf_nat", "nat", "fra", "vdu01", [("eth1", "dpi-2-nat", "10.0.67.2/24")]),),
    )
    edge = ServicePart(
        id="sp:edge-be",
        kind=PartKind.DELEGATED,
        members=("ns_cdn",),
        lower_sp="edge-be",
        remote_service_id="svc-edge",
        remote=edge_be(),
        constraints=EDGE_POINTS,
    )
    return replace(
        _record("wholesale-eu", "svc-weu", "10.0.0.0/19", (fra, edge)), constraints=WEU_POINTS
    )


def retail() -> ServiceRecord:
    """The customer's view at retail: three levels deep."""
    ams = ServicePart(
        id="pop:ams",
        kind=PartKind.LOCAL,
        members=("vnf_fw",),
        pop="ams",
        vnfs=(_vnf("vnf_fw", "firewall", "ams", "vdu01", [("eth0", "mgmt", "10.0.64.65/24")]),),
    )
    weu = ServicePart(
        id="sp:wholesale-eu",
        kind=PartKind.DELEGATED,
        members=("vnf_nat", "ns_cdn"),
        lower_sp="wholesale-eu",
        remote_service_id="svc-weu",
        remote=wholesale_eu(),
        constraints=WEU_POINTS,
    )
    return replace(
        _record("retail", "svc-retail", "10.0.0.0/16", (ams, weu)),
        constraints=(AddressConstraint("input", "10.0.65.0/25"),),
    )


FULL_POP = ErrorStatus(
    code="RESOURCE_EXHAUSTED",
    message="no room for ns_cdn/vnf_cache",
    quota_violations=(QuotaViolation("pop:bru", "2 vCPU asked, 0 free"),),
    origin=("wholesale-eu", "edge-be"),
)


def failed_retail() -> ServiceRecord:
    """retail's record after edge-be ran out of room: failed, and no view below."""
    weu = ServicePart(
        id="sp:wholesale-eu",
        kind=PartKind.DELEGATED,
        members=("vnf_nat", "ns_cdn"),
        lower_sp="wholesale-eu",
    )
    return replace(
        _record("retail", "svc-retail", "", (weu,)), state=ServiceState.FAILED, error=FULL_POP
    )


def event(
    sequence: int,
    origin: tuple[str, ...],
    kind: ServiceEventKind,
    *,
    task: str = "",
    state: ServiceState | None = None,
    message: str = "",
    operation_id: str = "op-1",
    error: ErrorStatus | None = None,
) -> ServiceEvent:
    """An event of ``svc-retail`` at ``T0 + sequence`` milliseconds."""
    return ServiceEvent(
        sequence=sequence,
        service_id="svc-retail",
        operation_id=operation_id,
        time=T0.replace(microsecond=sequence * 1000),
        origin=origin,
        kind=kind,
        task=task,
        part_id="" if len(origin) == 1 else f"sp:{origin[1]}",
        state=state,
        message=message,
        error=error,
    )


def catalogue() -> Catalogue:
    """wholesale-eu's catalogue: a function of its own and a service offered by edge-be."""
    points = (
        ConnectionPoint("mgmt", InterfaceType.IPV4, ConnectionPointType.MANAGEMENT),
        ConnectionPoint("input", InterfaceType.IPV4, ConnectionPointType.EXTERNAL),
    )
    return Catalogue(
        publisher="wholesale-eu",
        version=7,
        issue_time=T0,
        offers=(
            Offer(
                OfferKind.NETWORK_SERVICE, _ref("edge-cdn"), points, ("be",), Resources(3, 4608, 49)
            ),
            Offer(
                OfferKind.NETWORK_FUNCTION,
                _ref("nat"),
                points,
                ("de",),
                Resources(1, 489, 5),
                Price(40_000),
            ),
        ),
        regions=(
            RegionCapacity("de", Resources(8, 16384, 200), Resources(7, 15895, 195)),
            RegionCapacity("be", Resources(4, 8192, 100), Resources(4, 8192, 100), pops=2),
        ),
        valid_until=T0 + timedelta(minutes=5),
        sla=(RegionSla("de", "nl", 8, 10000),),
        borders=(BorderPoint("de-cix", "de", (WimService.E_LINE,)),),
        wim_services=(WimService.E_LINE,),
        address_constraints=("prefix", "subnet", "gateway"),
    )
