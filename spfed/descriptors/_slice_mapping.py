"""Schema-valid NST documents to ``SliceTemplate``.

Lists keep their document order, so an index in the model is the index in the
document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spfed.descriptors._quantities import to_mbps
from spfed.model import (
    ConnectivityType,
    DescriptorRef,
    SliceAccessPoint,
    SliceLink,
    SliceLinkPoint,
    SliceSubnet,
    SliceTemplate,
)

Doc = Mapping[str, Any]

_LINK_TYPES = {
    "E-LINE": ConnectivityType.E_LINE,
    "E-TREE": ConnectivityType.E_TREE,
    "E-LAN": ConnectivityType.E_LAN,
}


def _items(data: Doc, key: str) -> Sequence[Doc]:
    items: Sequence[Doc] = data.get(key) or ()
    return items


def _access_points(data: Doc, key: str) -> tuple[SliceAccessPoint, ...]:
    return tuple(
        SliceAccessPoint(location=str(item["location"]), nap=str(item["nap"]))
        for item in _items(data, key)
    )


def _subnet(data: Doc) -> SliceSubnet:
    return SliceSubnet(
        id=data["id"],
        nsd=DescriptorRef(data["nsd-vendor"], data["nsd-name"], data["nsd-version"]),
        nsd_ref=data["nsd-ref"],
        is_shared=bool(data["is-shared"]),
        sla_name=str(data.get("sla-name", "")),
        sla_ref=str(data.get("sla-ref", "")),
        ingresses=_access_points(data, "ingresses"),
        egresses=_access_points(data, "egresses"),
    )


def _link(data: Doc) -> SliceLink:
    return SliceLink(
        id=data["id"],
        connectivity_type=_LINK_TYPES[data["type"]],
        name=str(data.get("name", "")),
        mgmt_network=bool(data.get("mgmt-network", False)),
        access_net=bool(data.get("access_net", False)),
        bandwidth_mbps=(
            to_mbps(float(data["root-bandwidth"]), data.get("root-bandwidth-unit") or "Mbps")
            if data.get("root-bandwidth")
            else 0.0
        ),
        connection_points=tuple(
            SliceLinkPoint(
                subnet_ref=point["subnet-ref"],
                nsd_cp_ref=point["nsd-cp-ref"],
                ip_address=str(point.get("ip-address", "")),
            )
            for point in _items(data, "nsd-connection-point-ref")
        ),
    )


def map_nst(data: Doc) -> SliceTemplate:
    """The slice template of a schema-valid NST document."""
    snssai: Doc = data.get("SNSSAI_identifier") or {}
    return SliceTemplate(
        ref=DescriptorRef(str(data["vendor"]), str(data["name"]), str(data["version"])),
        author=str(data.get("author", "")),
        description=str(data.get("description", "")).strip(),
        slice_service_type=str(snssai.get("slice-service-type", "")),
        slice_differentiator=str(snssai.get("slice-differentiator", "")),
        subnets=tuple(_subnet(item) for item in _items(data, "slice_ns_subnets")),
        links=tuple(_link(item) for item in _items(data, "slice_vld")),
    )
