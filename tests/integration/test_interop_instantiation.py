"""Every positive NSD example of SONATA and 5GTANGO instantiates in a test topology.

The examples are read from ``../shared/interop`` (never copied into the
project). A fresh clone without that folder skips these tests; CI has it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from spfed.descriptors import load_files
from spfed.model import (
    DescriptorRef,
    InstantiateRequest,
    NetworkServiceDescriptor,
    PartKind,
    PlacementConstraints,
    PlacementRule,
    Resources,
    ServiceDescriptors,
    ServiceState,
    VnfDescriptor,
)
from tests.integration._federation import Federation, Operator, settle, tree_operators

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

SHARED = Path(__file__).resolve().parents[3] / "shared" / "interop"
TANGO = SHARED / "sonata" / "examples"
LEGACY = SHARED / "sonata-legacy" / "examples"
DEMO_VNFDS = ("firewall-vnfd.yml", "iperf-vnfd.yml", "tcpdump-vnfd.yml")


@pytest.fixture(scope="module")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            "../shared/interop is absent (a fresh clone without the interop data); CI always has it"
        )
    return SHARED


@pytest.fixture
async def fed(tmp_path: Path, shared: Path) -> AsyncIterator[Federation]:
    # The lower SP onboards sonata-demo, so it offers it as a nested service.
    spec = {
        "lower": Operator(
            "fra", "de", descriptors=[TANGO / "sonata-demo.yml", *(TANGO / v for v in DEMO_VNFDS)]
        ),
        "top": Operator("ams", "nl", children=["lower"]),
    }
    federation = await Federation.start(tmp_path, spec)
    try:
        yield federation
    finally:
        await federation.stop()


def _descriptors(*files: Path) -> tuple[NetworkServiceDescriptor, tuple[VnfDescriptor, ...]]:
    # Nested services may resolve only at the node (a lower SP's offer).
    found = load_files(files, resolve=False)
    return found.nsds[0], found.vnfds


async def _instantiate_and_terminate(
    fed: Federation, request: InstantiateRequest
) -> tuple[dict[str, int], list[str]]:
    async with fed.client("top") as top:
        op = await top.instantiate(request)
        record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.ACTIVE, record.error
        levels = tree_operators(record)
        members = [m for p in record.parts for m in p.members]
        await top.terminate(op.service_id, f"t-{request.request_id}")
        record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.TERMINATED
    assert set((await fed.used()).values()) == {Resources()}
    return levels, members


@pytest.mark.parametrize("example", ["sonata-demo.yml", "sonata-demo-with-ssm.yml"])
async def test_5gtango_demo_services_instantiate(fed: Federation, example: str) -> None:
    nsd, vnfds = _descriptors(TANGO / example, *(TANGO / v for v in DEMO_VNFDS))
    request = InstantiateRequest(
        request_id=example,
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=PlacementConstraints(default_region="nl"),
    )
    levels, members = await _instantiate_and_terminate(fed, request)
    assert levels == {"top": 1}
    assert sorted(members) == ["vnf_firewall", "vnf_iperf", "vnf_tcpdump"]


async def test_recursive_example_delegates_its_nested_service_to_the_lower_sp(
    fed: Federation,
) -> None:
    nsd, vnfds = _descriptors(TANGO / "recursive-example.yml", TANGO / "vtc-vnfd.yml")
    request = InstantiateRequest(
        request_id="recursive-offer",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=PlacementConstraints(
            rules={"vnf_vtc": PlacementRule(region="nl"), "ns_sonata": PlacementRule(region="de")}
        ),
    )
    async with fed.client("top") as top:
        op = await top.instantiate(request)
        record, _ = await settle(top, op.service_id)
        assert record.state is ServiceState.ACTIVE, record.error
        assert tree_operators(record) == {"top": 1, "lower": 2}
        delegated = next(p for p in record.parts if p.kind is PartKind.DELEGATED)
        assert delegated.members == ("ns_sonata",)
        assert delegated.remote is not None
        deployed = {v.vnf_id for p in delegated.remote.parts for v in p.vnfs}
        assert deployed == {
            "ns_sonata/vnf_firewall",
            "ns_sonata/vnf_iperf",
            "ns_sonata/vnf_tcpdump",
        }
        await top.terminate(op.service_id, "t")
        await settle(top, op.service_id)
    assert set((await fed.used()).values()) == {Resources()}


async def test_recursive_example_expands_a_nested_nsd_sent_with_the_request(
    fed: Federation,
) -> None:
    files = load_files(
        [TANGO / "recursive-example.yml", TANGO / "vtc-vnfd.yml", TANGO / "sonata-demo.yml"]
        + [TANGO / v for v in DEMO_VNFDS]
    )
    nsd = files.find_nsd(
        DescriptorRef("eu.tango-nfv.service-descriptor", "recursive-sonata", "0.1")
    )
    nested = files.find_nsd(
        DescriptorRef("eu.sonata-nfv.service-descriptor", "sonata-demo", "0.2.1")
    )
    assert nsd is not None
    assert nested is not None
    request = InstantiateRequest(
        request_id="recursive-local",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=files.vnfds, nested_nsds=(nested,)),
        placement=PlacementConstraints(default_region="nl"),
    )
    levels, members = await _instantiate_and_terminate(fed, request)
    assert levels == {"top": 1}
    assert sorted(members) == [
        "ns_sonata/vnf_firewall",
        "ns_sonata/vnf_iperf",
        "ns_sonata/vnf_tcpdump",
        "vnf_vtc",
    ]


async def test_the_simplest_example_has_nothing_to_deploy(fed: Federation) -> None:
    nsd, _ = _descriptors(TANGO / "simplest-example.yml")
    request = InstantiateRequest(request_id="simplest", descriptors=ServiceDescriptors(nsd=nsd))
    levels, members = await _instantiate_and_terminate(fed, request)
    assert levels == {"top": 1}
    assert members == []


async def test_the_original_sonata_dialect_instantiates(fed: Federation) -> None:
    nsd, vnfds = _descriptors(
        LEGACY / "service-sonata-demo.yml",
        LEGACY / "function-firewall-vnfd.yml",
        LEGACY / "function-iperf-vnfd.yml",
        LEGACY / "function-tcpdump-vnfd.yml",
    )
    request = InstantiateRequest(
        request_id="legacy",
        descriptors=ServiceDescriptors(nsd=nsd, vnfds=vnfds),
        placement=PlacementConstraints(default_region="nl"),
    )
    levels, members = await _instantiate_and_terminate(fed, request)
    assert levels == {"top": 1}
    assert sorted(members) == ["vnf_firewall", "vnf_iperf", "vnf_tcpdump"]
