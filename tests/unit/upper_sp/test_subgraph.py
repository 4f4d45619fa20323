"""``build_subservice``: what one lower SP receives for its part of a service."""

from __future__ import annotations

from spfed.model import (
    ConnectionPointType,
    ConnectivityType,
    DelegatedPart,
    DescriptorRef,
    ForwardingGraph,
    LocalPart,
    NestedServiceRef,
    NetworkFunctionRef,
    OfferKind,
    PlacementConstraints,
    PlacementRule,
)
from tests.unit.upper_sp.builders import (
    VENDOR,
    catalogue,
    link,
    lookup,
    nsd,
    offer,
    path,
    plan_for,
    ref,
    vnfd,
)
from upper_sp.graph import ServiceGraph, build_graph
from upper_sp.placement import Placement
from upper_sp.subgraph import build_subservice

FW, IDS, NAT = vnfd("fw"), vnfd("ids"), vnfd("nat")
CHAIN = nsd(
    "chain",
    functions={"fw": ref("fw"), "ids": ref("ids"), "nat": ref("nat")},
    services={"dpi": ref("dpi")},
    points=("input", "output"),
    links=[
        link("input-2-fw", "input", "fw:in"),
        link("fw-2-ids", "fw:out", "ids:in"),
        link("ids-2-nat", "ids:out", "nat:in"),
        link("nat-2-dpi", "nat:out", "dpi:in"),
        link("dpi-2-out", "dpi:out", "output"),
    ],
    fgs=[
        ForwardingGraph(
            "fg1",
            constituent_virtual_links=("input-2-fw", "fw-2-ids", "ids-2-nat", "dpi-2-out"),
            constituent_vnfs=("fw", "ids", "nat"),
            constituent_services=("dpi",),
            network_forwarding_paths=(
                path(
                    "fp1",
                    "input",
                    "fw:in",
                    "fw:out",
                    "ids:in",
                    "ids:out",
                    "nat:in",
                    "nat:out",
                    "dpi:in",
                    "dpi:out",
                    "output",
                ),
                path("local-only", "input", "fw:in"),
            ),
        )
    ],
)
DPI_OFFER = offer(OfferKind.NETWORK_SERVICE, "dpi")
PLACEMENT = Placement(
    {
        "fw": LocalPart("ams"),
        "ids": DelegatedPart("x"),
        "nat": DelegatedPart("x"),
        "dpi": DelegatedPart("x"),
    }
)


def chain_graph() -> ServiceGraph:
    return build_graph(CHAIN, lookup([FW, IDS, NAT], catalogues=[catalogue("x", [DPI_OFFER])]))


def test_members_of_one_lower_sp_travel_as_one_subservice() -> None:
    graph = chain_graph()
    plan = plan_for(graph, PLACEMENT)
    sub = build_subservice(
        graph, PLACEMENT, plan, PlacementConstraints(), DelegatedPart("x"), "r-1", "n"
    )
    nsd_ = sub.request.descriptors.nsd if sub.request.descriptors else None
    assert nsd_ is not None
    assert (sub.part, sub.lower, sub.request.request_id, sub.request.name) == (
        DelegatedPart("x"),
        "x",
        "r-1",
        "n",
    )
    assert nsd_.ref == DescriptorRef(VENDOR, "chain.x", "1.0")
    assert nsd_.network_functions == (
        NetworkFunctionRef("ids", ref("ids")),
        NetworkFunctionRef("nat", ref("nat")),
    )
    assert nsd_.network_services == (NestedServiceRef("dpi", ref("dpi")),)
    # only the VNFDs this node knows travel; the offered service is the lower SP's own
    assert sub.request.descriptors is not None
    assert set(sub.request.descriptors.vnfds) == {IDS, NAT}
    assert sub.request.offer is None


def test_crossing_links_become_boundary_points_named_after_the_link() -> None:
    graph = chain_graph()
    plan = plan_for(graph, PLACEMENT)
    sub = build_subservice(
        graph, PLACEMENT, plan, PlacementConstraints(), DelegatedPart("x"), "r", "n"
    )
    assert sub.request.descriptors is not None
    nsd_ = sub.request.descriptors.nsd
    assert [(cp.id, cp.type) for cp in nsd_.connection_points] == [
        ("fw-2-ids", ConnectionPointType.EXTERNAL),
        ("dpi-2-out", ConnectionPointType.EXTERNAL),
    ]
    assert {vl.id: vl.connection_points_reference for vl in nsd_.virtual_links} == {
        "fw-2-ids": ("ids:in", "fw-2-ids"),
        "ids-2-nat": ("ids:out", "nat:in"),
        "nat-2-dpi": ("nat:out", "dpi:in"),
        "dpi-2-out": ("dpi:out", "dpi-2-out"),
    }
    assert all(vl.connectivity_type is ConnectivityType.E_LINE for vl in nsd_.virtual_links)
    assert sub.boundary == {"fw-2-ids": "fw-2-ids", "dpi-2-out": "dpi-2-out"}


def test_constraints_are_this_parts_slice_with_the_link_subnet_and_gateway() -> None:
    graph = chain_graph()
    plan = plan_for(graph, PLACEMENT)
    sub = build_subservice(
        graph, PLACEMENT, plan, PlacementConstraints(), DelegatedPart("x"), "r", "n"
    )
    addressing = sub.request.addressing
    part = plan.part_spaces["sp:x"]
    assert addressing.address_space == plan.part_blocks["sp:x"] == part.block == "10.1.0.0/19"
    assert addressing.vni_space == part.vnis
    assert addressing.mac_prefix == part.macs
    assert addressing.port_id_prefix == part.port_id_prefix == "sp:x/"
    assert addressing.mtu == 1500
    assert addressing.constraints == tuple(
        plan.constraint("sp:x", cp, cp) for cp in ("fw-2-ids", "dpi-2-out")
    )
    # concretely: the third crossing /24 (after input-2-fw and fw-2-ids), halved with OWN;
    # x holds the upper half, so the broadcast address is excluded; the link has one VNI
    dpi_out = addressing.constraints[1]
    assert (dpi_out.prefix, dpi_out.subnet, dpi_out.gateway, dpi_out.excluded) == (
        "10.1.34.128/25",
        "10.1.34.0/24",
        "10.1.34.1",
        ("10.1.34.255",),
    )
    assert dpi_out.vni is not None
    assert dpi_out.vni.size == 1
    assert dpi_out.vni.first == plan.links["dpi-2-out"].vni
    assert (dpi_out.mac_prefix, dpi_out.port_id_prefix, dpi_out.mtu) == (part.macs, "sp:x/", 1500)


def test_forwarding_paths_are_projected_onto_the_part() -> None:
    graph = chain_graph()
    plan = plan_for(graph, PLACEMENT)
    sub = build_subservice(
        graph, PLACEMENT, plan, PlacementConstraints(), DelegatedPart("x"), "r", "n"
    )
    assert sub.request.descriptors is not None
    [fg] = sub.request.descriptors.nsd.forwarding_graphs
    assert fg.fg_id == "fg1"
    assert fg.constituent_virtual_links == ("fw-2-ids", "ids-2-nat", "dpi-2-out")
    assert fg.constituent_vnfs == ("ids", "nat")
    assert fg.constituent_services == ("dpi",)
    # the path that never touches the part is dropped
    [fp] = fg.network_forwarding_paths
    assert [(h.connection_point_ref, h.position) for h in fp.connection_points] == [
        ("fw-2-ids", 1),
        ("ids:in", 2),
        ("ids:out", 3),
        ("nat:in", 4),
        ("nat:out", 5),
        ("dpi:in", 6),
        ("dpi:out", 7),
        ("dpi-2-out", 8),
    ]


def test_consecutive_outside_hops_on_one_boundary_link_collapse() -> None:
    service = nsd(
        "lan",
        functions={"a": ref("fw"), "b": ref("fw"), "c": ref("fw")},
        links=[link("lan", "a:out", "b:out", "c:in", kind=ConnectivityType.E_LAN)],
        fgs=[
            ForwardingGraph(
                "g", network_forwarding_paths=(path("p", "a:out", "b:out", "c:in", "c:out"),)
            )
        ],
    )
    graph = build_graph(service, lookup([FW]))
    placement = Placement({"a": LocalPart("ams"), "b": LocalPart("ams"), "c": DelegatedPart("x")})
    sub = build_subservice(
        graph,
        placement,
        plan_for(graph, placement),
        PlacementConstraints(),
        DelegatedPart("x"),
        "r",
        "n",
    )
    assert sub.request.descriptors is not None
    [fg] = sub.request.descriptors.nsd.forwarding_graphs
    assert [h.connection_point_ref for h in fg.network_forwarding_paths[0].connection_points] == [
        "lan",
        "c:in",
        "c:out",
    ]


def test_placement_rules_are_resolved_per_member_and_keep_only_the_region() -> None:
    inner = nsd(
        "inner",
        functions={"p": ref("fw"), "q": ref("fw")},
        points=("in",),
        links=[link("i", "in", "p:in")],
    )
    service = nsd(
        "svc",
        functions={"fw": ref("fw"), "solo": ref("fw")},
        services={"inner": ref("inner")},
        links=[link("x", "fw:out", "inner:in")],
    )
    graph = build_graph(service, lookup([FW], [inner]))
    placement = Placement(
        {
            "fw": LocalPart("ams"),
            "solo": DelegatedPart("x"),
            "inner/p": DelegatedPart("x"),
            "inner/q": DelegatedPart("x"),
        }
    )
    rules = PlacementConstraints(
        {
            "inner": PlacementRule(region="us", operator="x"),
            "inner/q": PlacementRule(region="ca"),
            "solo": PlacementRule(operator="x"),  # no region: nothing to pass down
            "fw": PlacementRule(pop="ams"),
        },
        default_region="eu",
    )
    sub = build_subservice(
        graph, placement, plan_for(graph, placement), rules, DelegatedPart("x"), "r", "n"
    )
    assert sub.request.placement == PlacementConstraints(
        {"inner/p": PlacementRule(region="us"), "inner/q": PlacementRule(region="ca")},
        default_region="eu",
    )
    assert sub.request.descriptors is not None
    assert [f.vnf_id for f in sub.request.descriptors.nsd.network_functions] == [
        "solo",
        "inner/p",
        "inner/q",
    ]
    # the merged link reaches inside the expanded child: its boundary point is the parent link
    assert sub.boundary == {"x": "x"}


def test_each_lower_sp_gets_only_its_own_members_and_both_see_the_link_between_them() -> None:
    service = nsd(
        "two", functions={"a": ref("fw"), "b": ref("fw")}, links=[link("ab", "a:out", "b:in")]
    )
    graph = build_graph(service, lookup([FW]))
    placement = Placement({"a": DelegatedPart("x"), "b": DelegatedPart("y")})
    plan = plan_for(graph, placement)
    sx = build_subservice(
        graph, placement, plan, PlacementConstraints(), DelegatedPart("x"), "r", "n"
    )
    sy = build_subservice(
        graph, placement, plan, PlacementConstraints(), DelegatedPart("y"), "r", "n"
    )
    assert sx.request.descriptors is not None
    assert sy.request.descriptors is not None
    assert [f.vnf_id for f in sx.request.descriptors.nsd.network_functions] == ["a"]
    assert [f.vnf_id for f in sy.request.descriptors.nsd.network_functions] == ["b"]
    cx, cy = sx.request.addressing.constraints[0], sy.request.addressing.constraints[0]
    assert cx.subnet == cy.subnet
    assert cx.gateway == cy.gateway
    assert cx.prefix != cy.prefix
    assert sx.request.addressing.address_space != sy.request.addressing.address_space
