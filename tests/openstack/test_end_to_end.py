"""End to end on a real OpenStack: a service instantiated at the top node gets servers
booted in Nova, on Neutron ports with the planned addresses, and terminate leaves nothing.

Two topologies:

- two operators, ``retail`` (an emulated PoP) above ``cloud-op``, whose only PoP is the
  OpenStack cloud: the chain's DPI and NAT are delegated and land in Nova;
- one operator with an emulated PoP and an OpenStack PoP side by side: one service puts
  its firewall on the first and its DPI and NAT on the second.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from spfed.descriptors import load_files
from spfed.model import (
    DescriptorRef,
    InstantiateRequest,
    PlacementConstraints,
    PlacementRule,
    ServiceDescriptors,
    ServiceRecord,
    ServiceState,
    UnitRecord,
)
from tests.integration._federation import Federation, Operator, settle
from tests.openstack._cloud import pop_options
from tests.openstack.harness import CloudInfo

pytestmark = [pytest.mark.openstack, pytest.mark.timeout(240)]

CHAIN = Path(__file__).resolve().parents[2] / "examples" / "openstack"
FUNCTIONS = [CHAIN / "vnfd-cloud-dpi.yml", CHAIN / "vnfd-cloud-nat.yml"]
RULES = PlacementConstraints(
    rules={
        "vnf_fw": PlacementRule(region="nl"),
        "vnf_dpi": PlacementRule(region="de"),
        "vnf_nat": PlacementRule(region="de"),
    }
)


def _request(request_id: str) -> InstantiateRequest:
    files = load_files([CHAIN])
    nsd = files.find_nsd(DescriptorRef("eu.spfed.cloud", "cloud-chain", "1.0"))
    assert nsd is not None
    return InstantiateRequest(
        request_id=request_id,
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=tuple(files.vnfds)),
        placement=RULES,
    )


def _units_on(record: ServiceRecord, pop: str) -> list[UnitRecord]:
    """Every unit on PoP ``pop`` anywhere in the service's tree."""
    units = [u for p in record.parts if p.pop == pop for v in p.vnfs for u in v.units]
    for part in record.parts:
        if part.remote is not None:
            units += _units_on(part.remote, pop)
    return units


def _check_in_nova(admin: Any, units: Sequence[UnitRecord]) -> tuple[list[str], list[str]]:
    """Each unit is an ACTIVE Nova server whose Neutron ports hold exactly the planned
    addresses and MACs; returns the ids of those ports and of the networks they are on."""
    ports, networks = [], []
    for unit in units:
        server = admin.compute.get_server(unit.server_id)
        assert server.status == "ACTIVE", (unit.unit_id, server.status)
        held_ports = list(admin.network.ports(device_id=unit.server_id))
        held = {
            (ipaddress.ip_address(f["ip_address"]), p.mac_address.lower())
            for p in held_ports
            for f in p.fixed_ips
        }
        planned = {(ipaddress.ip_interface(p.address).ip, p.mac) for p in unit.ports}
        assert planned, unit.unit_id
        assert held == planned, unit.unit_id
        ports += [p.id for p in held_ports]
        networks += [p.network_id for p in held_ports]
    return ports, networks


def _nothing_left(
    admin: Any, units: Sequence[UnitRecord], ports: Sequence[str], networks: Sequence[str]
) -> None:
    for unit in units:
        assert admin.compute.find_server(unit.server_id, ignore_missing=True) is None
    for port in ports:
        assert admin.network.find_port(port, ignore_missing=True) is None
    for network in networks:
        assert admin.network.find_network(network, ignore_missing=True) is None


def _catalogue_version(fed: Federation, top: str, lower: str) -> int:
    lifecycle = fed.nodes[top].lifecycle
    assert lifecycle is not None
    catalogue = lifecycle.rt.lower_catalogues().get(lower)
    return catalogue.version if catalogue is not None else 0


async def _run(
    fed: Federation,
    top: str,
    admin: Any,
    request_id: str,
    pop: str,
    parts: dict[str, set[str]] | None = None,
    restart: tuple[str, Mapping[str, Operator]] | None = None,
) -> None:
    """Instantiate the chain at ``top``, check it in Nova, terminate, check nothing is left.

    ``parts``: the PoPs the top node's own parts must be on, with their functions.
    ``restart``: an operator (and the spec) to restart between the two.
    """
    async with fed.client(top) as client:
        op = await client.instantiate(_request(request_id))
        record, _ = await settle(client, op.service_id)
        assert record.state is ServiceState.ACTIVE, record
        if parts is not None:
            assert {p.pop: {v.vnf_id for v in p.vnfs} for p in record.parts} == parts

        units = _units_on(record, pop)
        assert len(units) == 2, "the DPI and the NAT run on the cloud"
        ports, networks = _check_in_nova(admin, units)

    if restart is not None:  # on the same address: its upper SP's configuration names it
        operator, spec = restart
        same = {"server": {"listen": fed.nodes[operator].address}}
        again = replace(spec[operator], settings={**spec[operator].settings, **same})
        before = _catalogue_version(fed, top, operator)
        await fed.nodes[operator].stop(0)
        await fed.start_node(operator, {**spec, operator: again})
        # The restarted node publishes a new catalogue version: once the top has it,
        # its channel to the node is up again.
        async with asyncio.timeout(10):
            while True:
                if _catalogue_version(fed, top, operator) > before:
                    break
                await asyncio.sleep(0.05)
    async with fed.client(top) as client:
        await client.terminate(op.service_id, f"{request_id}-end")
        record, _ = await settle(client, op.service_id)
        assert record.state is ServiceState.TERMINATED
        _nothing_left(admin, units, ports, networks)


async def test_a_delegated_part_boots_in_nova_and_terminate_leaves_nothing(
    openstack_cloud: CloudInfo, admin: Any, chain_images: None, tmp_path: Path
) -> None:
    spec = {
        "cloud-op": Operator(
            "dc1",
            "de",
            driver="openstack",
            pop_options=pop_options(openstack_cloud),
            descriptors=FUNCTIONS,
        ),
        "retail": Operator("ams", "nl", children=["cloud-op"]),
    }
    fed = await Federation.start(tmp_path, spec)
    try:
        await _run(fed, "retail", admin, "two-operators", "dc1")
        # The servers' handles are in cloud-op's database: after a restart, terminate
        # still deletes exactly them.
        await _run(fed, "retail", admin, "restarted", "dc1", restart=("cloud-op", spec))
    finally:
        await fed.stop()


async def test_one_service_mixes_an_emulated_pop_and_an_openstack_cloud(
    openstack_cloud: CloudInfo, admin: Any, chain_images: None, tmp_path: Path
) -> None:
    cloud_pop = {
        "name": "dc1",
        "region": "de",
        "driver": "openstack",
        "capacity": {"disk_gib": 500},
        "options": pop_options(openstack_cloud),
    }
    # Neutron refuses the lower address of a /31: with an OpenStack PoP, the node plans
    # its links between parts with a gateway by itself (addressing.point_to_point_links).
    spec = {"mixed": Operator("edge", "nl", more_pops=[cloud_pop])}
    fed = await Federation.start(tmp_path, spec)
    try:
        parts = {"edge": {"vnf_fw"}, "dc1": {"vnf_dpi", "vnf_nat"}}
        await _run(fed, "mixed", admin, "mixed", "dc1", parts)
    finally:
        await fed.stop()
