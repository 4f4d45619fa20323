"""The project's example descriptors: the valid ones together, the invalid ones as documented."""

from __future__ import annotations

import pytest

from spfed.descriptors import load_files, validate_files
from spfed.model import (
    ConnectivityType,
    DescriptorRef,
    Dialect,
    NetworkServiceDescriptor,
    Resources,
    UnitKind,
    VnfDescriptor,
)
from tests.unit.descriptors.builders import EXAMPLES

VALID = sorted(EXAMPLES.glob("*.yml"))


def test_all_valid_examples_validate_together() -> None:
    report = validate_files(VALID)
    assert report.problems == ()
    assert len(report.documents) == 8


def vnfd(name: str) -> VnfDescriptor:
    found = load_files(VALID).find_vnfd(DescriptorRef("eu.spfed.demo", name, "1.0"))
    assert found is not None
    return found


def test_firewall() -> None:
    firewall = vnfd("firewall")
    assert [u.kind for u in firewall.deployment_units] == [UnitKind.VIRTUAL_MACHINE]
    # 1024 MB and 10 GB, rounded up to whole MiB and GiB.
    assert firewall.resources() == Resources(vcpus=1, memory_mib=1024, disk_gib=10)
    assert [cp.id for cp in firewall.connection_points] == ["mgmt", "input", "output"]


def test_dpi_has_two_units_on_an_internal_lan() -> None:
    dpi = vnfd("dpi")
    assert len(dpi.deployment_units) == 2
    assert dpi.resources().vcpus == 2
    mirror = next(link for link in dpi.virtual_links if link.id == "mirror")
    assert mirror.connectivity_type is ConnectivityType.E_LAN
    assert mirror.connection_points_reference == ("engine:mirror", "collector:mirror")


def test_legacy_nat_is_stored_in_the_bare_form() -> None:
    nat = vnfd("nat")
    assert nat.dialect is Dialect.SONATA
    assert [cp.id for cp in nat.deployment_units[0].connection_points] == ["eth0", "eth1", "eth2"]
    assert [cp.id for cp in nat.connection_points] == ["mgmt", "input", "output"]
    assert nat.virtual_links[1].connection_points_reference == ("input", "vdu01:eth1")


def test_secure_chain_nests_edge_cdn() -> None:
    found = load_files(VALID)
    chain = found.find_nsd(DescriptorRef("eu.spfed.demo", "secure-chain", "1.0"))
    assert isinstance(chain, NetworkServiceDescriptor)
    assert [f.vnf_id for f in chain.network_functions] == ["vnf_fw", "vnf_dpi", "vnf_nat"]
    (nested,) = chain.network_services
    assert nested.ns_id == "ns_cdn"
    assert found.find_nsd(nested.descriptor) is not None


@pytest.mark.parametrize(
    ("name", "with_firewall", "expected"),
    [
        (
            "vnfd-misspelt-unit.yml",
            False,
            [
                (
                    "virtual_links[1].connection_points_reference[0]",
                    "unknown unit 'vdu1' (did you mean 'vdu01'?)",
                )
            ],
        ),
        (
            "nsd-dangling-function.yml",
            True,
            [
                (
                    "virtual_links[1].connection_points_reference[1]",
                    "unknown function 'vnf_fw' (did you mean 'vnf_firewall'?)",
                )
            ],
        ),
        (
            "vnfd-schema-violation.yml",
            False,
            [
                (
                    "vendor",
                    "'EU.spfed.demo' is not valid:"
                    " use lower-case letters, digits, '-', '_' and '.'",
                ),
                ("virtual_deployment_units[0].resource_requirements.cpu.vcpus", "is required"),
                (
                    "virtual_deployment_units[0].resource_requirements.memory.size_unit",
                    "'Mb' is not one of B, kB, KiB, MB, MiB, GB, GiB, TB, TiB, PT, PiT"
                    " (did you mean 'MB'?)",
                ),
            ],
        ),
    ],
)
def test_invalid_examples(name: str, with_firewall: bool, expected: list[tuple[str, str]]) -> None:
    path = EXAMPLES / "invalid" / name
    paths = [EXAMPLES / "vnfd-firewall.yml", path] if with_firewall else [path]
    report = validate_files(paths)
    assert [(p.file, p.field, p.description) for p in report.problems] == [
        (str(path), field, text) for field, text in expected
    ]


def test_every_invalid_example_is_tested() -> None:
    assert sorted(p.name for p in (EXAMPLES / "invalid").glob("*.yml")) == [
        "nsd-dangling-function.yml",
        "vnfd-misspelt-unit.yml",
        "vnfd-schema-violation.yml",
    ]
