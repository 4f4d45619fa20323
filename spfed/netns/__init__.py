"""The WIM's real data plane on one Linux machine: namespaces, veths, bridges, VXLAN, tc.

Each emulated PoP has a *gateway* namespace; each VNF has its own namespace whose
interfaces are veths plugged into per-virtual-link bridges of its PoP's gateway.
WAN and border links are veth pairs between gateways; a virtual link crossing them
is one VXLAN segment per hop, bridged at transit gateways. ``probe`` proves what was
built: reachability, the order of VNFs crossed, and isolation between slices.

Modules: ``names`` (Linux names owned by a prefix), ``ip`` (the iproute2 runner and
its error mapping), ``specs`` (what to build and the handles back), ``fabric``
(building and removing), ``inventory`` (what exists of a prefix, ``cleanup``),
``probe`` (traffic in namespaces).
"""

from __future__ import annotations

from .fabric import Fabric, eui64_link_local
from .inventory import Inventory, LinkInfo, NamespaceInventory, cleanup, inventory
from .ip import DEFAULT_TIMEOUT, IpRoute, JsonObject, error_for_failure, parse_json
from .names import (
    IFNAME_MAX,
    check_label,
    check_prefix,
    interface_name,
    is_valid_interface_name,
    namespace_name,
    owned_by,
)
from .probe import (
    Counters,
    Datagram,
    Hop,
    HopTrace,
    IcmpAnswer,
    PingResult,
    UdpProbeResult,
    UdpReceiver,
    counters,
    ping,
    trace,
    udp_probe,
    udp_send,
)
from .specs import (
    DEFAULT_VXLAN_PORT,
    Attachment,
    AttachmentSpec,
    Bridge,
    BridgeSpec,
    GatewaySpec,
    Namespace,
    Role,
    RouteSpec,
    ShapingSpec,
    VnfSpec,
    Vxlan,
    VxlanSpec,
    WanLink,
    WanLinkSpec,
    vxlan_conflicts,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_VXLAN_PORT",
    "IFNAME_MAX",
    "Attachment",
    "AttachmentSpec",
    "Bridge",
    "BridgeSpec",
    "Counters",
    "Datagram",
    "Fabric",
    "GatewaySpec",
    "Hop",
    "HopTrace",
    "IcmpAnswer",
    "Inventory",
    "IpRoute",
    "JsonObject",
    "LinkInfo",
    "Namespace",
    "NamespaceInventory",
    "PingResult",
    "Role",
    "RouteSpec",
    "ShapingSpec",
    "UdpProbeResult",
    "UdpReceiver",
    "VnfSpec",
    "Vxlan",
    "VxlanSpec",
    "WanLink",
    "WanLinkSpec",
    "check_label",
    "check_prefix",
    "cleanup",
    "counters",
    "error_for_failure",
    "eui64_link_local",
    "interface_name",
    "inventory",
    "is_valid_interface_name",
    "namespace_name",
    "owned_by",
    "parse_json",
    "ping",
    "trace",
    "udp_probe",
    "udp_send",
    "vxlan_conflicts",
]
