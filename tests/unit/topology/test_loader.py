"""Topology files: what is accepted, and one exact line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from spfed.topology import TopologyFileError, load_topology, parse_topology
from tests.unit.topology.builders import BASE, DEMO, EXAMPLES, operator, pop, topology

PATTERN = r"^[a-z0-9][a-z0-9\-_.]*$"


def problems(data: Any) -> list[str]:
    with pytest.raises(TopologyFileError) as caught:
        parse_topology(data, base=BASE, source="t.yaml")
    assert str(caught.value) == "\n".join(caught.value.problems)
    return list(caught.value.problems)


def test_the_demo_topology() -> None:
    demo = load_topology(DEMO)
    assert demo.name == "demo"
    assert demo.levels() == {"retail": 1, "wholesale-eu": 2, "wholesale-us": 2, "edge-be": 3}
    assert demo.parents == {
        "retail": (),
        "wholesale-eu": ("retail",),
        "wholesale-us": ("retail",),
        "edge-be": ("wholesale-eu",),
    }
    assert demo.start_waves() == [["edge-be", "wholesale-us"], ["wholesale-eu"], ["retail"]]
    pops = {op: [(p.name, p.region) for p in s.pops] for op, s in demo.operators.items()}
    assert pops == {
        "retail": [("ams", "nl")],
        "wholesale-eu": [("fra", "de")],
        "wholesale-us": [("nyc", "us")],
        "edge-be": [("bru", "be")],
    }
    descriptors = EXAMPLES / "descriptors"
    assert demo.operators["retail"].descriptors == ()
    assert demo.operators["wholesale-eu"].descriptors == (str(descriptors / "vnfd-legacy-nat.yml"),)
    assert demo.operators["wholesale-us"].descriptors == (str(descriptors / "vnfd-dpi.yml"),)
    assert demo.operators["edge-be"].descriptors == tuple(
        str(descriptors / f) for f in ("nsd-edge-cdn.yml", "vnfd-router.yml", "vnfd-cache.yml")
    )
    assert demo.regions_below("retail") == {"nl", "de", "us", "be"}
    assert demo.regions_below("wholesale-eu") == {"de", "be"}
    for spec in demo.operators.values():
        for p in spec.pops:
            assert 16 <= p.capacity.vcpus <= 32
            assert 32768 <= p.capacity.memory_mib <= 65536
            assert p.capacity.disk_gib == 500


def test_one_lower_sp_may_serve_several_upper_sps() -> None:
    parsed = parse_topology(
        topology(a=operator(), b=operator(), shared=operator("a", "b")),
        base=BASE,
        source="t.yaml",
    )
    assert parsed.children("a") == ["shared"]
    assert parsed.children("b") == ["shared"]


def test_a_cycle() -> None:
    assert problems(topology(a=operator("c"), b=operator("a"), c=operator("b"))) == [
        "t.yaml: operators: the parents form a cycle: a -> b -> c -> a (each a parent of the next)"
    ]


def test_unknown_own_and_repeated_parents() -> None:
    data = topology(a=operator("retial", "a", "b", "b"), b=operator())
    assert problems(data) == [
        "t.yaml: operators.a.parents.0: unknown operator 'retial' (operators: a, b)",
        "t.yaml: operators.a.parents.1: an operator cannot be its own parent",
        "t.yaml: operators.a.parents.3: 'b' is listed twice",
    ]


def test_duplicate_pop_names() -> None:
    data = topology(a=operator(pops=[pop("ams", "nl"), pop("fra", "de"), pop("ams", "be")]))
    assert problems(data) == ["t.yaml: operators.a.pops.2.name: PoP name 'ams' is used twice"]


def test_the_same_pop_name_at_two_operators_is_fine() -> None:
    data = topology(a=operator(pops=[pop("x", "nl")]), b=operator("a", pops=[pop("x", "de")]))
    assert parse_topology(data, base=BASE, source="t.yaml").operators["b"].pops[0].name == "x"


def test_bad_capacities() -> None:
    data = topology(a=operator(pops=[pop("p", "r", vcpus=0, memory_mib=-1, disk_gib="lots")]))
    assert problems(data) == [
        "t.yaml: operators.a.pops.0.capacity.vcpus: Input should be greater than 0",
        "t.yaml: operators.a.pops.0.capacity.memory_mib: Input should be greater than 0",
        "t.yaml: operators.a.pops.0.capacity.disk_gib: Input should be a valid integer,"
        " unable to parse string as an integer",
    ]


def test_missing_capacity() -> None:
    data = topology(a=operator(pops=[{"name": "p", "region": "r"}]))
    assert problems(data) == ["t.yaml: operators.a.pops.0.capacity: Field required"]


def test_unknown_vim_driver() -> None:
    data = topology(a=operator(pops=[{**pop("p", "r"), "driver": "vmware"}]))
    assert problems(data) == [
        "t.yaml: operators.a.pops.0.driver: unknown VIM driver 'vmware'"
        " (installed: emulated, openstack)"
    ]


def test_names_fields_and_empty_topologies() -> None:
    assert problems({"name": "Demo 1", "operators": {}, "colour": "red"}) == [
        f"t.yaml: name: String should match pattern '{PATTERN}'",
        "t.yaml: operators: Dictionary should have at least 1 item after validation, not 0",
        "t.yaml: colour: Unexpected keyword argument",
    ]
    assert problems(topology(Retail=operator())) == [
        f"t.yaml: operators.Retail: invalid name: String should match pattern '{PATTERN}'"
    ]
    assert problems(topology(local=operator())) == [
        "t.yaml: operators.local: the name 'local' is reserved"
    ]
    assert problems([1, 2]) == ["t.yaml: the top level must be a mapping"]
    assert problems({"name": "t", "operators": {"a": 3}}) == [
        "t.yaml: operators.a: Input should be a mapping"
    ]


def test_an_operator_that_could_deliver_nothing() -> None:
    assert problems(topology(a=operator(pops=[]))) == [
        "t.yaml: operators.a: has no PoPs and no lower SPs, so it could deliver nothing"
    ]
    broker = topology(broker=operator(pops=[]), b=operator("broker"))
    assert parse_topology(broker, base=BASE, source="t.yaml").operators["broker"].pops == ()


def test_missing_descriptor_files() -> None:
    data = topology(
        a=operator(descriptors=["../descriptors/vnfd-dpi.yml", "../descriptors/nope.yml"])
    )
    missing = (EXAMPLES / "descriptors" / "nope.yml").resolve()
    assert problems(data) == [
        f"t.yaml: operators.a.descriptors.1: no such file or directory:"
        f" ../descriptors/nope.yml ({missing})"
    ]


def test_descriptors_are_checked_together_as_the_node_loads_them() -> None:
    data = topology(a=operator(descriptors=["../descriptors/nsd-edge-cdn.yml"]))
    hint = "; pass the file that defines it too"
    assert problems(data) == [
        "t.yaml: operators.a.descriptors: ../descriptors/nsd-edge-cdn.yml[0].network_functions[0]:"
        f" no VNFD eu.spfed.demo/router/1.0 is known (no VNFD at all){hint}",
        "t.yaml: operators.a.descriptors: ../descriptors/nsd-edge-cdn.yml[0].network_functions[1]:"
        f" no VNFD eu.spfed.demo/cache/>= 1.0 is known (no VNFD at all){hint}",
    ]


def test_a_descriptor_directory_is_accepted() -> None:
    data = topology(a=operator(descriptors=["../descriptors"]))
    parsed = parse_topology(data, base=BASE, source="t.yaml")
    assert parsed.operators["a"].descriptors == (str((EXAMPLES / "descriptors").resolve()),)


def test_settings_are_checked_as_node_configuration() -> None:
    settings = {"workflow": {"max_attempts": 0}, "logging": {"level": "LOUD"}, "workflw": {}}
    assert problems(topology(a=operator(settings=settings))) == [
        "t.yaml: operators.a.settings.workflow.max_attempts: Input should be greater than"
        " or equal to 1",
        "t.yaml: operators.a.settings.logging.level: Input should be 'DEBUG', 'INFO',"
        " 'WARNING' or 'ERROR'",
        "t.yaml: operators.a.settings.workflw: Unexpected keyword argument",
    ]


def test_settings_cannot_touch_what_the_launcher_sets() -> None:
    settings = {
        "pops": [],
        "server": {"listen": "0.0.0.0:7000", "grace_period_s": 1},
        "federation": {"lower_sps": [], "call_timeout_s": 3},
        "logging": {"file": "x.log"},
    }
    owned = "set by the topology launcher; it cannot be overridden"
    assert problems(topology(a=operator(settings=settings))) == [
        f"t.yaml: operators.a.settings.pops: {owned}",
        f"t.yaml: operators.a.settings.server.listen: {owned}",
        f"t.yaml: operators.a.settings.federation.lower_sps: {owned}",
        f"t.yaml: operators.a.settings.logging.file: {owned}",
    ]


def test_problems_of_several_kinds_are_reported_together() -> None:
    data = topology(
        a=operator("nobody", pops=[pop("p", "r"), pop("p", "r")]),
        b=operator(settings={"tls": {}}),
    )
    assert problems(data) == [
        "t.yaml: operators.a.parents.0: unknown operator 'nobody' (operators: a, b)",
        "t.yaml: operators.a.pops.1.name: PoP name 'p' is used twice",
        "t.yaml: operators.b.settings.tls: set by the topology launcher; it cannot be overridden",
    ]


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: t\noperators:\n  a: {}\n  a: {}\n")
    with pytest.raises(TopologyFileError) as caught:
        load_topology(path)
    assert caught.value.problems == (
        f"{path}: invalid YAML at line 4, column 3: key 'a' appears twice",
    )
    missing = tmp_path / "none.yaml"
    with pytest.raises(TopologyFileError) as caught:
        load_topology(missing)
    assert caught.value.problems == (f"{missing}: cannot read the file: No such file or directory",)


def test_descriptor_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    vnfd = tmp_path / "d" / "dpi.yml"
    vnfd.write_text((EXAMPLES / "descriptors" / "vnfd-dpi.yml").read_text())
    path = tmp_path / "t.yaml"
    path.write_text(
        "name: t\noperators:\n  a:\n    descriptors: [d/dpi.yml]\n"
        "    pops: [{name: p, region: r, capacity: {vcpus: 1, memory_mib: 1}}]\n"
    )
    assert load_topology(path).operators["a"].descriptors == (str(vnfd.resolve()),)
    path.write_text(path.read_text() + "  b: {parents: [a], pops: 3}\n")
    with pytest.raises(TopologyFileError) as caught:
        load_topology(path)
    assert caught.value.problems == (f"{path}: operators.b.pops: Input should be a valid tuple",)


PG_SERVER = "postgresql+psycopg://spfed@db.example.net:5432"


def test_an_operator_may_name_its_own_database() -> None:
    url = "postgresql+psycopg://spfed@db.example.net:5432/retail"
    parsed = parse_topology(
        topology(a=operator(settings={"storage": {"url": url}})), base=BASE, source="t.yaml"
    )
    assert parsed.operators["a"].settings == {"storage": {"url": url}}


def test_a_database_whose_driver_is_missing_is_named() -> None:
    data = topology(a=operator(settings={"storage": {"url": "postgresql+pg8000://h/db"}}))
    [line] = problems(data)
    assert line.startswith(
        "t.yaml: operators.a.settings.storage.url: no driver for 'postgresql+pg8000':"
    )
    assert "pg8000" in line.rpartition(":")[2]


def test_the_topology_may_name_a_postgresql_server() -> None:
    parsed = parse_topology(
        {**topology(a=operator()), "storage": {"postgresql": PG_SERVER}},
        base=BASE,
        source="t.yaml",
    )
    assert parsed.storage.postgresql == PG_SERVER


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        (
            "sqlite:///x.db",
            "'sqlite:///x.db' is not a PostgreSQL URL (e.g. postgresql+psycopg://user@127.0.0.1:5432)",
        ),
        ("not a url", "not a database URL: Could not parse SQLAlchemy URL from given URL string"),
        ("postgresql+nope://h", "no driver for 'postgresql+nope': Can't load plugin:"),
    ],
)
def test_a_server_that_is_not_postgresql_is_refused(server: str, problem: str) -> None:
    data = {**topology(a=operator(settings={"logging": {"level": "DEBUG"}})), "storage": {}}
    data["storage"] = {"postgresql": server}
    [line] = problems(data)
    assert line.startswith(f"t.yaml: storage.postgresql: {problem}")


def test_two_operators_may_not_share_a_database_name() -> None:
    data = {**topology(**{"a-b": operator(), "a.b": operator()}), "storage": {}}
    data["storage"] = {"postgresql": PG_SERVER}
    assert problems(data) == [
        "t.yaml: operators.a.b: its database spfed_t_a_b would also be operator a-b's;"
        " rename one of them"
    ]


def test_an_operator_with_its_own_database_needs_no_name_on_the_server() -> None:
    own = {"storage": {"url": "sqlite:////tmp/elsewhere.db"}}
    data = {**topology(**{"a-b": operator(), "a.b": operator(settings=own)}), "storage": {}}
    data["storage"] = {"postgresql": PG_SERVER}
    parse_topology(data, base=BASE, source="t.yaml")
