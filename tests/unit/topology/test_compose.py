"""``spfed topology provision``: what nodes started elsewhere (docker compose) are given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography import x509

from spfed.cli import cli
from spfed.config import load_config
from spfed.errors import FailedPrecondition
from spfed.topology.compose import ProvisionedTopology, host_of, provision
from spfed.topology.security import TopologySecurity

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "examples" / "topologies" / "compose.yaml"
OPERATORS = ("retail", "wholesale", "edge")


def provisioned(out: Path, **kwargs: object) -> ProvisionedTopology:
    return provision(COMPOSE, out, scrypt_log_n=10, **kwargs)  # type: ignore[arg-type]


def node_yaml(out: Path, op: str) -> dict[str, object]:
    data = yaml.safe_load((out / op / "node.yaml").read_text())
    assert isinstance(data, dict)
    return data


def san_names(cert_file: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(getattr(name, "value", name)) for name in names]


def test_compose_defaults_name_the_services(tmp_path: Path) -> None:
    result = provisioned(tmp_path)

    assert result.name == "compose"
    assert result.created_security
    assert [op.id for op in result.operators] == list(OPERATORS)  # top nodes first
    for op in result.operators:
        assert op.address == f"{op.id}:50051"
        assert op.listen == "0.0.0.0:50051"
        assert op.storage == f"sqlite:///{tmp_path}/{op.id}/spfed.db"
        config = load_config(op.config, environ={})
        assert config.id == op.id
        assert config.server.listen == "0.0.0.0:50051"
    lowers = node_yaml(tmp_path, "retail")["federation"]
    assert isinstance(lowers, dict)
    assert [(s["id"], s["address"]) for s in lowers["lower_sps"]] == [
        ("wholesale", "wholesale:50051")
    ]
    assert result.operators[1].parents == ("retail",)


def test_addresses_bind_and_storage(tmp_path: Path) -> None:
    addresses = {"retail": "127.0.0.1:7001", "wholesale": "127.0.0.1:7002"}
    result = provisioned(
        tmp_path,
        addresses=addresses,
        bind="127.0.0.1",
        storage_url="postgresql+psycopg://spfed@db:5432/{operator}",
    )

    by_id = {op.id: op for op in result.operators}
    assert by_id["retail"].listen == "127.0.0.1:7001"
    assert by_id["edge"].address == "edge:50051"
    assert by_id["edge"].listen == "127.0.0.1:50051"
    for op in OPERATORS:
        assert by_id[op].storage == f"postgresql+psycopg://spfed@db:5432/{op}"
    federation = node_yaml(tmp_path, "wholesale")["federation"]
    assert isinstance(federation, dict)
    assert [s["address"] for s in federation["lower_sps"]] == ["edge:50051"]


def test_descriptors_are_copied_beside_each_node(tmp_path: Path) -> None:
    provisioned(tmp_path)

    for op, count in (("retail", 0), ("wholesale", 2), ("edge", 3)):
        catalogue = node_yaml(tmp_path, op)["catalogue"]
        assert isinstance(catalogue, dict)
        files = [Path(f) for f in catalogue["descriptors"]]
        assert len(files) == count
        assert all(f.parent == tmp_path / op / "descriptors" and f.is_file() for f in files)


def test_certificates_name_the_address_host(tmp_path: Path) -> None:
    provisioned(tmp_path, addresses={"wholesale": "wholesale.example.net:443"})
    security = TopologySecurity.under(tmp_path)

    names = san_names(security.node_cert("wholesale"))
    assert names[0] == "wholesale"
    assert {"127.0.0.1", "localhost", "wholesale.example.net"} <= set(names)
    assert "wholesale.example.net" not in san_names(security.node_cert("edge"))


def test_provisioning_again_keeps_the_keys_and_rewrites_the_rest(tmp_path: Path) -> None:
    provisioned(tmp_path)
    security = TopologySecurity.under(tmp_path)
    identity = security.identity_key("edge").read_bytes()
    password = security.password("retail", "acme")

    again = provisioned(tmp_path, addresses={"edge": "10.1.2.3:6000"})

    assert not again.created_security
    assert security.identity_key("edge").read_bytes() == identity
    assert security.password("retail", "acme") == password
    assert "10.1.2.3" in san_names(security.node_cert("edge"))
    assert node_yaml(tmp_path, "edge")["server"] == {
        "listen": "0.0.0.0:6000",
        "ready_file": str(tmp_path / "edge" / "ready"),
    }


def test_a_directory_of_other_operators_is_refused(tmp_path: Path) -> None:
    TopologySecurity.provision(tmp_path, "other", ["retail"], scrypt_log_n=10)

    with pytest.raises(FailedPrecondition, match="without operator"):
        provisioned(tmp_path)


@pytest.mark.parametrize(
    ("addresses", "message"),
    [
        ({"nowhere": "h:1"}, "no operator nowhere"),
        ({"edge": "edge"}, "expected HOST:PORT"),
        ({"edge": "edge:http"}, "expected HOST:PORT"),
    ],
)
def test_bad_addresses_are_refused(tmp_path: Path, addresses: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        provisioned(tmp_path, addresses=addresses)
    assert not (tmp_path / "security").exists()


def test_host_of() -> None:
    assert host_of("retail:50051") == "retail"
    assert host_of("[::1]:7000") == "::1"
    assert host_of("10.0.0.1:1") == "10.0.0.1"


def test_cli_prints_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "topology",
            "provision",
            str(COMPOSE),
            "--out",
            str(out),
            "--address",
            "retail=127.0.0.1:7001",
            "--storage-url",
            "postgresql+psycopg://spfed:secret@db/{operator}",
            "--json",
        ],
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["directory"] == str(out)
    assert data["created_security"] is True
    retail = data["operators"][0]
    assert retail["id"] == "retail"
    assert retail["address"] == "127.0.0.1:7001"
    assert retail["storage"] == "postgresql+psycopg://spfed:***@db/retail"
    assert (out / "security" / "retail" / "acme.password").is_file()


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["--address", "retail"], 2, "expected OPERATOR=HOST:PORT"),
        (["--address", "shop=h:1"], 1, "no operator shop"),
    ],
)
def test_cli_refusals(tmp_path: Path, args: list[str], code: int, said: str) -> None:
    result = CliRunner().invoke(
        cli, ["topology", "provision", str(COMPOSE), "--out", str(tmp_path), *args]
    )

    assert result.exit_code == code, result.output
    assert said in result.output
