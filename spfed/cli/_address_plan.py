"""A service's address plan as people read it: one row per interface, end to end.

``plan_rows`` flattens a service tree into the interfaces every operator
deployed (address, VNI, MAC, port id, and the operator whose plan chose
them), plus the customer's side of the top node's own points; rows are
sorted by link, so both ends of a link that crosses operators sit together.
``plan_checks`` re-runs the node's own checks on every level of the tree
(each lower SP's answers against the constraints it got, and no address,
MAC or port id twice) and checks that every link's interfaces share one
subnet, which is what lets packets flow along the chain.
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from addressing import address_range
from spfed.lifecycle.addresses import address_problems
from spfed.model import PartKind, ServiceRecord

__all__ = ["PlanRow", "address_plan_table", "plan_checks", "plan_rows", "print_address_plan"]


@dataclass(frozen=True)
class PlanRow:
    """One interface of the service's address plan."""

    link: str
    """Link it sits on ("" when unknown)."""
    interface: str
    """``vnf/unit:cp``, or ``customer @ <point>`` for the customer's side of an own point."""
    address: str
    """Address with prefix length, or the range the customer may use."""
    chosen_by: str
    """Operator whose plan chose it."""
    vni: int = 0
    """Segment VNI (0: none)."""
    mac: str = ""
    """MAC ("" for none)."""
    port_id: str = ""
    """Port id ("" for none)."""
    mtu: int = 0
    """MTU (0: the VIM's default)."""
    private: bool = False
    """On a function's private network (outside the service's plan)."""


def _records(record: ServiceRecord) -> Iterator[ServiceRecord]:
    yield record
    for part in record.parts:
        if part.remote is not None:
            yield from _records(part.remote)


def _ports(record: ServiceRecord) -> list[PlanRow]:
    return [
        PlanRow(
            link=port.virtual_link,
            interface=f"{vnf.vnf_id}/{unit.unit_id}:{port.connection_point}",
            address=port.address,
            chosen_by=record.operator,
            vni=port.vni,
            mac=port.mac,
            port_id=port.port_id,
            mtu=port.mtu,
            private=port.private,
        )
        for part in record.parts
        if part.kind is PartKind.LOCAL
        for vnf in part.vnfs
        for unit in vnf.units
        for port in unit.ports
    ]


def _customer_side(record: ServiceRecord, ports: list[PlanRow]) -> list[PlanRow]:
    """The customer's side of the top node's own points: a host (a NAP's /31) or a range.

    A point whose one address is an interface of the tree itself (the end of a
    slice link, whose other end is another service) has no customer side.
    """
    held = {ipaddress.ip_interface(p.address).ip for p in ports if p.address and not p.private}
    out = []
    for c in record.constraints:
        first, last = address_range(c.prefix)
        if first == last and first in held:
            continue
        base = c.subnet or c.prefix
        subnet = None if "-" in base else ipaddress.ip_network(base, strict=False)
        address = c.prefix
        if first == last and subnet is not None:
            address = f"{first}/{subnet.prefixlen}"
        link = next(
            (
                p.link
                for p in ports
                if subnet is not None
                and p.address
                and not p.private
                and ipaddress.ip_interface(p.address).network == subnet
            ),
            "",
        )
        out.append(
            PlanRow(
                link=link,
                interface=f"customer @ {c.connection_point}",
                address=address,
                chosen_by=record.operator,
                vni=c.vni.first if c.vni is not None and c.vni.size == 1 else 0,
                mtu=c.mtu,
            )
        )
    return out


def _address_key(text: str) -> int:
    """Numeric order of an address (``a/len``), a range (``a-b``) or a prefix; "" first."""
    if not text:
        return -1
    if "-" in text:
        return int(address_range(text)[0])
    return int(ipaddress.ip_interface(text).ip)


def plan_rows(record: ServiceRecord) -> list[PlanRow]:
    """Every interface of the service tree, and the customer's side of its own points."""
    ports = [row for r in _records(record) for row in _ports(r)]
    rows = ports + _customer_side(record, ports)
    return sorted(rows, key=lambda r: (r.private, r.link, _address_key(r.address), r.interface))


def plan_checks(record: ServiceRecord) -> tuple[list[str], list[str]]:
    """What holds and what is wrong with the plan, as (passed, problems) lines."""
    problems: list[str] = []
    answers = 0
    for r in _records(record):
        problems += address_problems(r, r.operator)
        answers += sum(
            len(p.remote.assignments)
            for p in r.parts
            if p.kind is PartKind.DELEGATED and p.remote is not None
        )
    rows = [row for r in _records(record) for row in _ports(r) if row.address]
    by_link: dict[str, set[str]] = {}
    for row in rows:
        if not row.private:
            network = ipaddress.ip_interface(row.address).network
            by_link.setdefault(row.link, set()).add(str(network))
    problems += [
        f"link {link}: interfaces on {len(subnets)} subnets ({', '.join(sorted(subnets))})"
        for link, subnets in sorted(by_link.items())
        if len(subnets) > 1
    ]
    passed = []
    if not problems:
        passed = [
            f"{len(rows)} interfaces on {len(by_link)} links: no address, MAC or port id twice,"
            " and each link's interfaces share one subnet",
            f"{answers} answers from lower SPs, each inside the constraint it was given",
        ]
    return passed, problems


def _widest(texts: Iterator[str]) -> int:
    return max((len(text) for text in texts), default=1)


def address_plan_table(record: ServiceRecord) -> Table:
    """The plan as a table: link, interface, address, VNI, MAC, port id, chosen by.

    Port ids share the top's prefix (operator and service); the header names it
    once and the rows show the rest.
    """
    rows = plan_rows(record)
    port_ids = [row.port_id for row in rows if row.port_id]
    shared = posixpath.commonpath(port_ids) if len(port_ids) > 1 else ""
    common = f"{shared}/" if shared else ""
    table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
    # Addresses, VNIs and MACs stay whole; names fold when the terminal is narrow.
    table.add_column("link", overflow="fold", min_width=8)
    table.add_column("interface", overflow="fold", min_width=12)
    table.add_column("address", no_wrap=True, min_width=_widest(r.address for r in rows))
    table.add_column("VNI", no_wrap=True, min_width=_widest(str(r.vni) for r in rows))
    table.add_column("MAC", no_wrap=True, min_width=_widest(r.mac for r in rows))
    table.add_column(f"port id ({common}…)" if common else "port id", overflow="fold", min_width=12)
    table.add_column("chosen by", overflow="fold", min_width=8)
    for row in rows:
        address = Text(row.address or "-")
        if row.private:
            address.append(" private", style="dim")
        table.add_row(
            row.link or "-",
            row.interface,
            address,
            str(row.vni) if row.vni else "-",
            row.mac or "-",
            row.port_id.removeprefix(common) or "-",
            Text(row.chosen_by, style="cyan"),
        )
    return table


def print_address_plan(console: Console, record: ServiceRecord) -> bool:
    """Print the plan's table and checks; whether every check passed."""
    console.print(Text("address plan", style="bold"))
    console.print(address_plan_table(record))
    passed, problems = plan_checks(record)
    for line in passed:
        console.print(Text(f"✓ {line}", style="green"))
    for line in problems:
        console.print(Text(f"✗ {line}", style="red"))
    return not problems
