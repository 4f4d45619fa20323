"""The real SONATA and 5GTANGO examples against spfed's validator and the upstream schemas.

Every positive example must parse and validate with spfed's own schemas and
checks (NSDs resolved against the descriptors of the same folder), and spfed's
schemas must agree with the upstream ones: both accept every example, and
both reject a handful of mutations of them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from spfed.descriptors import (
    DescriptorError,
    DescriptorSet,
    check_nsd,
    parse_document,
    validate_files,
)
from spfed.descriptors._dialects import DocumentKind, detect_kind
from spfed.descriptors._schema import SchemaName, schema_violations
from spfed.model import DescriptorRef, NetworkServiceDescriptor

pytestmark = pytest.mark.interop

TANGO = "sonata"
LEGACY = "sonata-legacy"
PACKAGE = ("sonata-legacy", "package-sonata-demo.yml")
EXAMPLES: dict[str, list[str]] = {
    TANGO: [
        "default-vnfd.yml",
        "firewall-vnfd.yml",
        "hnf-vnfd.yml",
        "iperf-vnfd.yml",
        "multi-image-vnfd.yml",
        "qos-vnfd.yml",
        "recursive-example.yml",
        "simplest-example.yml",
        "slice-template-example.yml",
        "sonata-demo-with-ssm.yml",
        "sonata-demo.yml",
        "tcpdump-vnfd.yml",
        "vtc-vnfd.yml",
    ],
    LEGACY: [
        "function-firewall-vnfd.yml",
        "function-iperf-vnfd.yml",
        "function-tcpdump-vnfd.yml",
        "function-vtc-vnfd.yml",
        "package-sonata-demo.yml",
        "service-sonata-demo.yml",
    ],
}
POSITIVE = [
    (folder, name)
    for folder, names in EXAMPLES.items()
    for name in names
    if (folder, name) != PACKAGE
]
UPSTREAM_SCHEMAS = {
    (TANGO, DocumentKind.NSD): "nsd-schema.yml",
    (TANGO, DocumentKind.VNFD): "vnfd-schema.yml",
    (TANGO, DocumentKind.NST): "nst-schema.yml",
    (LEGACY, DocumentKind.NSD): "nsd-schema.yml",
    (LEGACY, DocumentKind.VNFD): "vnfd-schema.yml",
    (LEGACY, DocumentKind.PACKAGE): "pd-schema.yml",
}


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def the_document(path: Path) -> dict[str, Any]:
    (document,) = documents(path)
    return document


def upstream_errors(interop: Path, folder: str, document: dict[str, Any]) -> list[str]:
    schema_file = interop / folder / "schemas" / UPSTREAM_SCHEMAS[(folder, detect_kind(document))]
    schema = documents(schema_file)[0]
    return [error.message for error in jsonschema.Draft4Validator(schema).iter_errors(document)]


def our_errors(document: dict[str, Any]) -> list[str]:
    name = SchemaName(detect_kind(document).value.lower())
    return [f"{v.field}: {v.description}" for v in schema_violations(document, name)]


@pytest.fixture(scope="session")
def folder_sets(shared_interop: Path) -> dict[str, DescriptorSet]:
    """Each example folder's descriptors (the package descriptor left out)."""
    sets = {}
    for folder, names in EXAMPLES.items():
        parsed = [
            parse_document(document, source=name)
            for name in names
            if (folder, name) != PACKAGE
            for document in documents(shared_interop / folder / "examples" / name)
        ]
        sets[folder] = DescriptorSet(parsed)
    return sets


def test_every_example_is_covered(shared_interop: Path) -> None:
    for folder, names in EXAMPLES.items():
        assert sorted(p.name for p in (shared_interop / folder / "examples").glob("*.yml")) == names


@pytest.mark.parametrize(("folder", "name"), POSITIVE)
def test_example_parses_and_validates(
    shared_interop: Path, folder_sets: dict[str, DescriptorSet], folder: str, name: str
) -> None:
    for document in documents(shared_interop / folder / "examples" / name):
        parsed = parse_document(document, source=name)
        assert parsed.ref.name == document["name"]
        if isinstance(parsed, NetworkServiceDescriptor):
            assert check_nsd(parsed, folder_sets[folder]) == []


def test_recursive_example_nests_sonata_demo(
    shared_interop: Path, folder_sets: dict[str, DescriptorSet]
) -> None:
    recursive = parse_document(
        the_document(shared_interop / TANGO / "examples" / "recursive-example.yml")
    )
    assert isinstance(recursive, NetworkServiceDescriptor)
    (nested,) = recursive.network_services
    assert (nested.ns_id, nested.descriptor) == (
        "ns_sonata",
        DescriptorRef("eu.sonata-nfv.service-descriptor", "sonata-demo", "0.2.1"),
    )
    assert folder_sets[TANGO].service_points(nested.descriptor) == ("mgmt", "input", "output")
    # Without sonata-demo alongside, the nested service is reported where it is named.
    alone = DescriptorSet(d for d in folder_sets[TANGO] if d.ref.name != "sonata-demo")
    assert [v.field for v in check_nsd(recursive, alone)] == ["network_services[0]"]


def test_package_descriptor_is_reported_as_not_instantiable(shared_interop: Path) -> None:
    path = shared_interop / LEGACY / "examples" / PACKAGE[1]
    with pytest.raises(DescriptorError) as caught:
        parse_document(the_document(path))
    assert [v.description for v in caught.value.field_violations] == [
        "package descriptors are not instantiable; pass the NSD and VNFDs"
    ]
    assert upstream_errors(shared_interop, LEGACY, the_document(path)) == []  # a valid package


def test_legacy_folder_validates_as_a_set_but_for_the_package(shared_interop: Path) -> None:
    examples = shared_interop / LEGACY / "examples"
    report = validate_files(sorted(examples.glob("*.yml")))
    assert [(Path(p.file).name, p.description) for p in report.problems] == [
        (PACKAGE[1], "package descriptors are not instantiable; pass the NSD and VNFDs")
    ]


def test_recursive_service_validates_with_its_members(shared_interop: Path) -> None:
    examples = shared_interop / TANGO / "examples"
    names = [
        "recursive-example.yml",
        "sonata-demo.yml",
        "vtc-vnfd.yml",
        "firewall-vnfd.yml",
        "iperf-vnfd.yml",
        "tcpdump-vnfd.yml",
    ]
    report = validate_files([examples / name for name in names])
    assert report.problems == ()
    assert len(report.documents) == len(names)


@pytest.mark.parametrize(("folder", "name"), [*POSITIVE, PACKAGE])
def test_upstream_schema_and_ours_agree_the_example_is_valid(
    shared_interop: Path, folder: str, name: str
) -> None:
    for document in documents(shared_interop / folder / "examples" / name):
        assert upstream_errors(shared_interop, folder, document) == []
        if detect_kind(document) is not DocumentKind.PACKAGE:
            assert our_errors(document) == []


def _remove(*keys: str | int) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        node: Any = document
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return apply


def _set(value: Any, *keys: str | int) -> Callable[[dict[str, Any]], None]:
    def apply(document: dict[str, Any]) -> None:
        node: Any = document
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return apply


MUTATIONS = [
    pytest.param(
        TANGO, "firewall-vnfd.yml", _remove("vendor"), "vendor", id="tango-vnfd-no-vendor"
    ),
    pytest.param(
        TANGO, "sonata-demo.yml", _remove("version"), "version", id="tango-nsd-no-version"
    ),
    pytest.param(
        LEGACY, "function-iperf-vnfd.yml", _remove("name"), "name", id="legacy-vnfd-no-name"
    ),
    pytest.param(
        TANGO,
        "iperf-vnfd.yml",
        _remove("virtual_deployment_units", 0, "resource_requirements", "memory"),
        "virtual_deployment_units[0].resource_requirements.memory",
        id="tango-vdu-no-memory",
    ),
    pytest.param(
        TANGO,
        "sonata-demo.yml",
        _set("E-Bus", "virtual_links", 1, "connectivity_type"),
        "virtual_links[1].connectivity_type",
        id="tango-nsd-link-enum",
    ),
    pytest.param(
        LEGACY,
        "function-vtc-vnfd.yml",
        _set("Mb", "virtual_deployment_units", 1, "resource_requirements", "storage", "size_unit"),
        "virtual_deployment_units[1].resource_requirements.storage.size_unit",
        id="legacy-vnfd-unit-enum",
    ),
    pytest.param(
        TANGO,
        "default-vnfd.yml",
        _set("bogus", "connection_points", 0, "type"),
        "connection_points[0].type",
        id="tango-vnfd-point-type-enum",
    ),
    pytest.param(
        TANGO,
        "slice-template-example.yml",
        _set("XYZ", "SNSSAI_identifier", "slice-service-type"),
        "SNSSAI_identifier.slice-service-type",
        id="tango-nst-service-type-enum",
    ),
    pytest.param(
        TANGO,
        "tcpdump-vnfd.yml",
        _set("EU.Sonata", "vendor"),
        "vendor",
        id="tango-vnfd-vendor-pattern",
    ),
    pytest.param(
        LEGACY,
        "service-sonata-demo.yml",
        _set("latest", "network_functions", 0, "vnf_version"),
        "network_functions[0].vnf_version",
        id="legacy-nsd-version-pattern",
    ),
    pytest.param(
        TANGO,
        "firewall-vnfd.yml",
        _set("not-an-md5", "virtual_deployment_units", 0, "vm_image_md5"),
        "virtual_deployment_units[0].vm_image_md5",
        id="tango-vdu-md5-pattern",
    ),
    pytest.param(
        TANGO,
        "slice-template-example.yml",
        _remove("slice_ns_subnets"),
        "slice_ns_subnets",
        id="tango-nst-no-subnets",
    ),
    pytest.param(
        TANGO, "qos-vnfd.yml", _set("x", "shoe_size"), "shoe_size", id="tango-vnfd-unknown-key"
    ),
]


@pytest.mark.parametrize(("folder", "name", "mutate", "field"), MUTATIONS)
def test_upstream_schema_and_ours_both_reject_mutations(
    shared_interop: Path,
    folder: str,
    name: str,
    mutate: Callable[[dict[str, Any]], None],
    field: str,
) -> None:
    document = copy.deepcopy(the_document(shared_interop / folder / "examples" / name))
    mutate(document)
    assert upstream_errors(shared_interop, folder, document) != []
    assert [e for e in our_errors(document) if e.startswith(f"{field}: ")] != []
