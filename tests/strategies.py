"""Hypothesis strategies shared by the property tests.

Values are built to be *representable* on the wire (proto3 scalars: no negative
counts, no NaN, no lone surrogates, timestamps inside the protobuf range, aware UTC
datetimes) so a round-trip failure always means a converter bug, never a generator
artefact. Operator ids never contain ``/`` because the error origin travels as a
``/``-joined path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
from hypothesis import strategies as st

from addressing import (
    OWN,
    Endpoint,
    LinkDemand,
    Network,
    PlanSettings,
    ServiceSpace,
    format_mac,
)
from spfed.errors import FieldViolation, QuotaViolation
from spfed.model import (
    AddressConstraint,
    AddressConstraints,
    BorderPoint,
    Catalogue,
    ConnectionPoint,
    ConnectionPointType,
    ConnectivityType,
    DeploymentUnit,
    DescriptorRef,
    Dialect,
    ErrorStatus,
    ForwardingGraph,
    ForwardingPath,
    ForwardingPathHop,
    IdRange,
    InstantiateRequest,
    InterfaceType,
    NestedServiceRef,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    Offer,
    OfferKind,
    Operation,
    OperationKind,
    OperationState,
    PartKind,
    PlacementConstraints,
    PlacementRule,
    PortRecord,
    Price,
    QosRequirements,
    RegionCapacity,
    RegionSla,
    Resources,
    ServiceDescriptors,
    ServiceEvent,
    ServiceEventKind,
    ServicePart,
    ServiceRecord,
    ServiceState,
    TaskProgress,
    TaskState,
    UnitKind,
    UnitRecord,
    VirtualLink,
    VnfDescriptor,
    VnfRecord,
    WimService,
)

UINT32 = 2**32 - 1
UINT63 = 2**63 - 1
"""Largest value that survives both a uint64 proto field and a signed SQL integer."""

# --- scalars -----------------------------------------------------------------------

ids = st.text("abcdefghijk0123_-", min_size=1, max_size=8)
"""Identifiers: member ids, link ids, connection point ids."""

operator_ids = st.text("abcdefgh0123-", min_size=1, max_size=10)
"""Operator (node) ids: no ``/``, never empty."""

texts = st.text(st.characters(codec="utf-8"), max_size=12)
"""Free text that proto3 strings can carry (no lone surrogates)."""

versions = st.lists(st.integers(0, 20), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)

moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
"""Aware UTC datetimes inside the protobuf Timestamp range."""

finite = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)

status_code_names = st.sampled_from([c.name for c in grpc.StatusCode])


@st.composite
def resources(draw: st.DrawFn, *, max_vcpus: int = UINT32) -> Resources:
    return Resources(
        vcpus=draw(st.integers(0, max_vcpus)),
        memory_mib=draw(st.integers(0, UINT63)),
        disk_gib=draw(st.integers(0, UINT63)),
    )


small_resources = st.builds(
    Resources, st.integers(0, 64), st.integers(0, 65536), st.integers(0, 1000)
)


# --- descriptors -------------------------------------------------------------------

refs = st.builds(DescriptorRef, vendor=ids, name=ids, version=versions)

connection_points = st.builds(
    ConnectionPoint,
    id=ids,
    interface=st.sampled_from(InterfaceType),
    type=st.sampled_from(ConnectionPointType),
    mac=texts,
    ip=texts,
    port=st.integers(0, UINT32),
)

qos = st.builds(
    QosRequirements, policy=texts, bandwidth_limit_mbps=finite, minimum_bandwidth_mbps=finite
)

virtual_links = st.builds(
    VirtualLink,
    id=ids,
    connectivity_type=st.sampled_from(ConnectivityType),
    connection_points_reference=st.lists(texts, max_size=4).map(tuple),
    dhcp=st.booleans(),
    cidr=texts,
    qos=qos,
)

forwarding_graphs = st.builds(
    ForwardingGraph,
    fg_id=ids,
    constituent_virtual_links=st.lists(ids, max_size=3).map(tuple),
    constituent_vnfs=st.lists(ids, max_size=3).map(tuple),
    constituent_services=st.lists(ids, max_size=3).map(tuple),
    network_forwarding_paths=st.lists(
        st.builds(
            ForwardingPath,
            fp_id=ids,
            policy=texts,
            connection_points=st.lists(
                st.builds(ForwardingPathHop, texts, st.integers(0, UINT32)), max_size=4
            ).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
)

nsds = st.builds(
    NetworkServiceDescriptor,
    ref=refs,
    dialect=st.sampled_from(Dialect),
    author=texts,
    description=texts,
    network_functions=st.lists(st.builds(NetworkFunctionRef, ids, refs), max_size=3).map(tuple),
    network_services=st.lists(st.builds(NestedServiceRef, ids, refs), max_size=2).map(tuple),
    connection_points=st.lists(connection_points, max_size=3).map(tuple),
    virtual_links=st.lists(virtual_links, max_size=3).map(tuple),
    forwarding_graphs=st.lists(forwarding_graphs, max_size=2).map(tuple),
)

deployment_units = st.builds(
    DeploymentUnit,
    id=ids,
    kind=st.sampled_from(UnitKind),
    vm_image=texts,
    vm_image_format=texts,
    vm_image_md5=texts,
    vm_flavor=texts,
    resource_requirements=resources(),
    connection_points=st.lists(connection_points, max_size=3).map(tuple),
)

vnfds = st.builds(
    VnfDescriptor,
    ref=refs,
    dialect=st.sampled_from(Dialect),
    author=texts,
    description=texts,
    deployment_units=st.lists(deployment_units, max_size=3).map(tuple),
    connection_points=st.lists(connection_points, max_size=3).map(tuple),
    virtual_links=st.lists(virtual_links, max_size=3).map(tuple),
)

# --- requests, records, operations, events -----------------------------------------

field_violations = st.builds(FieldViolation, texts, texts)
quota_violations = st.builds(QuotaViolation, texts, texts)

error_statuses = st.builds(
    ErrorStatus,
    code=status_code_names,
    message=texts,
    field_violations=st.lists(field_violations, max_size=3).map(tuple),
    quota_violations=st.lists(quota_violations, max_size=3).map(tuple),
    origin=st.lists(operator_ids, max_size=3).map(tuple),
)

address_constraints = st.builds(AddressConstraint, ids, texts, texts, texts)

placement_constraints = st.builds(
    PlacementConstraints,
    rules=st.dictionaries(ids, st.builds(PlacementRule, texts, texts, texts), max_size=3),
    default_region=texts,
)


@st.composite
def instantiate_requests(draw: st.DrawFn) -> InstantiateRequest:
    source = draw(st.sampled_from(["descriptors", "offer", "none"]))
    descriptors = None
    offer = None
    if source == "descriptors":
        descriptors = ServiceDescriptors(
            nsd=draw(nsds),
            vnfds=tuple(draw(st.lists(vnfds, max_size=2))),
            nested_nsds=tuple(draw(st.lists(nsds, max_size=2))),
        )
    elif source == "offer":
        offer = draw(refs)
    return InstantiateRequest(
        request_id=draw(texts),
        name=draw(texts),
        descriptors=descriptors,
        offer=offer,
        placement=draw(placement_constraints),
        addressing=AddressConstraints(
            address_space=draw(texts),
            constraints=tuple(draw(st.lists(address_constraints, max_size=3))),
        ),
    )


vnf_records = st.builds(
    VnfRecord,
    vnf_id=ids,
    descriptor=refs,
    pop=ids,
    units=st.lists(
        st.builds(
            UnitRecord,
            unit_id=ids,
            server_id=texts,
            resources=resources(),
            ports=st.lists(st.builds(PortRecord, ids, ids, texts, texts), max_size=2).map(tuple),
        ),
        max_size=2,
    ).map(tuple),
)


def service_records(max_depth: int = 2) -> st.SearchStrategy[ServiceRecord]:
    """Records whose delegated parts carry the lower SP's record, ``max_depth`` levels deep."""

    @st.composite
    def part(draw: st.DrawFn, depth: int) -> ServicePart:
        kind = draw(st.sampled_from(PartKind))
        remote = None
        if kind is PartKind.DELEGATED and depth > 0 and draw(st.booleans()):
            remote = draw(record(depth - 1))
        return ServicePart(
            id=draw(ids),
            kind=kind,
            members=tuple(draw(st.lists(ids, max_size=3))),
            pop=draw(texts),
            vnfs=tuple(draw(st.lists(vnf_records, max_size=2))),
            lower_sp=draw(texts),
            remote_service_id=draw(texts),
            remote=remote,
            constraints=tuple(draw(st.lists(address_constraints, max_size=2))),
            address_space=draw(texts),
        )

    @st.composite
    def record(draw: st.DrawFn, depth: int) -> ServiceRecord:
        return ServiceRecord(
            id=draw(ids),
            name=draw(texts),
            descriptor=draw(refs),
            state=draw(st.sampled_from(ServiceState)),
            operator=draw(operator_ids),
            owner=draw(texts),
            request_id=draw(texts),
            create_time=draw(moments),
            update_time=draw(moments),
            parts=tuple(draw(st.lists(part(depth), max_size=3))),
            address_space=draw(texts),
            error=draw(st.none() | error_statuses),
            constraints=tuple(draw(st.lists(address_constraints, max_size=2))),
        )

    return record(max_depth)


operations = st.builds(
    Operation,
    id=ids,
    kind=st.sampled_from(OperationKind),
    service_id=ids,
    state=st.sampled_from(OperationState),
    create_time=moments,
    update_time=moments,
    error=st.none() | error_statuses,
    tasks=st.lists(
        st.builds(
            TaskProgress,
            task=ids,
            state=st.sampled_from(TaskState),
            attempts=st.integers(0, UINT32),
            error=st.none() | error_statuses,
        ),
        max_size=4,
    ).map(tuple),
)

service_events = st.builds(
    ServiceEvent,
    sequence=st.integers(0, UINT63),
    service_id=ids,
    operation_id=ids,
    time=moments,
    origin=st.lists(operator_ids, max_size=3).map(tuple),
    kind=st.sampled_from(ServiceEventKind),
    task=texts,
    part_id=texts,
    state=st.none() | st.sampled_from(ServiceState),
    message=texts,
    error=st.none() | error_statuses,
)

prices = st.builds(Price, st.integers(0, UINT63), st.sampled_from(["EUR", "USD", "JPY"]))

offers = st.builds(
    Offer,
    kind=st.sampled_from(OfferKind),
    descriptor=refs,
    connection_points=st.lists(connection_points, max_size=2).map(tuple),
    regions=st.lists(ids, max_size=3).map(tuple),
    resources=resources(),
    price=st.none() | prices,
)

region_capacities = st.builds(
    RegionCapacity,
    ids,
    resources(max_vcpus=UINT32),
    resources(max_vcpus=UINT32),
    st.integers(0, UINT32),
)

slas = st.builds(RegionSla, ids, ids, st.integers(0, UINT32), st.integers(0, UINT63))

borders = st.builds(
    BorderPoint, ids, ids, st.lists(st.sampled_from(WimService), max_size=2).map(tuple)
)

catalogues = st.builds(
    Catalogue,
    publisher=operator_ids,
    version=st.integers(0, UINT63),
    issue_time=moments,
    offers=st.lists(offers, max_size=4).map(tuple),
    regions=st.lists(region_capacities, max_size=3).map(tuple),
    valid_until=st.none() | moments,
    sla=st.lists(slas, max_size=3).map(tuple),
    borders=st.lists(borders, max_size=2).map(tuple),
    wim_services=st.lists(st.sampled_from(WimService), max_size=2).map(tuple),
    address_constraints=st.lists(ids, max_size=3).map(tuple),
)

# --- address planning --------------------------------------------------------------

LOCAL_PARTS = ("pop:a", "pop:b", "pop:c")
DELEGATED_PARTS = ("sp:x", "sp:y", "sp:z")
FIXED_VNIS = 1_000_000
"""Constraint VNIs start here: far above any generated space, as an upper SP's own are."""

PlanInputs = tuple[ServiceSpace, list[LinkDemand], list[str], PlanSettings]
"""A service space, link demands, the delegated parts and the settings."""


@st.composite
def _mac_block(draw: st.DrawFn) -> str:
    length = draw(st.sampled_from([24, 32, 32, 40, 42, 44]))
    start = (0x025F << 32 | draw(st.integers(0, 2**32 - 1))) & ~((1 << (48 - length)) - 1)
    return f"{format_mac(start)}/{length}"


@st.composite
def _fixed_constraint(
    draw: st.DrawFn, point: str, subnet: Network, space: ServiceSpace, vni: int
) -> AddressConstraint:
    """An upper SP's constraint on one own point: a prefix or an ``a-b`` slice of ``subnet``."""
    link_subnet = str(subnet)
    if draw(st.booleans()):
        slices = list(subnet.subnets(prefixlen_diff=draw(st.integers(0, 2))))
        allowed = draw(st.sampled_from(slices))
        first, last = int(allowed.network_address), int(allowed.broadcast_address)
        prefix = str(allowed)
        if allowed == subnet:
            link_subnet = draw(st.sampled_from(["", link_subnet]))  # "": the prefix itself
    else:
        first = int(subnet.network_address) + draw(st.integers(0, 40))
        last = first + draw(st.integers(0, 40))
        prefix = f"{ipaddress.ip_address(first)}-{ipaddress.ip_address(last)}"
    gateway = draw(st.sampled_from(["", str(next(subnet.hosts()))]))
    # anywhere, or where a node sharing the range among n parts starts a part's piece
    piece = st.integers(1, 4).flatmap(
        lambda n: st.integers(0, n - 1).map(lambda i: first + i * ((last - first + 1) // n))
    )
    anywhere = st.integers(first, last)
    excluded = draw(st.lists(st.one_of(piece, anywhere), max_size=3, unique=True))
    return AddressConstraint(
        connection_point=point,
        prefix=prefix,
        subnet=link_subnet,
        gateway=gateway,
        excluded=tuple(str(ipaddress.ip_address(a)) for a in excluded),
        vni=draw(st.sampled_from([None, IdRange(vni, vni)])),
        mac_prefix=space.macs,
        port_id_prefix=space.port_id_prefix,
        mtu=draw(st.sampled_from([0, 1400, 9000])),
    )


@st.composite
def plan_inputs(draw: st.DrawFn, version: int) -> PlanInputs:
    """A service space, link demands over local, delegated and own parts, and settings.

    Links on an own point are sometimes fixed by an upper SP's constraint (a prefix or
    an ``a-b`` range of a subnet outside the block, one subnet per link, with excluded
    addresses, a VNI outside the space and an MTU), or carry a customer's NAP (each in a
    /31 or /127 of its own, outside the block). Some links ask for a ``cidr`` inside the
    block (disjoint ones); a function's own link may ask for a private one outside it.
    """
    block: Network
    outside: Iterator[Network]
    if version == 4:
        block_len = draw(st.integers(12, 24))
        block = ipaddress.IPv4Network((draw(st.integers(1, 9)) << 24, block_len), strict=False)
        outside = ipaddress.ip_network("172.16.0.0/12").subnets(new_prefix=24)
        naps = ipaddress.ip_network("192.0.2.0/24").subnets(new_prefix=31)
        privates = ["192.168.0.0/24", "192.168.7.0/28", "192.168.9.8/29"]
    else:
        block_len = draw(st.integers(32, 52))
        block = ipaddress.IPv6Network(
            ((0x2001_0DB8 << 96) | (draw(st.integers(0, 255)) << 88), block_len), strict=False
        )
        outside = ipaddress.ip_network("fd00::/40").subnets(new_prefix=56)
        naps = ipaddress.ip_network("fd99::/120").subnets(new_prefix=127)
        privates = ["fd88::/64", "fd88:0:0:7::/120"]
    hint_len = min(block.prefixlen + draw(st.integers(2, 6)), block.max_prefixlen)
    hints = reversed(list(block.subnets(new_prefix=hint_len))[-8:])
    vni_first = draw(st.integers(1, 100_000))
    space = ServiceSpace(
        block=str(block),
        vnis=IdRange(vni_first, vni_first + draw(st.integers(0, 40))),
        macs=draw(_mac_block()),
        port_id_prefix=draw(st.sampled_from(["", "svc-1/", "t/"])),
        mtu=draw(st.sampled_from([1450, 1500, 9000])),
    )
    settings = PlanSettings(
        link_prefix_length=draw(st.integers(24, 30)),
        crossing_link_prefix_length=draw(st.integers(20, 28)),
        part_block_bits=draw(st.sampled_from([1, 2, 3, 3, 4, 4])),
    )
    parts = draw(st.lists(st.sampled_from((*LOCAL_PARTS, *DELEGATED_PARTS)), unique=True))
    if not parts or draw(st.booleans()):
        parts.append(OWN)
    local = [p for p in parts if p in LOCAL_PARTS]
    demands: list[LinkDemand] = []
    for index in range(draw(st.integers(0, 7))):
        link = f"link{index}"
        internal = bool(local) and draw(st.integers(0, 4)) == 0
        if internal:
            members = [draw(st.sampled_from(local))]
        else:
            members = draw(st.lists(st.sampled_from(parts), min_size=1, max_size=4, unique=True))
        endpoints = tuple(
            Endpoint(part, f"{part or 'own'}/{link}/e{n}")
            for part in members
            for n in range(draw(st.integers(1, 2 if part == OWN else 3)))
        )
        own = [e for e in endpoints if e.part == OWN]
        choice = draw(st.sampled_from(["plain", "fixed", "fixed", "nap", "cidr"]))
        fixed: AddressConstraint | None = None
        nap = cidr = ""
        if own and choice == "fixed":
            fixed = draw(_fixed_constraint(own[0].name, next(outside), space, FIXED_VNIS + index))
        elif choice == "nap" and len(own) == 1 and len(endpoints) == 2:
            pair = next(naps)
            host = draw(st.sampled_from([pair.network_address, pair.broadcast_address]))
            nap = f"{host}/{host.max_prefixlen}"
        elif choice == "cidr":
            cidr = draw(st.sampled_from(privates)) if internal else str(next(hints, ""))
        demands.append(
            LinkDemand(
                link,
                endpoints,
                draw(st.sampled_from(ConnectivityType)),
                fixed=fixed,
                nap=nap,
                cidr=cidr,
                dhcp=draw(st.booleans()),
                internal=internal,
            )
        )
    used_delegated = {p for p in parts if p in DELEGATED_PARTS}
    extra = draw(st.lists(st.sampled_from(DELEGATED_PARTS), max_size=2))
    return space, demands, sorted(used_delegated | set(extra)), settings


# --- catalogue aggregation ---------------------------------------------------------

REGIONS = ("eu", "us", "ap", "sa")
FUNCTION_NAMES = ("fw", "ids", "nat", "dpi", "lb")
SERVICE_NAMES = ("chain", "edge", "core")


@st.composite
def aggregation_inputs(
    draw: st.DrawFn,
) -> tuple[
    list[tuple[str, Resources, Resources]],
    list[VnfDescriptor],
    list[NetworkServiceDescriptor],
    list[Catalogue],
]:
    """Own PoPs (region, total, free), own VNFDs and NSDs, and lower SPs' catalogues.

    Lower SPs are named ``lowersp-<n>``: a name no region, vendor or descriptor uses, so
    finding it anywhere in the aggregate means the aggregate leaked it.
    """
    version = st.sampled_from(["1.0", "1.5", "2.0"])

    def fn_ref() -> DescriptorRef:
        return DescriptorRef("v", draw(st.sampled_from(FUNCTION_NAMES)), draw(version))

    def amount() -> Resources:
        return draw(small_resources)

    pops = []
    for _ in range(draw(st.integers(0, 3))):
        free = amount()
        pops.append((draw(st.sampled_from(REGIONS)), free + amount(), free))
    own_vnfds = [
        VnfDescriptor(
            ref=fn_ref(),
            deployment_units=(
                DeploymentUnit("u", resource_requirements=amount()),
                DeploymentUnit("p", kind=UnitKind.PHYSICAL, resource_requirements=amount()),
            ),
            connection_points=(
                ConnectionPoint("in", InterfaceType.IPV4, ConnectionPointType.EXTERNAL, mac="m"),
            ),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    lowers = []
    for n in range(draw(st.integers(0, 3))):
        offers_ = []
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(OfferKind))
            name = draw(
                st.sampled_from(
                    FUNCTION_NAMES if kind is OfferKind.NETWORK_FUNCTION else SERVICE_NAMES
                )
            )
            offers_.append(
                Offer(
                    kind,
                    DescriptorRef("v", name, draw(version)),
                    (ConnectionPoint("in"),),
                    tuple(draw(st.lists(st.sampled_from(REGIONS), max_size=3, unique=True))),
                    amount(),
                )
            )
        capacity = []
        for region in draw(st.lists(st.sampled_from(REGIONS), max_size=3, unique=True)):
            free = amount()
            capacity.append(RegionCapacity(region, free + amount(), free))
        lowers.append(
            Catalogue(
                f"lowersp-{n}",
                draw(st.integers(1, 100)),
                datetime(2026, 1, 1, tzinfo=UTC),
                tuple(offers_),
                tuple(capacity),
            )
        )
    constraint = st.sampled_from(["1.0", ">= 1.0", "<= 1.5", "2.0", ">= 3"])
    own_nsds = []
    for name in draw(st.lists(st.sampled_from(SERVICE_NAMES), max_size=2, unique=True)):
        members = draw(st.lists(st.sampled_from(FUNCTION_NAMES), min_size=1, max_size=3))
        nested = draw(st.lists(st.sampled_from(SERVICE_NAMES), max_size=1))
        own_nsds.append(
            NetworkServiceDescriptor(
                ref=DescriptorRef("v", name, "9.0"),
                network_functions=tuple(
                    NetworkFunctionRef(f"m{i}", DescriptorRef("v", m, draw(constraint)))
                    for i, m in enumerate(members)
                ),
                network_services=tuple(
                    NestedServiceRef(f"n{i}", DescriptorRef("v", m, draw(constraint)))
                    for i, m in enumerate(nested)
                ),
            )
        )
    return pops, own_vnfds, own_nsds, lowers
