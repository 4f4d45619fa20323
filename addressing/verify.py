"""Checks of what lower SPs report back against what they were given.

On the way up, a node checks each lower SP's assignments against the
constraints it gave (address in range and not excluded, MAC in the MAC
prefix, port id under its prefix, VNI in its range, MTU within bound), every
address of the lower SP's tree against its block and constraints, and the
whole tree for collisions: no address, MAC or port id twice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from addressing.macs import parse_mac_block
from addressing.plan import address_range
from spfed.errors import InvalidArgument
from spfed.model import AddressAssignment, AddressConstraint

__all__ = ["assignment_problems", "find_collisions", "find_duplicates", "outside_constraints"]


def _in(text: str, allowed: str) -> bool:
    try:
        address = ipaddress.ip_interface(text).ip
        first, last = address_range(allowed)
    except (ValueError, InvalidArgument):
        return False
    return address.version == first.version and int(first) <= int(address) <= int(last)


def outside_constraints(allowed: Sequence[str], reported: Iterable[str]) -> list[str]:
    """Reported ``ip/len`` addresses that lie in none of the ``allowed`` prefixes or ranges.

    A report that is not an address at all is listed too: a lower SP that
    sends garbage has not honoured its constraints either.
    """
    return [text for text in reported if not any(_in(text, a) for a in allowed)]


def assignment_problems(
    constraint: AddressConstraint, assignment: AddressAssignment, who: str
) -> list[str]:
    """What is wrong with one assignment against the constraint it answers (``[]``: nothing)."""
    point = f"{who} on {constraint.connection_point}"
    problems = []
    if not _in(assignment.address, constraint.prefix):
        problems.append(f"{point}: address {assignment.address} outside {constraint.prefix}")
    else:
        bare = str(ipaddress.ip_interface(assignment.address).ip)
        taken = {*constraint.excluded, *([constraint.gateway] if constraint.gateway else [])}
        if bare in taken:
            problems.append(f"{point}: address {bare} is excluded")
        subnet = constraint.subnet or constraint.prefix
        if "-" not in subnet:
            length = ipaddress.ip_network(subnet).prefixlen
            if ipaddress.ip_interface(assignment.address).network.prefixlen != length:
                problems.append(f"{point}: {assignment.address} does not use the link's /{length}")
    if (
        constraint.mac_prefix
        and assignment.mac
        and assignment.mac not in parse_mac_block(constraint.mac_prefix)
    ):
        problems.append(f"{point}: MAC {assignment.mac} outside {constraint.mac_prefix}")
    if constraint.port_id_prefix and not assignment.port_id.startswith(constraint.port_id_prefix):
        problems.append(
            f"{point}: port id '{assignment.port_id}' not under '{constraint.port_id_prefix}'"
        )
    if constraint.vni is not None and assignment.vni not in constraint.vni:
        problems.append(f"{point}: VNI {assignment.vni} outside {constraint.vni}")
    if constraint.mtu and assignment.mtu > constraint.mtu:
        problems.append(f"{point}: MTU {assignment.mtu} above {constraint.mtu}")
    return problems


def find_duplicates(holders: Iterable[tuple[str, str]], what: str) -> list[str]:
    """Values held twice (MACs, port ids), as ``"<what> v held by a and b"`` lines."""
    seen: dict[str, str] = {}
    problems = []
    for holder, value in holders:
        if not value:
            continue
        key = value.lower()
        if key in seen:
            problems.append(f"{what} {value} held by {seen[key]} and {holder}")
        else:
            seen[key] = holder
    return problems


def find_collisions(holders: Iterable[tuple[str, str]]) -> list[str]:
    """Addresses held twice, as ``"10.0.0.5 held by a and b"`` lines.

    ``holders`` yields ``(holder, "ip/len")`` pairs.
    """
    seen: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, str] = {}
    problems = []
    for holder, text in holders:
        try:
            address = ipaddress.ip_interface(text).ip
        except ValueError:
            continue  # reported by outside_constraints
        if address in seen:
            problems.append(f"{address} held by {seen[address]} and {holder}")
        else:
            seen[address] = holder
    return problems
