"""``build_graph``: resolution against local descriptors and offers, and flattening."""

from __future__ import annotations

import pytest

from spfed.errors import InvalidArgument
from spfed.model import ForwardingGraph, OfferKind, Resources
from tests.unit.upper_sp.builders import catalogue, link, lookup, nsd, offer, path, ref, vnfd
from upper_sp.graph import GraphLink, MemberKind, ServiceGraph, build_graph, members_of

FW = vnfd("fw", vcpus=2)
IDS = vnfd("ids", points=("in", "out", "mgmt"), vcpus=4)

INNER = nsd(
    "inner",
    functions={"ids": ref("ids")},
    points=("in", "out", "mgmt"),
    links=[
        link("l_in", "in", "ids:in"),
        link("l_out", "ids:out", "out"),
        link("l_mgmt", "mgmt", "ids:mgmt"),
    ],
    fgs=[
        ForwardingGraph(
            "fg_inner", network_forwarding_paths=(path("p", "in", "ids:in", "ids:out", "out"),)
        )
    ],
)

CHAIN = nsd(
    "chain",
    functions={"fw": ref("fw")},
    services={"inner": ref("inner")},
    points=("input", "output"),
    links=[
        link("input-2-fw", "input", "fw:in"),
        link("fw-2-inner", "fw:out", "inner:in"),
        link("inner-2-out", "inner:out", "output"),
    ],
    fgs=[
        ForwardingGraph(
            "fg1",
            constituent_virtual_links=("input-2-fw", "fw-2-inner"),
            constituent_vnfs=("fw",),
            constituent_services=("inner",),
            network_forwarding_paths=(
                path("fp", "input", "fw:in", "fw:out", "inner:in", "inner:out", "output"),
            ),
        )
    ],
)


def links_by_id(graph: ServiceGraph) -> dict[str, tuple[str, ...]]:
    return {lk.id: lk.refs for lk in graph.links}


def test_a_flat_service_resolves_against_sent_vnfds() -> None:
    flat = nsd(
        "flat",
        functions={"fw": ref("fw"), "ids": ref("ids")},
        points=("input",),
        links=[link("a", "input", "fw:in"), link("b", "fw:out", "ids:in")],
    )
    graph = build_graph(flat, lookup([FW, IDS]))
    assert [(m.id, m.kind, m.descriptor, m.resources.vcpus) for m in graph.members] == [
        ("fw", MemberKind.FUNCTION, ref("fw"), 2),
        ("ids", MemberKind.FUNCTION, ref("ids"), 4),
    ]
    assert graph.member("ids").points == ("in", "out", "mgmt")
    assert graph.member("fw").vnfd == FW
    assert graph.member("fw").rule_keys == ("fw",)
    assert links_by_id(graph) == {"a": ("input", "fw:in"), "b": ("fw:out", "ids:in")}
    assert graph.own_points == flat.connection_points
    assert graph.member_ids() == {"fw", "ids"}
    assert [m.id for m in members_of(graph, ["ids", "fw", "nobody"])] == ["fw", "ids"]


def test_a_locally_known_nested_service_is_flattened() -> None:
    graph = build_graph(CHAIN, lookup([FW, IDS], [INNER]))
    assert [m.id for m in graph.members] == ["fw", "inner/ids"]
    ids = graph.member("inner/ids")
    assert ids.kind is MemberKind.FUNCTION
    assert ids.rule_keys == ("inner/ids", "inner")
    assert ids.vnfd == IDS
    assert links_by_id(graph) == {
        "input-2-fw": ("input", "fw:in"),
        # parent links on inner:in / inner:out merged with the child's links on those points
        "fw-2-inner": ("fw:out", "inner/ids:in"),
        "inner-2-out": ("inner/ids:out", "output"),
        # the child's point 'mgmt' is referenced by no parent link: it vanishes, its link stays
        "inner/l_mgmt": ("inner/ids:mgmt",),
    }


def test_forwarding_graphs_are_flattened_and_hops_on_expanded_children_dropped() -> None:
    graph = build_graph(CHAIN, lookup([FW, IDS], [INNER]))
    outer, inner = graph.forwarding_graphs
    assert outer.fg_id == "fg1"
    assert outer.constituent_services == ()  # expanded: its functions stand on their own
    assert outer.constituent_vnfs == ("fw",)
    assert [
        (h.connection_point_ref, h.position)
        for h in outer.network_forwarding_paths[0].connection_points
    ] == [
        ("input", 1),
        ("fw:in", 2),
        ("fw:out", 3),
        ("output", 6),
    ]
    assert inner.fg_id == "inner/fg_inner"
    assert [
        h.connection_point_ref for h in inner.network_forwarding_paths[0].connection_points
    ] == [
        "inner/in",
        "inner/ids:in",
        "inner/ids:out",
        "inner/out",
    ]


def test_two_levels_of_nesting_prefix_twice() -> None:
    middle = nsd(
        "middle",
        services={"inner": ref("inner")},
        points=("in", "out"),
        links=[link("m_in", "in", "inner:in"), link("m_out", "inner:out", "out")],
    )
    top = nsd(
        "top",
        services={"mid": ref("middle")},
        points=("a", "b"),
        links=[link("ta", "a", "mid:in"), link("tb", "mid:out", "b")],
    )
    graph = build_graph(top, lookup([IDS], [INNER, middle]))
    assert [m.id for m in graph.members] == ["mid/inner/ids"]
    assert graph.members[0].rule_keys == ("mid/inner/ids", "mid/inner", "mid")
    assert links_by_id(graph) == {
        "ta": ("a", "mid/inner/ids:in"),
        "tb": ("mid/inner/ids:out", "b"),
        "mid/inner/l_mgmt": ("mid/inner/ids:mgmt",),
    }


def test_members_known_only_from_offers_resolve_from_lower_catalogues() -> None:
    service = nsd(
        "svc",
        functions={"fw": ref("fw")},
        services={"dpi": ref("dpi")},
        links=[link("x", "fw:out", "dpi:in")],
    )
    cat = catalogue(
        "lower-a",
        [
            offer(OfferKind.NETWORK_FUNCTION, "fw", vcpus=3),
            offer(OfferKind.NETWORK_SERVICE, "dpi", points=("in", "out", "ctl"), vcpus=5),
        ],
    )
    graph = build_graph(service, lookup(catalogues=[cat]))
    fw, dpi = graph.members
    assert (fw.kind, fw.vnfd, fw.resources.vcpus, fw.points) == (
        MemberKind.FUNCTION,
        None,
        3,
        ("in", "out"),
    )
    assert (dpi.kind, dpi.descriptor, dpi.points, dpi.resources) == (
        MemberKind.SERVICE,
        ref("dpi"),
        ("in", "out", "ctl"),
        Resources(5, 512, 1),
    )
    # a service known only from an offer stays one member: its link refs are kept as they are
    assert links_by_id(graph) == {"x": ("fw:out", "dpi:in")}


def test_a_local_vnfd_wins_over_an_offer() -> None:
    service = nsd("svc", functions={"fw": ref("fw")})
    cat = catalogue("lower-a", [offer(OfferKind.NETWORK_FUNCTION, "fw", vcpus=9)])
    graph = build_graph(service, lookup([FW], catalogues=[cat]))
    assert graph.member("fw").vnfd == FW


def test_version_constraints_pick_the_highest_matching_local_descriptor() -> None:
    service = nsd(
        "svc", functions={"a": ref("fw", ">= 1.0"), "b": ref("fw", "<= 1.5"), "c": ref("fw", "1")}
    )
    versions = [vnfd("fw", v) for v in ("0.9", "1.0", "1.5", "2.0")]
    graph = build_graph(service, lookup(versions))
    assert [m.descriptor.version for m in graph.members] == ["2.0", "1.5", "1.0"]


def test_an_unsatisfiable_version_constraint_does_not_resolve() -> None:
    service = nsd("svc", functions={"a": ref("fw", ">= 3")})
    with pytest.raises(InvalidArgument) as info:
        build_graph(service, lookup([vnfd("fw", "2.0")]))
    assert [v.field for v in info.value.field_violations] == ["network_functions[0]"]


def test_version_constraints_pick_the_highest_matching_offer() -> None:
    service = nsd("svc", functions={"a": ref("fw", ">= 1.0")})
    cat = catalogue(
        "lower-a",
        [offer(OfferKind.NETWORK_FUNCTION, "fw", v) for v in ("1.0", "2.0", "1.5")],
    )
    graph = build_graph(service, lookup(catalogues=[cat]))
    assert graph.member("a").descriptor.version == "2.0"


def test_unresolved_members_raise_invalid_argument_with_one_path_each() -> None:
    service = nsd(
        "svc",
        functions={"fw": ref("fw"), "ghost": ref("ghost")},
        services={"inner": ref("inner"), "void": ref("void")},
    )
    broken_inner = nsd("inner", functions={"ids": ref("ids"), "nope": ref("nope")})
    with pytest.raises(InvalidArgument) as info:
        build_graph(service, lookup([FW, IDS], [broken_inner]), path="descriptors.nsd.")
    fields = [v.field for v in info.value.field_violations]
    assert fields == [
        "descriptors.nsd.network_functions[1]",
        "descriptors.nsd.network_services[0].network_functions[1]",
        "descriptors.nsd.network_services[1]",
    ]
    descriptions = " ".join(v.description for v in info.value.field_violations)
    assert "eu.test/ghost/1.0" in descriptions
    assert "eu.test/void/1.0" in descriptions


def test_a_nesting_loop_is_invalid_with_its_path() -> None:
    a = nsd("a", services={"to_b": ref("b")})
    b = nsd("b", services={"to_a": ref("a")})
    with pytest.raises(InvalidArgument) as info:
        build_graph(a, lookup(nsds=[a, b]), path="offer.")
    [violation] = info.value.field_violations
    assert violation.field == "offer.network_services[0].network_services[0]"
    assert "nests itself" in violation.description


def test_a_service_nesting_itself_directly_is_invalid() -> None:
    a = nsd("a", services={"me": ref("a")})
    with pytest.raises(InvalidArgument) as info:
        build_graph(a, lookup(nsds=[a]))
    assert [v.field for v in info.value.field_violations] == ["network_services[0]"]


def test_the_same_nested_service_twice_is_not_a_loop() -> None:
    service = nsd(
        "twice",
        services={"one": ref("inner"), "two": ref("inner")},
        links=[link("x", "one:out", "two:in")],
    )
    graph = build_graph(service, lookup([IDS], [INNER]))
    assert [m.id for m in graph.members] == ["one/ids", "two/ids"]
    assert links_by_id(graph)["x"] == ("one/ids:out", "two/ids:in")
    assert isinstance(graph.links[0], GraphLink)


def test_member_of_an_unknown_id_raises_key_error() -> None:
    graph = build_graph(nsd("svc", functions={"fw": ref("fw")}), lookup([FW]))
    with pytest.raises(KeyError):
        graph.member("nobody")
