"""Mapping documents to the domain model."""

from __future__ import annotations

import pytest

from spfed.descriptors import DescriptorError, parse_document
from spfed.errors import FieldViolation
from spfed.model import (
    ConnectionPoint,
    ConnectionPointType,
    ConnectivityType,
    DeploymentUnit,
    DescriptorRef,
    ForwardingPathHop,
    InterfaceType,
    NestedServiceRef,
    NetworkFunctionRef,
    NetworkServiceDescriptor,
    QosRequirements,
    Resources,
    SliceAccessPoint,
    SliceLinkPoint,
    SliceTemplate,
    UnitKind,
    VnfDescriptor,
)
from tests.unit.descriptors import builders


def parse_vnfd(document: dict[str, object]) -> VnfDescriptor:
    parsed = parse_document(document)
    assert isinstance(parsed, VnfDescriptor)
    return parsed


def parse_nsd(document: dict[str, object]) -> NetworkServiceDescriptor:
    parsed = parse_document(document)
    assert isinstance(parsed, NetworkServiceDescriptor)
    return parsed


def test_vnfd_fields() -> None:
    vnfd = parse_vnfd(builders.vnfd())
    assert vnfd.ref == DescriptorRef("eu.test", "fw", "1.0")
    (unit,) = vnfd.deployment_units
    assert unit.id == "vdu01"
    assert unit.kind is UnitKind.VIRTUAL_MACHINE
    assert (unit.vm_image, unit.vm_image_format) == ("fw-image", "qcow2")
    assert unit.resource_requirements == Resources(vcpus=2, memory_mib=1024, disk_gib=10)
    assert unit.connection_points[0] == ConnectionPoint(
        "eth0", InterfaceType.IPV4, ConnectionPointType.INTERNAL
    )
    assert [cp.type for cp in vnfd.connection_points] == [
        ConnectionPointType.MANAGEMENT,
        ConnectionPointType.EXTERNAL,
        ConnectionPointType.EXTERNAL,
    ]
    assert vnfd.virtual_links[1].connectivity_type is ConnectivityType.E_LINE
    assert vnfd.virtual_links[1].connection_points_reference == ("input", "vdu01:eth1")


def test_container_and_physical_units() -> None:
    document = builders.vnfd()
    document["cloudnative_deployment_units"] = [
        {
            "id": "cdu01",
            "image": "nginx:1",
            "resource_requirements": {
                "cpu": {"vcpus": 1},
                "memory": {"size": 256, "size_unit": "MiB"},
            },
            "connection_points": [{"id": "http", "port": 80}],
        },
        {"id": "cdu02", "image": "redis:7"},
    ]
    document["physical_deployment_units"] = [
        {
            "id": "pdu01",
            "address": "10.0.0.9",
            "port": 22,
            "connection_points": [
                {"id": "eth0", "interface": "ethernet", "type": "serviceendpoint"}
            ],
        }
    ]
    vnfd = parse_vnfd(document)
    _, cdu, bare_cdu, pdu = vnfd.deployment_units
    assert cdu == DeploymentUnit(
        id="cdu01",
        kind=UnitKind.CONTAINER,
        vm_image="nginx:1",
        resource_requirements=Resources(vcpus=1, memory_mib=256),
        connection_points=(ConnectionPoint("http", port=80),),
    )
    assert bare_cdu.resource_requirements == Resources()
    assert pdu.kind is UnitKind.PHYSICAL
    assert pdu.resource_requirements == Resources()
    assert pdu.connection_points[0].type is ConnectionPointType.SERVICE_ENDPOINT
    assert pdu.connection_points[0].interface is InterfaceType.ETHERNET
    # Physical units take nothing from a PoP.
    assert vnfd.resources() == Resources(vcpus=3, memory_mib=1280, disk_gib=10)


def test_point_without_interface_or_type_is_unspecified() -> None:
    document = builders.vnfd()
    document["virtual_deployment_units"][0]["connection_points"][0] = {
        "id": "eth0",
        "mac": "fa:16:3e:00:00:01",
        "ip": "10.0.0.2",
    }
    point = parse_vnfd(document).deployment_units[0].connection_points[0]
    assert point == ConnectionPoint(
        "eth0",
        InterfaceType.UNSPECIFIED,
        ConnectionPointType.UNSPECIFIED,
        mac="fa:16:3e:00:00:01",
        ip="10.0.0.2",
    )


def test_default_memory_and_storage_unit_is_mb() -> None:
    document = builders.vnfd()
    requirements = document["virtual_deployment_units"][0]["resource_requirements"]
    requirements["memory"] = {"size": 1024}
    requirements["storage"] = {"size": 2048}
    unit = parse_vnfd(document).deployment_units[0]
    assert unit.resource_requirements == Resources(vcpus=2, memory_mib=1024, disk_gib=2)


def test_link_qos_in_mbps() -> None:
    document = builders.vnfd()
    document["virtual_links"][1].update(
        qos="gold",
        dhcp=True,
        cidr="10.0.0.0/24",
        qos_requirements={
            "bandwidth_limit": {"bandwidth": 1, "bandwidth_unit": "Gbps"},
            "minimum_bandwidth": {"bandwidth": 200, "bandwidth_unit": "kbps"},
        },
    )
    link = parse_vnfd(document).virtual_links[1]
    assert link.qos == QosRequirements(
        "gold", bandwidth_limit_mbps=1000.0, minimum_bandwidth_mbps=0.2
    )
    assert (link.dhcp, link.cidr) == (True, "10.0.0.0/24")
    assert parse_vnfd(builders.vnfd()).virtual_links[1].qos == QosRequirements()


def test_nsd_fields_and_version_constraints() -> None:
    document = builders.nsd()
    document["network_functions"][0]["vnf_version"] = "== 1.0"
    nsd = parse_nsd(document)
    assert nsd.network_functions == (
        NetworkFunctionRef("vnf_firewall", DescriptorRef("eu.test", "fw", "1.0")),
    )
    assert nsd.network_services == (
        NestedServiceRef("ns_inner", DescriptorRef("eu.test", "inner", ">= 0.5")),
    )
    (graph,) = nsd.forwarding_graphs
    assert graph.constituent_services == ("ns_inner",)
    (path,) = graph.network_forwarding_paths
    assert path.fp_id == "fg01:fp01"
    assert path.connection_points[1] == ForwardingPathHop("vnf_firewall:input", 2)


def test_legacy_nested_service_string() -> None:
    document = builders.as_legacy(builders.nsd(), "1.0")
    document["network_services"] = ["eu.test:inner:0.7"]
    document["virtual_links"] = document["virtual_links"][:2]
    document["virtual_links"][0]["connection_points_reference"] = [
        "vnf_firewall:mgmt",
        "inner:mgmt",
        "mgmt",
    ]
    del document["forwarding_graphs"]
    nsd = parse_nsd(document)
    assert nsd.network_services == (
        NestedServiceRef("inner", DescriptorRef("eu.test", "inner", "0.7")),
    )


@pytest.mark.parametrize(
    "bad", ["inner", "eu.test:inner", "eu.test:Inner:0.7", "eu.test:inner:latest"]
)
def test_legacy_nested_service_string_in_another_form(bad: str) -> None:
    document = builders.as_legacy(builders.nsd(), "1.0")
    document["network_services"] = [bad]
    document["virtual_links"] = document["virtual_links"][:2]
    document["virtual_links"][0]["connection_points_reference"] = ["vnf_firewall:mgmt", "mgmt"]
    del document["forwarding_graphs"]
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    assert caught.value.field_violations == (
        FieldViolation(
            "network_services[0]",
            f"'{bad}' is not 'vendor:name:version' (e.g. 'eu.sonata-nfv:sonata-demo:0.2.1')",
        ),
    )


def test_slice_template_fields() -> None:
    nst = parse_document(builders.nst())
    assert isinstance(nst, SliceTemplate)
    assert nst.ref == DescriptorRef("eu.test", "slice", "1.0")
    assert (nst.slice_service_type, nst.slice_differentiator) == ("URLLC", "7")
    left, right = nst.subnets
    assert left.nsd == DescriptorRef("eu.test", "chain", "1.0")
    assert left.nsd_ref == "uuid-left"
    assert left.ingresses == (SliceAccessPoint("pop-a", "10.0.0.0/24"),)
    assert left.egresses == (SliceAccessPoint("pop-b", "10.0.1.7"),)
    assert (right.is_shared, right.sla_name) == (True, "gold")
    (link,) = nst.links
    assert link.connectivity_type is ConnectivityType.E_LINE
    assert link.connection_points == (
        SliceLinkPoint("left", "output"),
        SliceLinkPoint("right", "input"),
    )


def test_later_paths_stay_aligned_after_a_malformed_legacy_string() -> None:
    document = builders.as_legacy(builders.nsd(), "1.0")
    document["network_services"] = ["inner", "eu.test:inner:0.7", "eu.test:inner:0.7"]
    document["virtual_links"] = document["virtual_links"][:2]
    document["virtual_links"][0]["connection_points_reference"] = ["vnf_firewall:mgmt", "mgmt"]
    del document["forwarding_graphs"]
    with pytest.raises(DescriptorError) as caught:
        parse_document(document)
    assert [v.field for v in caught.value.field_violations] == [
        "network_services[0]",  # malformed
        "network_services[1]",  # same name as the guess for [0]
        "network_services[2]",  # duplicate of [0] and [1]
    ]
