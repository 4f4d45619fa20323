"""Pins the public names of ``spfed.netns``: changing them is an API change."""

from __future__ import annotations

import spfed.netns


def test_public_names() -> None:
    assert sorted(spfed.netns.__all__) == [
        "Attachment",
        "AttachmentSpec",
        "Bridge",
        "BridgeSpec",
        "Counters",
        "DEFAULT_TIMEOUT",
        "DEFAULT_VXLAN_PORT",
        "Datagram",
        "Fabric",
        "GatewaySpec",
        "Hop",
        "HopTrace",
        "IFNAME_MAX",
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
    for name in spfed.netns.__all__:
        assert getattr(spfed.netns, name) is not None
