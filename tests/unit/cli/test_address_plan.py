"""The address plan as ``spfed service show`` prints it, and its end-to-end checks.

A two-operator chain: ``top`` runs the firewall and delegates the NAT to
``low``, over the transit link ``fw-2-nat`` (10.9.1.0/31); the customer
enters on ``input`` (10.9.1.2/31). The checks must pass on the consistent
record and name each kind of breakage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from spfed.cli._address_plan import address_plan_table, plan_checks, plan_rows
from spfed.model import (
    AddressAssignment,
    AddressConstraint,
    DescriptorRef,
    IdRange,
    PartKind,
    PortRecord,
    ServicePart,
    ServiceRecord,
    ServiceState,
    UnitRecord,
    VnfRecord,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LOW_POINT = AddressConstraint(
    "fw-2-nat",
    "10.9.1.1/32",
    "10.9.1.0/31",
    vni=IdRange(700, 700),
    mac_prefix="02:5f:00:00:40:00/35",
    port_id_prefix="top/s1/sp:low/",
    mtu=1450,
)
NAT_PORT = PortRecord(
    "eth1", "fw-2-nat", "10.9.1.1/31", "02:5f:00:00:40:01", "top/s1/sp:low/nat/u:eth1", 700, 1450
)


def _unit(vnf: str, pop: str, ports: tuple[PortRecord, ...]) -> VnfRecord:
    return VnfRecord(
        vnf, DescriptorRef("eu.test", vnf, "1.0"), pop, (UnitRecord("u", "srv", ports=ports),)
    )


def _record(operator: str, parts: tuple[ServicePart, ...], **extra: object) -> ServiceRecord:
    return replace(
        ServiceRecord(
            id=f"{operator}-1",
            name="chain",
            descriptor=DescriptorRef("eu.test", "chain", "1.0"),
            state=ServiceState.ACTIVE,
            operator=operator,
            owner="alice",
            request_id="r",
            create_time=T0,
            update_time=T0,
            parts=parts,
        ),
        **extra,  # type: ignore[arg-type]
    )


def low(port: PortRecord = NAT_PORT, answer: AddressAssignment | None = None) -> ServiceRecord:
    answer = answer or AddressAssignment(
        "fw-2-nat", port.address, port.mac, port.port_id, port.vni, port.mtu, "low"
    )
    fra = ServicePart("pop:fra", PartKind.LOCAL, ("nat",), "fra", (_unit("nat", "fra", (port,)),))
    return _record("low", (fra,), constraints=(LOW_POINT,), assignments=(answer,))


def top(lower: ServiceRecord | None = None, fw_address: str = "10.9.1.0/31") -> ServiceRecord:
    fw_ports = (
        PortRecord(
            "eth1", "input-2-fw", "10.9.1.3/31", "02:5f:00:00:00:00", "top/s1/fw/u:eth1", 699
        ),
        PortRecord("eth2", "fw-2-nat", fw_address, "02:5f:00:00:00:01", "top/s1/fw/u:eth2", 700),
        PortRecord(
            "eth3",
            "fw/scratch",
            "192.168.0.2/29",
            "02:5f:00:00:00:02",
            "top/s1/fw/u:eth3",
            private=True,
        ),
    )
    ams = ServicePart("pop:ams", PartKind.LOCAL, ("fw",), "ams", (_unit("fw", "ams", fw_ports),))
    sp = ServicePart(
        "sp:low",
        PartKind.DELEGATED,
        ("nat",),
        lower_sp="low",
        remote_service_id="low-1",
        remote=lower or low(),
        constraints=(LOW_POINT,),
    )
    customer = AddressConstraint("input", "10.9.1.2/32", "10.9.1.2/31", vni=IdRange(699, 699))
    return _record("top", (ams, sp), constraints=(customer,))


def test_rows_are_every_interface_by_link_with_who_chose_it() -> None:
    rows = plan_rows(top())
    assert [(r.link, r.interface, r.address, r.vni, r.chosen_by) for r in rows] == [
        ("fw-2-nat", "fw/u:eth2", "10.9.1.0/31", 700, "top"),
        ("fw-2-nat", "nat/u:eth1", "10.9.1.1/31", 700, "low"),
        ("input-2-fw", "customer @ input", "10.9.1.2/31", 699, "top"),
        ("input-2-fw", "fw/u:eth1", "10.9.1.3/31", 699, "top"),
        ("fw/scratch", "fw/u:eth3", "192.168.0.2/29", 0, "top"),  # private networks last
    ]
    assert rows[1].port_id == "top/s1/sp:low/nat/u:eth1"
    assert rows[1].mac == "02:5f:00:00:40:01"
    assert rows[-1].private


def test_a_consistent_plan_passes_every_check() -> None:
    passed, problems = plan_checks(top())
    assert problems == []
    assert passed == [
        "4 interfaces on 2 links: no address, MAC or port id twice,"
        " and each link's interfaces share one subnet",
        "1 answers from lower SPs, each inside the constraint it was given",
    ]


def test_an_answer_outside_its_constraint_is_named() -> None:
    wrong = AddressAssignment("fw-2-nat", "10.9.7.1/31", chosen_by="low", vni=701)
    _, problems = plan_checks(top(low(answer=wrong)))
    assert "lower SP low on fw-2-nat: address 10.9.7.1/31 outside 10.9.1.1/32" in problems
    assert "lower SP low on fw-2-nat: VNI 701 outside 700" in problems


def test_an_address_twice_in_the_tree_is_a_collision() -> None:
    _, problems = plan_checks(top(fw_address="10.9.1.1/31"))
    assert any("10.9.1.1" in p for p in problems), problems


def test_a_link_split_over_two_subnets_is_named() -> None:
    _, problems = plan_checks(top(fw_address="10.9.5.0/31"))
    assert "link fw-2-nat: interfaces on 2 subnets (10.9.1.0/31, 10.9.5.0/31)" in problems


def test_table_shows_mac_port_id_and_chooser(render: Callable[..., str]) -> None:
    lines = render(address_plan_table(top())).splitlines()
    assert lines[0].split() == [
        "link",
        "interface",
        "address",
        "VNI",
        "MAC",
        "port",
        "id",
        "(top/s1/…)",
        "chosen",
        "by",
    ]
    nat = next(line for line in lines if "nat/u:eth1" in line).split()
    assert nat == [
        "fw-2-nat",
        "nat/u:eth1",
        "10.9.1.1/31",
        "700",
        "02:5f:00:00:40:01",
        "sp:low/nat/u:eth1",
        "low",
    ]
    customer = next(line for line in lines if "customer" in line).split()
    assert customer == [
        "input-2-fw",
        "customer",
        "@",
        "input",
        "10.9.1.2/31",
        "699",
        "-",
        "-",
        "top",
    ]
    assert "192.168.0.2/29 private" in render(address_plan_table(top()))


def test_a_point_held_by_one_of_the_services_own_ports_has_no_customer_row() -> None:
    record = top()
    port = next(r for r in plan_rows(record) if r.interface == "fw/u:eth1")
    ip = port.address.split("/")[0]
    held = replace(
        record,
        constraints=tuple(
            replace(c, prefix=f"{ip}/32") if c.connection_point == "input" else c
            for c in record.constraints
        ),
    )
    assert not [r for r in plan_rows(held) if r.interface == "customer @ input"]
    assert [r for r in plan_rows(record) if r.interface == "customer @ input"]
