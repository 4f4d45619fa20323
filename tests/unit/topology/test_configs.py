"""Node configurations generated from a topology: lower SPs, paths, settings."""

from __future__ import annotations

from pathlib import Path

from spfed.config import load_config
from spfed.topology import (
    OperatorPaths,
    load_topology,
    node_config_data,
    parse_topology,
    write_node_config,
)
from spfed.topology.configs import merge_settings, owned_settings_in, storage_url
from spfed.topology.databases import database_name
from spfed.topology.security import TopologySecurity
from tests.unit.topology.builders import BASE, DEMO, operator, pop, topology

ADDRESSES = {
    "retail": "127.0.0.1:7001",
    "wholesale-eu": "127.0.0.1:7002",
    "wholesale-us": "127.0.0.1:7003",
    "edge-be": "127.0.0.1:7004",
}


def test_paths_of_an_operator(tmp_path: Path) -> None:
    paths = OperatorPaths.under(tmp_path / "demo", "retail")
    assert paths.directory == tmp_path / "demo" / "retail"
    assert paths.config == paths.directory / "node.yaml"
    assert paths.log == paths.directory / "node.log"
    assert paths.ready_file == paths.directory / "ready"
    assert paths.database_url == f"sqlite:///{tmp_path}/demo/retail/spfed.db"


def test_relative_topology_directories_become_absolute() -> None:
    assert OperatorPaths.under("rel", "a").directory == Path.cwd() / "rel" / "a"


def secured(tmp_path: Path, operators: list[str]) -> TopologySecurity:
    """Real keys, certificates and (cheaply hashed) passwords for ``operators``."""
    return TopologySecurity.provision(tmp_path, "t", operators, scrypt_log_n=10)


def test_lower_sps_are_the_operators_naming_it_as_parent(tmp_path: Path) -> None:
    demo = load_topology(DEMO)
    security = secured(tmp_path, list(demo.operators))
    lowers = {
        op: node_config_data(demo, op, OperatorPaths.under(tmp_path, op), ADDRESSES, security)[
            "federation"
        ]["lower_sps"]
        for op in demo.operators
    }

    def lower(op: str) -> dict[str, str]:
        """A lower SP entry: where it is, and the key its catalogue is signed with."""
        return {
            "id": op,
            "address": ADDRESSES[op],
            "public_key_file": str(security.identity_public(op)),
        }

    assert lowers == {
        "retail": [lower("wholesale-eu"), lower("wholesale-us")],
        "wholesale-eu": [lower("edge-be")],
        "wholesale-us": [],
        "edge-be": [],
    }


def test_generated_configuration_of_a_leaf(tmp_path: Path) -> None:
    demo = load_topology(DEMO)
    paths = OperatorPaths.under(tmp_path, "edge-be")
    security = secured(tmp_path, list(demo.operators))
    data = node_config_data(demo, "edge-be", paths, {}, security)
    sections = security.config_sections("edge-be", ["wholesale-eu"])
    assert data == {
        "id": "edge-be",
        "server": {"listen": "127.0.0.1:0", "ready_file": str(paths.ready_file)},
        "storage": {"url": f"sqlite:///{paths.database}"},
        "pops": [
            {
                "name": "bru",
                "region": "be",
                "driver": "emulated",
                "capacity": {"vcpus": 16, "memory_mib": 32768, "disk_gib": 500},
                "options": {},
            }
        ],
        "federation": {"lower_sps": [], **sections["federation"]},
        "catalogue": {
            "descriptors": list(demo.operators["edge-be"].descriptors),
            **demo.operators["edge-be"].settings["catalogue"],  # its prices and SLA
        },
        "logging": {"file": ""},
        "metrics": {"listen": ""},  # off unless 'up' gives it a port
        "tls": sections["tls"],
        "auth": sections["auth"],
    }


def test_each_node_trusts_the_operators_it_serves_and_has_its_users(tmp_path: Path) -> None:
    demo = load_topology(DEMO)
    security = TopologySecurity.provision(
        tmp_path, "demo", list(demo.operators), customers={"retail": ["acme"]}, scrypt_log_n=10
    )
    paths = OperatorPaths.under(tmp_path, "wholesale-eu")
    config = write_node_config(demo, "wholesale-eu", paths, ADDRESSES, security)
    accounts = {(a.name, a.kind.value, a.role.value) for a in config.auth.accounts}
    assert accounts == {("retail", "service", "platform"), ("admin", "user", "operator")}
    (retail,) = (a for a in config.auth.accounts if a.name == "retail")
    assert retail.public_key_file == str(security.identity_public("retail"))
    assert config.federation.key_file == str(security.identity_key("wholesale-eu"))
    assert config.tls.ca_file == str(security.ca_file)
    assert config.tls.require_client_cert
    assert not config.tls.insecure
    top = write_node_config(
        demo, "retail", OperatorPaths.under(tmp_path, "retail"), ADDRESSES, security
    )
    assert {a.name for a in top.auth.accounts} == {"admin", "acme"}  # nobody above it
    assert security.password("retail", "acme") != security.password("retail")
    assert oct(security.password_file("retail", "acme").stat().st_mode & 0o777) == "0o600"


def test_write_node_config_reads_back_as_the_node_will(tmp_path: Path) -> None:
    demo = load_topology(DEMO)
    paths = OperatorPaths.under(tmp_path / "demo", "retail")
    config = write_node_config(demo, "retail", paths, ADDRESSES, secured(tmp_path, ["retail"]))
    assert paths.config.is_file()
    assert paths.config.read_text().startswith("# Generated by 'spfed topology up'")
    assert config.id == "retail"
    assert config.server.listen == "127.0.0.1:0"
    assert config.server.ready_file == str(paths.ready_file)
    assert config.storage.url == f"sqlite:///{paths.database}"
    assert [(p.name, p.region, p.capacity.vcpus) for p in config.pops] == [("ams", "nl", 16)]
    assert [(s.id, s.address) for s in config.federation.lower_sps] == [
        ("wholesale-eu", "127.0.0.1:7002"),
        ("wholesale-us", "127.0.0.1:7003"),
    ]
    assert config.catalogue.descriptors == ()
    assert config.logging.file == ""
    assert load_config(paths.config, environ={}) == config


def test_settings_are_merged_section_by_section(tmp_path: Path) -> None:
    settings = {
        "addressing": {"service_pool": "10.64.0.0/10"},
        "workflow": {"max_attempts": 5, "retry_delay_s": 0.5},
        "logging": {"level": "DEBUG"},
        "server": {"grace_period_s": 2},
        "federation": {"call_timeout_s": 3},
        "catalogue": {"republish_debounce_s": 0},
    }
    parsed = parse_topology(
        topology(a=operator(settings=settings), b=operator("a", pops=[pop("q", "r2")])),
        base=BASE,
        source="t.yaml",
    )
    paths = OperatorPaths.under(tmp_path, "a")
    data = node_config_data(parsed, "a", paths, {"b": "127.0.0.1:9"}, None)
    assert data["addressing"] == {"service_pool": "10.64.0.0/10"}
    assert data["workflow"] == {"max_attempts": 5, "retry_delay_s": 0.5}
    assert data["logging"] == {"file": "", "level": "DEBUG"}
    assert data["server"] == {
        "listen": "127.0.0.1:0",
        "ready_file": str(paths.ready_file),
        "grace_period_s": 2,
    }
    assert data["federation"] == {
        "lower_sps": [
            {"id": "b", "address": "127.0.0.1:9", "public_key_file": str(paths.directory / "b.pub")}
        ],
        "key_file": str(paths.directory / "id"),  # a placeholder: no security given
        "call_timeout_s": 3,
    }
    assert data["catalogue"] == {"descriptors": [], "republish_debounce_s": 0}


def test_owned_fields_win_over_settings_even_unvalidated(tmp_path: Path) -> None:
    parsed = parse_topology(topology(a=operator()), base=BASE, source="t.yaml")
    spec = parsed.operators["a"]
    sneaky = {
        "id": "b",
        "server": {"listen": "0.0.0.0:1"},
        "logging": {"file": "x", "level": "ERROR"},
        "tls": {"insecure": True},
        "auth": {"accounts": [], "token_ttl_s": 60},
    }
    object.__setattr__(spec, "settings", sneaky)
    security = secured(tmp_path, ["a"])
    data = node_config_data(parsed, "a", OperatorPaths.under(tmp_path, "a"), {}, security)
    assert data["id"] == "a"
    assert data["server"]["listen"] == "127.0.0.1:0"
    assert data["logging"] == {"file": "", "level": "ERROR"}
    assert data["tls"] == security.config_sections("a", [])["tls"]  # TLS cannot be turned off
    assert data["auth"]["accounts"]
    assert data["auth"]["token_ttl_s"] == 60


def test_merge_and_owned_helpers() -> None:
    assert merge_settings({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"c": 3}, "d": [2]}) == {
        "a": {"b": 1, "c": 3},
        "d": [2],
    }
    assert owned_settings_in({"server": {"grace_period_s": 1}, "tls": {}}) == ["tls"]
    assert owned_settings_in({"storage": {"url": "sqlite:///x.db"}}) == []
    assert owned_settings_in({"server": "not a section"}) == []


PG_SERVER = "postgresql+psycopg://spfed:secret@db.example.net:5432"


def test_where_each_operator_keeps_its_database(tmp_path: Path) -> None:
    own = "postgresql+psycopg://me@elsewhere:5432/mine"
    data = {
        **topology(
            name="lab",
            top=operator(settings={"storage": {"url": own}}),
            low_er=operator("top"),
        ),
        "storage": {"postgresql": PG_SERVER},
    }
    lab = parse_topology(data, base=BASE, source="t.yaml")
    security = secured(tmp_path, ["top", "low-er"])
    urls = {
        op: node_config_data(
            lab, op, OperatorPaths.under(tmp_path, op), {"low-er": "127.0.0.1:7001"}, security
        )["storage"]["url"]
        for op in ("top", "low-er")
    }
    # Its own URL wins; the others get one database each on the topology's server.
    assert urls == {"top": own, "low-er": f"{PG_SERVER}/spfed_lab_low_er"}
    assert storage_url(lab, "low-er", OperatorPaths.under(tmp_path, "low-er")) == urls["low-er"]
    without = parse_topology(topology(a=operator()), base=BASE, source="t.yaml")
    paths = OperatorPaths.under(tmp_path, "a")
    assert storage_url(without, "a", paths) == paths.database_url


def test_database_names_fit_postgresql() -> None:
    assert database_name("demo", "wholesale-eu") == "spfed_demo_wholesale_eu"
    long = database_name("t" * 63, "o" * 63)
    assert len(long) == 63
    assert long.startswith("spfed_ttt")
    assert long != database_name("t" * 63, "o" * 62 + "x")  # the hash keeps them apart
