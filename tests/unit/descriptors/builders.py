"""Small, valid descriptor documents for tests to break one field at a time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "descriptors"
"""The project's own example descriptors."""

TANGO_VNFD = "https://raw.githubusercontent.com/sonata-nfv/tng-schema/master/function-descriptor/vnfd-schema.yml"
TANGO_NSD = "https://raw.githubusercontent.com/sonata-nfv/tng-schema/master/service-descriptor/nsd-schema.yml"
TANGO_NST = (
    "https://raw.githubusercontent.com/sonata-nfv/tng-schema/master/slice-descriptor/nst-schema.yml"
)

_VNFD = f"""
descriptor_schema: "{TANGO_VNFD}"
vendor: "eu.test"
name: "fw"
version: "1.0"
virtual_deployment_units:
  - id: "vdu01"
    vm_image: "fw-image"
    vm_image_format: "qcow2"
    resource_requirements:
      cpu: {{vcpus: 2}}
      memory: {{size: 1, size_unit: "GiB"}}
      storage: {{size: 10, size_unit: "GiB"}}
    connection_points:
      - {{id: "eth0", interface: "ipv4", type: "internal"}}
      - {{id: "eth1", interface: "ipv4", type: "internal"}}
      - {{id: "eth2", interface: "ipv4", type: "internal"}}
connection_points:
  - {{id: "mgmt", interface: "ipv4", type: "management"}}
  - {{id: "input", interface: "ipv4", type: "external"}}
  - {{id: "output", interface: "ipv4", type: "external"}}
virtual_links:
  - id: "mgmt"
    connectivity_type: "E-LAN"
    connection_points_reference: ["vdu01:eth0", "mgmt"]
  - id: "input"
    connectivity_type: "E-Line"
    connection_points_reference: ["input", "vdu01:eth1"]
  - id: "output"
    connectivity_type: "E-Line"
    connection_points_reference: ["vdu01:eth2", "output"]
"""

_NSD = f"""
descriptor_schema: "{TANGO_NSD}"
vendor: "eu.test"
name: "chain"
version: "1.0"
network_functions:
  - {{vnf_id: "vnf_firewall", vnf_vendor: "eu.test", vnf_name: "fw", vnf_version: "1.0"}}
network_services:
  - {{ns_id: "ns_inner", ns_vendor: "eu.test", ns_name: "inner", ns_version: ">= 0.5"}}
connection_points:
  - {{id: "mgmt", interface: "ipv4", type: "management"}}
  - {{id: "input", interface: "ipv4", type: "external"}}
  - {{id: "output", interface: "ipv4", type: "external"}}
virtual_links:
  - id: "mgmt"
    connectivity_type: "E-LAN"
    connection_points_reference: ["vnf_firewall:mgmt", "ns_inner:mgmt", "mgmt"]
  - id: "input-2-fw"
    connectivity_type: "E-Line"
    connection_points_reference: ["input", "vnf_firewall:input"]
  - id: "fw-2-inner"
    connectivity_type: "E-Line"
    connection_points_reference: ["vnf_firewall:output", "ns_inner:input"]
  - id: "inner-2-output"
    connectivity_type: "E-Line"
    connection_points_reference: ["ns_inner:output", "output"]
forwarding_graphs:
  - fg_id: "fg01"
    constituent_virtual_links: ["input-2-fw", "fw-2-inner", "inner-2-output"]
    constituent_vnfs: ["vnf_firewall"]
    constituent_services: ["ns_inner"]
    network_forwarding_paths:
      - fp_id: "fg01:fp01"
        policy: "none"
        connection_points:
          - {{connection_point_ref: "input", position: 1}}
          - {{connection_point_ref: "vnf_firewall:input", position: 2}}
          - {{connection_point_ref: "vnf_firewall:output", position: 3}}
          - {{connection_point_ref: "ns_inner:input", position: 4}}
          - {{connection_point_ref: "ns_inner:output", position: 5}}
          - {{connection_point_ref: "output", position: 6}}
"""

_INNER_NSD = f"""
descriptor_schema: "{TANGO_NSD}"
vendor: "eu.test"
name: "inner"
version: "0.7"
connection_points:
  - {{id: "mgmt"}}
  - {{id: "input"}}
  - {{id: "output"}}
"""

_NST = f"""
descriptor_schema: "{TANGO_NST}"
vendor: "eu.test"
name: "slice"
version: "1.0"
description: "two services"
author: "tests"
SNSSAI_identifier: {{slice-service-type: "URLLC", slice-differentiator: "7"}}
slice_ns_subnets:
  - id: "left"
    nsd-ref: "uuid-left"
    nsd-name: "chain"
    nsd-version: "1.0"
    nsd-vendor: "eu.test"
    is-shared: false
    ingresses: [{{location: "pop-a", nap: "10.0.0.0/24"}}]
    egresses: [{{location: "pop-b", nap: "10.0.1.7"}}]
  - id: "right"
    nsd-ref: "uuid-right"
    nsd-name: "inner"
    nsd-version: "0.7"
    nsd-vendor: "eu.test"
    is-shared: true
    sla-name: "gold"
slice_vld:
  - id: "data"
    name: "data"
    type: "E-LINE"
    mgmt-network: false
    nsd-connection-point-ref:
      - {{subnet-ref: "left", nsd-cp-ref: "output"}}
      - {{subnet-ref: "right", nsd-cp-ref: "input"}}
"""


def vnfd() -> dict[str, Any]:
    """A valid 5GTANGO VNFD: one VDU (2 vCPU, 1 GiB, 10 GiB), own points mgmt/input/output."""
    loaded: dict[str, Any] = yaml.safe_load(_VNFD)
    return loaded


def nsd() -> dict[str, Any]:
    """A valid 5GTANGO NSD using ``vnfd()`` as vnf_firewall and ``inner_nsd()`` as ns_inner."""
    loaded: dict[str, Any] = yaml.safe_load(_NSD)
    return loaded


def inner_nsd() -> dict[str, Any]:
    """The nested NSD eu.test/inner/0.7 with points mgmt/input/output."""
    loaded: dict[str, Any] = yaml.safe_load(_INNER_NSD)
    return loaded


def nst() -> dict[str, Any]:
    """A valid slice template with two subnets and one link."""
    loaded: dict[str, Any] = yaml.safe_load(_NST)
    return loaded


def as_legacy(document: dict[str, Any], marker: str = "1.0") -> dict[str, Any]:
    """The same document in the original SONATA dialect (``descriptor_version``)."""
    out = copy.deepcopy(document)
    del out["descriptor_schema"]
    return {"descriptor_version": marker, **out}


def write(directory: Path, name: str, *documents: dict[str, Any]) -> Path:
    """Write ``documents`` as one YAML file of ``---`` documents; returns its path."""
    path = directory / name
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    return path
