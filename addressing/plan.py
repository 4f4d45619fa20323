"""The address plan of one service at one node.

A service's *space* is an address block (IPv4 or IPv6), a range of VNIs, a
MAC block, a port-id prefix and an MTU: taken from the node's pools at the
top, given by the upper SP for a sub-service. Inside it the node plans:

- for each delegated part, a space of its own: a block, a share of the
  VNIs, a MAC sub-block and a port-id prefix (``<prefix><part>/``), where
  the lower SP plans again, recursively;
- for each virtual link it sees, a subnet, a gateway and a VNI:
  - a link inside one part gets a subnet of its own (the descriptor's
    ``cidr`` when it asks for one inside the block); a function's own link
    whose descriptor asks for a ``cidr`` outside the block is a private
    network on exactly that subnet, outside the service's plan; any other
    ``cidr`` outside the block is refused;
  - an E-Line between exactly two parts, one interface each, gets a transit
    /31 (IPv4) or /127 (IPv6): one address per side, no gateway;
  - any other link that crosses parts (an E-LAN, or a line with several
    interfaces on a side) gets one subnet split into disjoint ranges, one
    per participant, with a single gateway;
  - a link on one of the service's own external points, at a lower SP,
    is what the upper SP's constraint says: its range, subnet, gateway,
    VNI and MTU;
  - a link on an own point with a customer NAP (at the top) is the transit
    /31 (/127) that holds the NAP: the point takes the NAP, the service's
    interface the other address;
- for each local interface, an address of its part's range, a MAC of the
  service's own MAC sub-block and a port id (``<prefix><vnf>/<unit>:<cp>``).

A delegated part's slice of each link it touches becomes the
``AddressConstraint`` on its boundary point. By construction nothing
collides: blocks and subnets are disjoint allocations of one pool, ranges
are disjoint splits, and every lower SP plans only inside what it was given.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from addressing.ids import IdPool, split_ids
from addressing.macs import MacBlock, parse_mac_block
from addressing.pool import Network, PrefixPool, parse_network, split_prefix
from spfed.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
)
from spfed.model import AddressConstraint, ConnectivityType, IdRange

__all__ = [
    "OWN",
    "AddressPlan",
    "Endpoint",
    "LinkDemand",
    "LinkPlan",
    "PlanSettings",
    "ServiceSpace",
    "address_range",
    "plan_addresses",
    "reserved_addresses",
]

OWN = ""
"""The part id of the service's own external connection points."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class ServiceSpace:
    """Everything a service's plan at one node draws from."""

    block: str
    """Address block."""
    vnis: IdRange
    """VNIs."""
    macs: str
    """MAC block, ``02:5f:00:01:00:00/32``."""
    port_id_prefix: str
    """Every port id starts with it."""
    mtu: int
    """Largest MTU."""


@dataclass(frozen=True)
class Endpoint:
    """One attachment to a link."""

    part: str
    """Part id (``pop:<name>``, ``sp:<name>``) or ``OWN``."""
    name: str
    """Local port (``vnf/unit:cp``), delegated boundary point, or own point id."""


@dataclass(frozen=True)
class LinkDemand:
    """A link the node has to address."""

    link: str
    """Link id in the deployed service."""
    endpoints: tuple[Endpoint, ...]
    """Attachments."""
    connectivity: ConnectivityType = ConnectivityType.E_LAN
    """E-Line, E-LAN or E-Tree (E-Tree is addressed like an E-LAN)."""
    fixed: AddressConstraint | None = None
    """The upper SP's constraint on the own point this link sits on (at a lower SP)."""
    nap: str = ""
    """A customer's address on the own point this link sits on (at the top)."""
    cidr: str = ""
    """The subnet the descriptor asks for ("" for none)."""
    dhcp: bool = False
    """Whether the descriptor asks for DHCP on the link."""
    internal: bool = False
    """A link inside one function (a VNFD's own link, attached to nothing outside)."""


@dataclass(frozen=True)
class PlanSettings:
    """How spaces are carved."""

    link_prefix_length: int = 27
    """Subnet of a link inside one part (IPv4; IPv6 uses /64)."""
    crossing_link_prefix_length: int = 24
    """Subnet of an E-LAN that crosses parts (IPv4; IPv6 uses /56). It is split among
    the participants, and lower SPs split their range again."""
    part_block_bits: int = 3
    """A delegated part's block and MAC block are the service's split 2**bits ways."""
    point_to_point_links: bool = True
    """An E-Line between exactly two parts gets a /31 (/127), one address each. Off, it
    is planned like any link that crosses parts (``crossing_link_prefix_length``, with a
    gateway): for VIMs that refuse a /31's lower address, like Neutron."""


@dataclass(frozen=True)
class LinkPlan:
    """Addressing of one link."""

    link: str
    """Link id."""
    subnet: str
    """The link's subnet: every interface on it uses its prefix length."""
    gateway: str
    """The link's gateway (no interface takes it; "" for none)."""
    vni: int = 0
    """Its segment's VNI."""
    mtu: int = 0
    """Its MTU."""
    dhcp: bool = False
    """Addresses are also served by DHCP."""
    private: bool = False
    """A network private to one function, on the subnet its descriptor asks for outside
    the service's block: not part of the service's plan (never routed outside it)."""
    excluded: tuple[str, ...] = ()
    """Addresses the upper SP's constraint excludes (a fixed link): no interface takes
    them, and every slice handed down excludes them again."""
    slices: dict[str, str] = field(default_factory=dict)
    """Range of each participating part (``first-last``, or a prefix)."""
    addresses: dict[str, str] = field(default_factory=dict)
    """Per local endpoint (and own point at the top): ``ip/prefixlen``."""
    macs: dict[str, str] = field(default_factory=dict)
    """Per local endpoint: its MAC."""
    port_ids: dict[str, str] = field(default_factory=dict)
    """Per local endpoint: its port id."""


@dataclass(frozen=True)
class AddressPlan:
    """A service's plan at one node."""

    block: str
    """The service's block."""
    space: ServiceSpace | None = None
    """The whole space the plan drew from."""
    part_blocks: dict[str, str] = field(default_factory=dict)
    """Block of each delegated part."""
    part_spaces: dict[str, ServiceSpace] = field(default_factory=dict)
    """Space of each delegated part."""
    links: dict[str, LinkPlan] = field(default_factory=dict)
    """Plan of each link."""

    def boundary(self, part: str) -> dict[str, LinkPlan]:
        """The links a delegated part gets a slice of, by link id."""
        return {lp.link: lp for lp in self.links.values() if part in lp.slices}

    def address_of(self, link: str, endpoint: str) -> str:
        """The planned address of a local endpoint on a link ("" if none)."""
        lp = self.links.get(link)
        return lp.addresses.get(endpoint, "") if lp else ""

    def constraint(self, part: str, point: str, link: str) -> AddressConstraint:
        """The constraint a delegated part gets on its boundary point ``point`` of ``link``."""
        lp = self.links[link]
        space = self.part_spaces.get(part)
        excluded = _excluded(lp, lp.slices[part])
        return AddressConstraint(
            connection_point=point,
            prefix=lp.slices[part],
            subnet=lp.subnet,
            gateway=lp.gateway,
            excluded=excluded,
            vni=IdRange(lp.vni, lp.vni) if lp.vni else None,
            mac_prefix=space.macs if space else "",
            port_id_prefix=space.port_id_prefix if space else "",
            mtu=lp.mtu,
        )


def address_range(text: str) -> tuple[Address, Address]:
    """The first and last address of a prefix (``a/len``) or a range (``a-b``).

    Raises:
        InvalidArgument: neither.
    """
    if "-" in text:
        first_text, _, last_text = text.partition("-")
        try:
            first = ipaddress.ip_address(first_text.strip())
            last = ipaddress.ip_address(last_text.strip())
        except ValueError as exc:
            raise InvalidArgument(f"'{text}' is not an address range: {exc}") from exc
        if first.version != last.version or int(first) > int(last):
            raise InvalidArgument(f"'{text}' is not an address range")
        return first, last
    network = parse_network(text)
    return network.network_address, network.broadcast_address


def reserved_addresses(subnet: Network) -> set[Address]:
    """Addresses of a subnet no interface may take: IPv4's network and broadcast
    addresses, and IPv6's Subnet-Router anycast address (RFC 4291); none on a
    point-to-point /31 or /127."""
    if subnet.num_addresses <= 2:
        return set()
    if subnet.version == 4:
        return {subnet.network_address, subnet.broadcast_address}
    return {subnet.network_address}


def _excluded(lp: LinkPlan, allowed: str) -> tuple[str, ...]:
    """Addresses inside ``allowed`` an interface may not take: the gateway, the upper
    SP's exclusions, and the subnet's reserved addresses."""
    first, last = address_range(allowed)
    subnet = ipaddress.ip_network(lp.subnet)
    out = []
    candidates = [lp.gateway] if lp.gateway else []
    candidates += lp.excluded
    candidates += [str(a) for a in sorted(reserved_addresses(subnet), key=int)]
    for text in candidates:
        address = ipaddress.ip_address(text)
        if address.version == first.version and int(first) <= int(address) <= int(last):
            out.append(text)
    return tuple(dict.fromkeys(out))


def _as_text(first: Address, last: Address) -> str:
    """A range as a prefix when it is one, else ``first-last``."""
    nets = list(ipaddress.summarize_address_range(first, last))
    return str(nets[0]) if len(nets) == 1 else f"{first}-{last}"


def _hosts(first: Address, last: Address, skip: set[Address]) -> Iterator[Address]:
    for value in range(int(first), int(last) + 1):
        address = ipaddress.ip_address(value)
        if address not in skip:
            yield address


class _Planner:
    def __init__(
        self,
        space: ServiceSpace,
        delegated: Sequence[str],
        settings: PlanSettings,
        owner: str,
    ) -> None:
        self.space = space
        self.network = parse_network(space.block, field="address_space")
        self.pool = PrefixPool(f"{owner}:{space.block}", self.network)
        self.delegated = sorted(set(delegated))
        self.settings = settings
        self.v4 = self.network.version == 4
        self.macs = parse_mac_block(space.macs)
        self._mac_blocks = self._split_macs()
        self._next_mac = 0
        self.vnis, self.part_vnis = self._split_vnis()
        self.links: dict[str, LinkPlan] = {}
        self.private: dict[str, Network] = {}
        self.naps: dict[Network, str] = {}

    def _split_macs(self) -> list[MacBlock]:
        needed = len(self.delegated) + 1
        if needed > 1 << self.settings.part_block_bits:
            raise ResourceExhausted(
                f"{len(self.delegated)} delegated parts do not fit the service's MAC block"
                f" {self.macs} split {1 << self.settings.part_block_bits} ways",
                quota_violations=[QuotaViolation(f"macs:{self.macs}", f"{needed} blocks asked")],
            )
        return self.macs.split(self.settings.part_block_bits)

    def _split_vnis(self) -> tuple[IdPool, dict[str, IdRange]]:
        """Half of the VNIs for the node's own links, the rest shared by delegated parts."""
        space = self.space.vnis
        if not self.delegated:
            return IdPool("vnis", space), {}
        own = max(1, space.size // 2)
        if space.size - own < len(self.delegated):
            raise ResourceExhausted(
                f"VNIs {space} cannot be shared by the node and {len(self.delegated)} parts",
                quota_violations=[QuotaViolation(f"vnis:{space}", "too few VNIs")],
            )
        rest = IdRange(space.first + own, space.last)
        shares = split_ids(rest, len(self.delegated))
        return IdPool("vnis", IdRange(space.first, space.first + own - 1)), dict(
            zip(self.delegated, shares, strict=True)
        )

    def part_spaces(self) -> dict[str, ServiceSpace]:
        part_len = min(
            self.network.prefixlen + self.settings.part_block_bits, self.network.max_prefixlen
        )
        out = {}
        for i, part in enumerate(self.delegated):
            block = self.pool.allocate(part_len, part)
            out[part] = ServiceSpace(
                block=str(block),
                vnis=self.part_vnis[part],
                macs=str(self._mac_blocks[i + 1]),
                port_id_prefix=f"{self.space.port_id_prefix}{part}/",
                mtu=self.space.mtu,
            )
        return out

    def mac(self) -> str:
        mac = self._mac_blocks[0].address(self._next_mac)
        self._next_mac += 1
        return mac

    def vni(self, link: str) -> int:
        return self.vnis.allocate(1, link).first

    def reserve_hinted(self, demands: Sequence[LinkDemand]) -> dict[str, Network]:
        """Subnets the descriptors ask for (``cidr``), reserved before anything else.

        Raises:
            FailedPrecondition: a hint outside the block, or overlapping another one.
        """
        out: dict[str, Network] = {}
        for demand in demands:
            if not demand.cidr or demand.fixed is not None:
                continue
            where = f"virtual_links[{demand.link}].cidr"
            try:
                subnet = ipaddress.ip_network(demand.cidr, strict=False)
            except ValueError:
                raise InvalidArgument(
                    f"link {demand.link} asks for cidr '{demand.cidr}', which is not a prefix",
                    field_violations=[FieldViolation(where, "not a prefix")],
                ) from None
            inside = subnet.version == self.network.version and subnet.subnet_of(self.network)  # type: ignore[arg-type]
            if not inside and demand.internal:
                self.private[demand.link] = subnet
                continue
            if not inside:
                raise FailedPrecondition(
                    f"link {demand.link} asks for cidr {subnet}, outside the service's block"
                    f" {self.network}; spfed plans every address of a service inside its block",
                    field_violations=[
                        FieldViolation(where, f"must lie inside {self.network} (refused)")
                    ],
                )
            try:
                self.pool.reserve(subnet, demand.link)
            except Exception as exc:
                raise FailedPrecondition(
                    f"link {demand.link} asks for cidr {subnet}, which is taken: {exc}",
                    field_violations=[FieldViolation(where, "overlaps another link's subnet")],
                ) from exc
            out[demand.link] = subnet
        return out

    def plan_link(self, demand: LinkDemand, hinted: Network | None) -> LinkPlan | None:
        parts = {e.part for e in demand.endpoints}
        if len(parts) == 1 and parts <= set(self.delegated) and demand.fixed is None:
            return None  # entirely inside one lower SP: its own business
        mtu = self.space.mtu
        if demand.fixed is not None:
            return self._fixed(demand)
        if demand.nap:
            return self._nap(demand, mtu)
        if demand.link in self.private:
            return self._private(demand, self.private[demand.link], mtu)
        participants = sorted(parts)
        per_part = {p: [e for e in demand.endpoints if e.part == p] for p in participants}
        transit = (
            self.settings.point_to_point_links
            and demand.connectivity is ConnectivityType.E_LINE
            and len(participants) == 2
            and all(len(v) == 1 for v in per_part.values())
        )
        if hinted is not None:
            subnet = hinted
        elif transit:
            subnet = self.pool.allocate(31 if self.v4 else 127, demand.link)
        elif len(participants) > 1:
            length = self.settings.crossing_link_prefix_length if self.v4 else 56
            subnet = self.pool.allocate(max(length, self.network.prefixlen), demand.link)
        else:
            length = self.settings.link_prefix_length if self.v4 else 64
            subnet = self.pool.allocate(max(length, self.network.prefixlen), demand.link)
        if transit and subnet.num_addresses == 2:
            low, high = subnet.network_address, subnet.broadcast_address
            ranges = {participants[0]: (low, low), participants[1]: (high, high)}
            gateway = ""
            skip: set[Address] = set()
        else:
            gateway_address: Address | None = (
                ipaddress.ip_address(int(subnet.network_address) + 1)
                if subnet.num_addresses > 2
                else None
            )
            gateway = str(gateway_address) if gateway_address is not None else ""
            split = split_prefix(subnet, len(participants))
            ranges = {
                p: (n.network_address, n.broadcast_address)
                for p, n in zip(participants, split, strict=False)
            }
            skip = reserved_addresses(subnet)
            if gateway_address is not None:
                skip.add(gateway_address)
        return self._addresses(demand, subnet, gateway, ranges, skip, mtu, self.vni(demand.link))

    def _private(self, demand: LinkDemand, subnet: Network, mtu: int) -> LinkPlan:
        """A function's own network on the subnet its descriptor asks for."""
        gateway = ipaddress.ip_address(int(subnet.network_address) + 1)
        first, last = subnet.network_address, subnet.broadcast_address
        skip = reserved_addresses(subnet) | {gateway}
        parts = sorted({e.part for e in demand.endpoints})
        plan = self._addresses(
            demand,
            subnet,
            str(gateway),
            dict.fromkeys(parts, (first, last)),
            skip,
            mtu,
            self.vni(demand.link),
        )
        return replace(plan, private=True, slices={})

    def _fixed(self, demand: LinkDemand) -> LinkPlan:
        constraint = demand.fixed
        assert constraint is not None
        first, last = address_range(constraint.prefix)
        subnet = parse_network(constraint.subnet or constraint.prefix, field=f"link {demand.link}")
        try:
            skip = {
                ipaddress.ip_address(a) for a in (*constraint.excluded, constraint.gateway) if a
            }
        except ValueError as exc:
            where = f"constraints[{constraint.connection_point}]"
            raise InvalidArgument(
                f"link {demand.link}: {exc}", field_violations=[FieldViolation(where, str(exc))]
            ) from exc
        skip |= reserved_addresses(subnet)
        vni = constraint.vni.first if constraint.vni is not None else self.vni(demand.link)
        mtu = min((m for m in (constraint.mtu, self.space.mtu) if m), default=0)
        inner = sorted({e.part for e in demand.endpoints if e.part != OWN})
        ranges = self._share(first, last, inner, demand.link)
        plan = self._addresses(
            demand, subnet, constraint.gateway, ranges, skip, mtu, vni, fixed=constraint.prefix
        )
        return replace(
            plan, excluded=tuple(str(ipaddress.ip_address(a)) for a in constraint.excluded)
        )

    def _share(
        self, first: Address, last: Address, parts: Sequence[str], link: str
    ) -> dict[str, tuple[Address, Address]]:
        """A range shared by the parts of this node on a link: equal consecutive pieces."""
        if not parts:
            return {}
        total = int(last) - int(first) + 1
        size = total // len(parts)
        if size == 0:
            raise ResourceExhausted(
                f"link {link}: {first}-{last} cannot be shared by {len(parts)} parts",
                quota_violations=[QuotaViolation(f"link:{link}", f"{len(parts)} ranges asked")],
            )
        out = {}
        for i, part in enumerate(parts):
            low = int(first) + i * size
            high = int(last) if i == len(parts) - 1 else low + size - 1
            out[part] = (ipaddress.ip_address(low), ipaddress.ip_address(high))
        return out

    def _nap(self, demand: LinkDemand, mtu: int) -> LinkPlan:
        """A link on an own point with a customer NAP: the /31 (/127) that holds the NAP."""
        try:
            customer = ipaddress.ip_interface(demand.nap)
        except ValueError:
            raise InvalidArgument(
                f"NAP '{demand.nap}' is not an address",
                field_violations=[FieldViolation("addressing.ingresses/egresses.nap", "address")],
            ) from None
        if customer.network.num_addresses != 1:
            raise InvalidArgument(
                f"NAP {demand.nap} names a network, not the customer's one address",
                field_violations=[FieldViolation("nap", "a host address (/32 or /128)")],
            )
        if customer.version != self.network.version:
            raise FailedPrecondition(
                f"NAP {demand.nap} is IPv{customer.version}; the service is planned in"
                f" IPv{self.network.version}"
            )
        if customer.ip in self.network:
            raise FailedPrecondition(
                f"NAP {demand.nap} lies inside the service's own block {self.network}"
            )
        others = [e for e in demand.endpoints if e.part != OWN]
        if len(others) != 1:
            raise FailedPrecondition(
                f"link {demand.link}: a NAP attaches to one interface of the service,"
                f" not {len(others)}"
            )
        subnet = ipaddress.ip_network(f"{customer.ip}/{31 if self.v4 else 127}", strict=False)
        if subnet in self.naps:
            # both links would hold the same two addresses
            raise FailedPrecondition(
                f"NAP {demand.nap} on link {demand.link} shares {subnet} with the NAP on"
                f" link {self.naps[subnet]}; each NAP needs a /{subnet.prefixlen} of its own"
            )
        self.naps[subnet] = demand.link
        peer = (
            subnet.broadcast_address
            if customer.ip == subnet.network_address
            else subnet.network_address
        )
        ranges = {OWN: (customer.ip, customer.ip), others[0].part: (peer, peer)}
        return self._addresses(demand, subnet, "", ranges, set(), mtu, self.vni(demand.link))

    def _addresses(
        self,
        demand: LinkDemand,
        subnet: Network,
        gateway: str,
        ranges: Mapping[str, tuple[Address, Address]],
        skip: set[Address],
        mtu: int,
        vni: int,
        fixed: str = "",
    ) -> LinkPlan:
        addresses: dict[str, str] = {}
        macs: dict[str, str] = {}
        port_ids: dict[str, str] = {}
        for part, (first, last) in ranges.items():
            if part in self.delegated:
                continue
            local = [e for e in demand.endpoints if e.part == part]
            free = _hosts(first, last, skip)
            for endpoint in local:
                host = next(free, None)
                if host is None:
                    raise ResourceExhausted(
                        f"link {demand.link}: {_as_text(first, last)} has no address left for"
                        f" {endpoint.name}",
                        quota_violations=[
                            QuotaViolation(f"link:{demand.link}", f"{len(local)} addresses asked")
                        ],
                    )
                addresses[endpoint.name] = f"{host}/{subnet.prefixlen}"
                if part != OWN:
                    macs[endpoint.name] = self.mac()
                    port_ids[endpoint.name] = f"{self.space.port_id_prefix}{endpoint.name}"
        slices = {p: _as_text(first, last) for p, (first, last) in ranges.items()}
        if fixed and not ranges:
            slices = {}
        return LinkPlan(
            link=demand.link,
            subnet=str(subnet),
            gateway=gateway,
            vni=vni,
            mtu=mtu,
            dhcp=demand.dhcp,
            slices=slices,
            addresses=addresses,
            macs=macs,
            port_ids=port_ids,
        )


def plan_addresses(
    space: ServiceSpace,
    links: Sequence[LinkDemand],
    delegated_parts: Sequence[str],
    settings: PlanSettings,
    *,
    owner: str = "service",
) -> AddressPlan:
    """Plan a service's addresses, VNIs, MACs and port ids inside ``space``.

    Links whose endpoints all lie in one delegated part are left to that
    lower SP and get no entry.

    Raises:
        ResourceExhausted: the block, a subnet, a range, the VNIs or the MAC
            block is too small; the violation names it.
        FailedPrecondition: a descriptor's ``cidr`` or a NAP cannot be honoured.
        InvalidArgument: a ``cidr``, NAP or constraint that is not an address at all.
    """
    planner = _Planner(space, delegated_parts, settings, owner)
    delegated = set(delegated_parts)
    mine = [
        d
        for d in links
        if d.fixed is not None
        or not (
            len({e.part for e in d.endpoints}) == 1 and {e.part for e in d.endpoints} <= delegated
        )
    ]
    hinted = planner.reserve_hinted(mine)
    part_spaces = planner.part_spaces()
    plans: dict[str, LinkPlan] = {}
    for demand in links:
        plan = planner.plan_link(demand, hinted.get(demand.link))
        if plan is not None:
            plans[demand.link] = plan
    return AddressPlan(
        block=str(planner.network),
        space=space,
        part_blocks={p: s.block for p, s in part_spaces.items()},
        part_spaces=part_spaces,
        links=plans,
    )
