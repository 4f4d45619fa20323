"""``spfed.config``: YAML, ``SPFED__`` overrides, validation messages, paths, semantic checks."""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from spfed.config import (
    CapacityConfig,
    CatalogueConfig,
    ConfigError,
    LowerSpConfig,
    NodeConfig,
    PopConfig,
    TlsConfig,
    load_config,
    parse_config,
)
from spfed.model import Resources, WimService

FULL: dict[str, Any] = {
    "id": "retail",
    "server": {"listen": "127.0.0.1:0", "ready_file": "run/ready"},
    "storage": {"url": "sqlite:///data/spfed.db"},
    "pops": [
        {"name": "ams", "region": "eu-west", "capacity": {"vcpus": 8, "memory_mib": 8192}},
        {"name": "fra", "region": "eu-central", "driver": "emulated", "options": {"k": "v"}},
    ],
    "federation": {
        "lower_sps": [
            {"id": "wholesale", "address": "localhost:7001", "public_key_file": "keys/w.pub"}
        ],
        "call_timeout_s": 2.5,
        "key_file": "keys/identity.key",
    },
    "catalogue": {"descriptors": ["descriptors", "/abs/vnfd.yml"]},
    "logging": {"level": "DEBUG", "format": "json", "file": "logs/node.log"},
    "tls": {"cert_file": "tls/retail.crt", "key_file": "tls/retail.key", "ca_file": "tls/ca.crt"},
    "auth": {
        "key_dir": "keys/signing",
        "token_ttl_s": 600,
        "accounts": [
            {
                "name": "wholesale",
                "kind": "service",
                "role": "platform",
                "public_key_file": "keys/wholesale.pub",
            },
            {"name": "admin", "kind": "user", "role": "operator", "password_hash": "scrypt$x"},
        ],
    },
}
DEV: dict[str, Any] = {"tls": {"insecure": True}, "catalogue": {"signing_key_file": "id.key"}}
"""The development switch (without it, a node needs its TLS files), and the key that signs
the catalogue (a node always signs it)."""


def write(tmp_path: Path, data: object, name: str = "node.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def problems(data: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, environ=environ)
    return str(info.value).splitlines()


# --- loading -----------------------------------------------------------------------


def test_a_node_needs_its_tls_files_unless_explicitly_insecure_and_a_signing_key() -> None:
    assert problems({"id": "retail"}) == [
        *(
            f"tls.{name}: required (or, for development only, tls.insecure: true)"
            for name in ("cert_file", "key_file", "ca_file")
        ),
        "catalogue.signing_key_file: required to sign the catalogue (or set federation.key_file)",
    ]


def test_in_development_mode_only_the_id_is_required() -> None:
    config = parse_config({"id": "retail", **DEV})
    assert config == NodeConfig(
        id="retail",
        tls=TlsConfig(insecure=True),
        catalogue=CatalogueConfig(signing_key_file="id.key"),
    )
    assert config.server.listen == "127.0.0.1:50051"
    assert config.storage.url == "sqlite:///spfed.db"


def test_a_full_file_loads_into_typed_frozen_sections(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    assert config.pops == (
        PopConfig("ams", "eu-west", capacity=CapacityConfig(vcpus=8, memory_mib=8192)),
        PopConfig("fra", "eu-central", options={"k": "v"}),
    )
    assert config.pops[0].capacity.to_resources() == Resources(8, 8192, 0)
    assert config.federation.lower_sps == (
        LowerSpConfig("wholesale", "localhost:7001", str(tmp_path.resolve() / "keys/w.pub")),
    )
    assert config.federation.call_timeout_s == 2.5
    assert config.logging.format == "json"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.id = "other"  # type: ignore[misc]


def test_relative_paths_resolve_against_the_files_directory(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    base = tmp_path.resolve()
    assert config.storage.url == f"sqlite:///{base / 'data' / 'spfed.db'}"
    assert config.server.ready_file == str(base / "run" / "ready")
    assert config.logging.file == str(base / "logs" / "node.log")
    assert config.catalogue.descriptors == (str(base / "descriptors"), "/abs/vnfd.yml")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////var/lib/spfed.db",
        "sqlite:///:memory:",
        "sqlite://",
        "postgresql+psycopg://spfed@db/spfed",
    ],
)
def test_absolute_memory_and_server_urls_are_left_alone(tmp_path: Path, url: str) -> None:
    config = load_config(write(tmp_path, {"id": "r", **DEV, "storage": {"url": url}}), environ={})
    assert config.storage.url == url


def test_empty_paths_stay_empty(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"id": "r", **DEV}), environ={})
    assert (config.server.ready_file, config.logging.file) == ("", "")


def test_parse_config_resolves_paths_only_when_given_a_base() -> None:
    data = {"id": "r", **DEV, "server": {"ready_file": "ready"}}
    assert parse_config(data).server.ready_file == "ready"
    assert parse_config(data, base=Path("/srv/node")).server.ready_file == "/srv/node/ready"


# --- overrides ---------------------------------------------------------------------


def test_overrides_replace_single_fields_with_yaml_typed_values(tmp_path: Path) -> None:
    environ = {
        "SPFED__SERVER__LISTEN": "0.0.0.0:7000",
        "SPFED__FEDERATION__CALL_TIMEOUT_S": "0.5",
        "SPFED__workflow__Max_Attempts": "5",  # any case
        "SPFED__ADDRESSING__SERVICE_POOL": "10.8.0.0/13",  # a section absent from the file
        "SPFED__STORAGE__URL": "postgresql+psycopg://spfed@db:5432/spfed",
        "HOME": "/root",  # not ours
    }
    config = load_config(write(tmp_path, FULL), environ=environ)
    assert config.server.listen == "0.0.0.0:7000"
    assert config.server.ready_file.endswith("run/ready")  # the rest of the section stays
    assert config.federation.call_timeout_s == 0.5
    assert config.federation.lower_sps[0].id == "wholesale"
    assert config.workflow.max_attempts == 5
    assert config.addressing.service_pool == "10.8.0.0/13"
    assert config.storage.url == "postgresql+psycopg://spfed@db:5432/spfed"


def test_overrides_come_from_the_process_environment_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPFED__LOGGING__LEVEL", "WARNING")
    assert load_config(write(tmp_path, {"id": "r", **DEV})).logging.level == "WARNING"


def test_an_override_is_validated_like_the_file() -> None:
    assert problems({"id": "r", **DEV}, {"SPFED__WORKFLOW__MAX_ATTEMPTS": "0"}) == [
        "workflow.max_attempts: Input should be greater than or equal to 1"
    ]


def test_an_override_below_a_plain_value_is_an_error() -> None:
    lines = problems({"id": "r", **DEV}, {"SPFED__ID__X": "1"})
    assert lines == ["SPFED__ID__X: id is not a section"]


def test_an_empty_override_is_an_empty_string() -> None:
    assert parse_config({"id": "r", **DEV}, environ={"SPFED__LOGGING__FILE": ""}).logging.file == ""


def test_overrides_do_not_change_the_callers_mapping() -> None:
    data = {"id": "r", **DEV, "server": {"listen": "127.0.0.1:1"}}
    before = copy.deepcopy(data)
    parse_config(data, environ={"SPFED__SERVER__LISTEN": "127.0.0.1:2"})
    assert data == before


def test_an_override_without_a_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="SPFED__"):
        parse_config({"id": "r", **DEV}, environ={"SPFED__": "x"})


# --- validation messages -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "id: Field required"),
        ({"id": "Retail!"}, "id: String should match pattern '^[a-z0-9][a-z0-9\\-_.]*$'"),
        ({"id": "r", **DEV, "server": {"lisen": "x"}}, "server.lisen: Unexpected keyword argument"),
        (
            {"id": "r", **DEV, "pops": [{"name": "a", "region": "eu", "capacity": {"vcpus": -1}}]},
            "pops.0.capacity.vcpus: Input should be greater than or equal to 0",
        ),
        ({"id": "r", **DEV, "pops": [{"name": "a"}]}, "pops.0.region: Field required"),
        (
            {"id": "r", **DEV, "federation": {"lower_sps": [{"id": "w"}]}},
            "federation.lower_sps.0.address: Field required",
        ),
        (
            {"id": "r", **DEV, "server": {"grace_period_s": 0}},
            "server.grace_period_s: Input should be greater than 0",
        ),
        (
            {"id": "r", **DEV, "logging": {"level": "LOUD"}},
            "logging.level: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
    ],
)
def test_validation_names_the_field(data: dict[str, Any], expected: str) -> None:
    assert expected in problems(data)


def test_every_problem_is_reported_one_per_line() -> None:
    lines = problems({"id": "R", "workflow": {"max_attempts": 0, "retry_delay_s": -1}})
    assert len(lines) == 3
    assert {line.split(":")[0] for line in lines} == {
        "id",
        "workflow.max_attempts",
        "workflow.retry_delay_s",
    }


def test_file_problems_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"id": "r", **DEV, "pops": [{"name": "a"}]})
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == f"{path}: pops.0.region: Field required"


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "nope.yaml"))):
        load_config(tmp_path / "nope.yaml", environ={})


def test_broken_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "node.yaml"
    path.write_text("id: [unclosed\n")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        load_config(path, environ={})


def test_the_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="the top level must be a mapping"):
        load_config(write(tmp_path, ["id", "r"]), environ={})


def test_an_empty_file_lacks_the_id(tmp_path: Path) -> None:
    path = tmp_path / "node.yaml"
    path.write_text("")
    with pytest.raises(ConfigError, match="id: Field required"):
        load_config(path, environ={})


# --- semantic checks ---------------------------------------------------------------


def pop(name: str) -> dict[str, str]:
    return {"name": name, "region": "eu"}


def lower(lower_id: str, address: str = "127.0.0.1:7001") -> dict[str, str]:
    return {
        "id": lower_id,
        "address": address,
        "key_file": "identity.key",
        "public_key_file": f"{lower_id}.pub",
    }


def test_duplicate_pop_names_are_rejected_once_each() -> None:
    data = {"id": "r", **DEV, "pops": [pop("a"), pop("b"), pop("a"), pop("a"), pop("b")]}
    assert problems(data) == [
        "pops: PoP name 'a' is used twice",
        "pops: PoP name 'b' is used twice",
    ]


def test_duplicate_lower_sp_ids_are_rejected() -> None:
    data = {"id": "r", **DEV, "federation": {"lower_sps": [lower("w"), lower("w")]}}
    assert problems(data) == ["federation.lower_sps: id 'w' is used twice"]


def test_a_node_cannot_be_its_own_lower_sp() -> None:
    data = {"id": "retail", **DEV, "federation": {"lower_sps": [lower("retail")]}}
    assert problems(data) == ["federation.lower_sps: a node cannot be its own lower SP ('retail')"]


def test_local_is_reserved() -> None:
    data = {"id": "r", **DEV, "federation": {"lower_sps": [lower("local")]}}
    assert problems(data) == ["federation.lower_sps: 'local' is reserved for the node's own PoPs"]


@pytest.mark.parametrize("address", ["localhost", "localhost:", ":7000", "host:http", "h:65536"])
def test_addresses_must_be_host_and_port(address: str) -> None:
    data = {
        "id": "r",
        **DEV,
        "server": {"listen": address},
        "federation": {"lower_sps": [lower("w", address)]},
    }
    assert problems(data) == [
        f"server.listen: '{address}' is not host:port",
        f"federation.lower_sps.0.address: '{address}' is not host:port",
    ]


@pytest.mark.parametrize("address", ["localhost:0", "10.0.0.1:65535", "[::1]:7000", "db.example:1"])
def test_good_addresses_pass(address: str) -> None:
    assert parse_config({"id": "r", **DEV, "server": {"listen": address}}).server.listen == address


def test_semantic_checks_run_on_overridden_values_too() -> None:
    assert problems({"id": "r", **DEV}, {"SPFED__SERVER__LISTEN": "nowhere"}) == [
        "server.listen: 'nowhere' is not host:port"
    ]


# --- security ----------------------------------------------------------------------


def test_a_full_file_resolves_its_security_paths_against_its_directory(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    base = tmp_path.resolve()
    assert config.tls.cert_file == str(base / "tls/retail.crt")
    assert config.tls.ca_file == str(base / "tls/ca.crt")
    assert config.tls.require_client_cert  # mutual TLS unless said otherwise
    assert config.auth.key_dir == str(base / "keys/signing")
    assert config.auth.accounts[0].public_key_file == str(base / "keys/wholesale.pub")
    assert config.federation.key_file == str(base / "keys/identity.key")
    assert config.auth.token_ttl_s == 600


def test_tokens_live_fifteen_minutes_at_most() -> None:
    assert problems({"id": "r", **DEV, "auth": {"token_ttl_s": 901}}) == [
        "auth.token_ttl_s: Input should be less than or equal to 900"
    ]


def test_a_lower_sp_needs_a_key_to_sign_in_with_and_its_key_to_check_its_catalogue() -> None:
    data = {"id": "r", **DEV, "federation": {"lower_sps": [{"id": "w", "address": "h:1"}]}}
    assert problems(data) == [
        "federation.lower_sps.0.key_file: required to sign in at 'w' (or set federation.key_file)",
        "federation.lower_sps.0.public_key_file: required to check the catalogue of 'w'",
    ]
    data["federation"]["lower_sps"][0]["public_key_file"] = "w.pub"
    data["federation"] = {**data["federation"], "key_file": "identity.key"}
    assert parse_config(data).federation.key_file == "identity.key"


def test_configured_accounts_need_their_credential_and_unique_names() -> None:
    accounts = [
        {"name": "up", "kind": "service", "role": "platform"},
        {"name": "admin", "kind": "user", "role": "operator"},
        {"name": "up", "kind": "user", "role": "customer", "password_hash": "scrypt$x"},
    ]
    assert problems({"id": "r", **DEV, "auth": {"accounts": accounts}}) == [
        "auth.accounts: account 'up' is listed twice",
        "auth.accounts.0.public_key_file: required for a service account",
        "auth.accounts.1.password_hash: required for a user",
    ]


def test_an_unknown_role_is_refused() -> None:
    accounts = [{"name": "x", "kind": "user", "role": "root", "password_hash": "h"}]
    (line,) = problems({"id": "r", **DEV, "auth": {"accounts": accounts}})
    assert line.startswith("auth.accounts.0.role: Input should be 'customer', 'platform' or")


def test_the_catalogue_offering_is_typed_and_checked() -> None:
    data = {
        "id": "r",
        **DEV,
        "catalogue": {
            "signing_key_file": "id.key",
            "validity_s": 60,
            "prices": {"eu.x/fw/1.0": {"per_hour": "0.125"}, "bad-ref": {"per_hour": 1}},
            "sla": [{"region": "nl", "toward": "de", "latency_ms": 9, "bandwidth_mbps": 1000}],
            "borders": [{"id": "ams-ix", "region": "nl", "services": ["E-Line"]}],
            "wim_services": ["E-Line", "E-LAN"],
        },
    }
    assert problems(data) == ["catalogue.prices: 'bad-ref' is not vendor/name/version"]
    del data["catalogue"]["prices"]["bad-ref"]
    catalogue = parse_config(data).catalogue
    assert str(catalogue.prices["eu.x/fw/1.0"].per_hour) == "0.125"
    assert catalogue.borders[0].services == (WimService.E_LINE,)
    assert catalogue.validity_s == 60
    data["catalogue"]["prices"] = {"eu.x/fw/1.0": {"per_hour": "-1"}}
    (line,) = problems(data)
    assert line.startswith("catalogue.prices.eu.x/fw/1.0.per_hour: Input should be greater than")


def wan_link(link_id: str, a: str, b: str, **extra: Any) -> dict[str, Any]:
    return {"id": link_id, "a": a, "b": b, "capacity_mbps": 1000, **extra}


def test_a_wim_joins_pops_and_border_points_with_typed_links() -> None:
    data = {
        "id": "r",
        **DEV,
        "pops": [pop("ams"), pop("fra")],
        "catalogue": {
            **DEV["catalogue"],
            "borders": [{"id": "to-w", "region": "eu", "peer": "w"}],
        },
        "wim": {
            "enabled": True,
            "driver": "netns",
            "links": [
                wan_link("ams-fra", "ams", "fra", latency_ms=8),
                wan_link("fra-w", "fra", "to-w"),
            ],
        },
    }
    config = parse_config(data)
    assert config.wim.enabled
    assert config.wim.driver == "netns"
    assert [(x.id, x.a, x.b, x.capacity_mbps, x.latency_ms) for x in config.wim.links] == [
        ("ams-fra", "ams", "fra", 1000.0, 8.0),
        ("fra-w", "fra", "to-w", 1000.0, 0.0),
    ]
    assert config.catalogue.borders[0].peer == "w"
    assert not parse_config({"id": "r", **DEV}).wim.enabled  # no WIM unless asked


def test_wim_links_must_join_known_different_ends_once_each() -> None:
    data = {
        "id": "r",
        **DEV,
        "pops": [pop("ams")],
        "catalogue": {
            **DEV["catalogue"],
            "borders": [{"id": "ams", "region": "eu"}, {"id": "b", "region": "eu"}],
        },
        "wim": {
            "links": [wan_link("l", "ams", "nowhere"), wan_link("l", "b", "b")],
            "vni_pool": "5-2",
        },
    }
    assert problems(data) == [
        "catalogue.borders: border id 'ams' is also a PoP name",
        "wim.links: link id 'l' is used twice",
        "wim.links.0.b: 'nowhere' is neither a PoP nor a border point (ams, b)",
        "wim.links.1: a link joins two different ends, not 'b' twice",
        "wim.vni_pool: '5-2' is not within 1-16777215",
    ]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("driver", "ovs", "wim.driver: Input should be 'capacity' or 'netns'"),
        ("vni_pool", "lots", "wim.vni_pool: 'lots' is not first-last"),
        (
            "netns_prefix",
            "sf-1",
            "wim.netns_prefix: 'sf-1' is not 2 to 8 lower-case letters and digits,"
            " starting with a letter",
        ),
        ("netns_prefix", "SFab", "wim.netns_prefix: 'SFab' must be lower case"),
    ],
)
def test_bad_wim_settings_name_the_field(field: str, value: str, expected: str) -> None:
    assert problems({"id": "r", **DEV, "wim": {field: value}}) == [expected]


def test_a_wan_link_needs_positive_capacity() -> None:
    data = {"id": "r", **DEV, "pops": [pop("a"), pop("b")]}
    data["wim"] = {"links": [wan_link("l", "a", "b", capacity_mbps=0)]}
    assert problems(data) == ["wim.links.0.capacity_mbps: Input should be greater than 0"]
