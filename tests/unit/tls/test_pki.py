"""The topology CA: what it writes, what it issues, and what it refuses."""

from __future__ import annotations

import ipaddress
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from spfed.errors import FailedPrecondition
from spfed.topology.pki import IssuedCert, TopologyCa
from tests.unit.tls.certs import load

E = TypeVar("E", bound=x509.ExtensionType)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def extension(cert: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return cert.extensions.get_extension_for_class(kind)


def test_create_writes_a_self_signed_ca(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    ca = TopologyCa.create(tmp_path / "pki", "demo", valid_days=7)

    assert ca.ca_file == tmp_path / "pki" / "ca.crt"
    assert mode(tmp_path / "pki") == 0o700
    assert mode(tmp_path / "pki" / "ca.key") == 0o600
    cert = load(ca.ca_file)
    assert cert == ca.certificate
    assert common_name(cert) == "spfed topology demo CA"
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"

    constraints = extension(cert, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = extension(cert, x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    ski = extension(cert, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key)

    assert cert.not_valid_before_utc <= before - timedelta(seconds=59)
    expected_end = before + timedelta(days=7)
    assert abs(cert.not_valid_after_utc - expected_end) < timedelta(minutes=1)


def test_create_refuses_to_overwrite_a_ca(ca: TopologyCa) -> None:
    cert_bytes = ca.ca_file.read_bytes()
    key_bytes = (ca.directory / "ca.key").read_bytes()

    with pytest.raises(FileExistsError, match=r"ca\.crt: a topology CA exists already"):
        TopologyCa.create(ca.directory, "demo")

    assert ca.ca_file.read_bytes() == cert_bytes
    assert (ca.directory / "ca.key").read_bytes() == key_bytes


def test_create_refuses_a_lone_ca_key(tmp_path: Path) -> None:
    (tmp_path / "ca.key").write_text("left over")
    with pytest.raises(FileExistsError, match=r"ca\.key"):
        TopologyCa.create(tmp_path, "demo")
    assert not (tmp_path / "ca.crt").exists()


def test_create_fits_a_long_topology_name_into_the_common_name(tmp_path: Path) -> None:
    ca = TopologyCa.create(tmp_path, "t" * 63)
    name = common_name(ca.certificate)
    assert len(name) == 64
    assert name.startswith("spfed topology ttt")
    assert name.endswith("t CA")


@pytest.mark.parametrize(("name", "days"), [("", 30), ("demo", 0)])
def test_create_refuses_bad_arguments(tmp_path: Path, name: str, days: int) -> None:
    with pytest.raises(ValueError, match=r"name|valid_days"):
        TopologyCa.create(tmp_path, name, valid_days=days)
    assert not (tmp_path / "ca.key").exists()


def test_load_returns_the_ca_that_was_created(ca: TopologyCa, tmp_path: Path) -> None:
    loaded = TopologyCa.load(ca.directory)
    assert loaded.certificate == ca.certificate
    issued = loaded.issue_node("retail", tmp_path / "retail")
    load(issued.cert_file).verify_directly_issued_by(ca.certificate)


def test_load_without_a_ca(tmp_path: Path) -> None:
    with pytest.raises(FailedPrecondition, match=f"{tmp_path}: holds no topology CA"):
        TopologyCa.load(tmp_path)


def test_load_with_a_missing_certificate(ca: TopologyCa) -> None:
    ca.ca_file.unlink()
    with pytest.raises(FailedPrecondition, match=f"{ca.ca_file}: no such file"):
        TopologyCa.load(ca.directory)


def test_load_with_a_corrupt_key(ca: TopologyCa) -> None:
    key_file = ca.directory / "ca.key"
    key_file.write_text("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n")
    with pytest.raises(FailedPrecondition, match=f"{key_file}: holds no readable PEM private key"):
        TopologyCa.load(ca.directory)


def test_load_with_the_key_of_another_ca(ca: TopologyCa, other_ca: TopologyCa) -> None:
    key_file = ca.directory / "ca.key"
    key_file.write_bytes((other_ca.directory / "ca.key").read_bytes())
    with pytest.raises(FailedPrecondition, match="the key does not match the certificate"):
        TopologyCa.load(ca.directory)


def test_load_refuses_a_certificate_that_is_no_ca(
    ca: TopologyCa, node: IssuedCert, tmp_path: Path
) -> None:
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "ca.crt").write_bytes(node.cert_file.read_bytes())
    (fake / "ca.key").write_bytes(node.key_file.read_bytes())
    with pytest.raises(FailedPrecondition, match="not a CA certificate"):
        TopologyCa.load(fake)


def test_issue_node(ca: TopologyCa, tmp_path: Path) -> None:
    before = datetime.now(UTC)
    issued = ca.issue_node("wholesale-eu", tmp_path / "nodes", valid_days=3)

    assert issued == IssuedCert(
        tmp_path / "nodes" / "wholesale-eu.crt", tmp_path / "nodes" / "wholesale-eu.key"
    )
    assert mode(issued.key_file) == 0o600
    cert = load(issued.cert_file)
    cert.verify_directly_issued_by(ca.certificate)
    assert common_name(cert) == "wholesale-eu"
    sans = extension(cert, x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["wholesale-eu", "localhost"]
    assert sans.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert list(extension(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ]
    assert not extension(cert, x509.BasicConstraints).value.ca
    assert extension(cert, x509.KeyUsage).value.digital_signature
    aki = extension(cert, x509.AuthorityKeyIdentifier).value
    ca_ski = extension(ca.certificate, x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest

    assert (
        before - timedelta(minutes=2) < cert.not_valid_before_utc <= before - timedelta(seconds=59)
    )
    assert abs(cert.not_valid_after_utc - (before + timedelta(days=3))) < timedelta(minutes=1)


def test_issue_node_with_other_hosts(ca: TopologyCa, tmp_path: Path) -> None:
    issued = ca.issue_node("edge-be", tmp_path, hosts=("edge-be", "10.0.0.7", "edge.example"))
    sans = extension(load(issued.cert_file), x509.SubjectAlternativeName).value
    assert list(sans) == [
        x509.DNSName("edge-be"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.7")),
        x509.DNSName("edge.example"),
    ]


def test_issued_certificates_end_with_the_ca(tmp_path: Path) -> None:
    ca = TopologyCa.create(tmp_path / "pki", "short", valid_days=2)
    cert = load(ca.issue_node("retail", tmp_path, valid_days=365).cert_file)
    assert cert.not_valid_after_utc == ca.certificate.not_valid_after_utc


def test_issue_client(ca: TopologyCa, tmp_path: Path) -> None:
    issued = ca.issue_client("alice", tmp_path / "cli")

    assert issued.cert_file == tmp_path / "cli" / "alice.crt"
    assert mode(issued.key_file) == 0o600
    cert = load(issued.cert_file)
    cert.verify_directly_issued_by(ca.certificate)
    assert common_name(cert) == "alice"
    assert list(extension(cert, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(x509.ExtensionNotFound):
        extension(cert, x509.SubjectAlternativeName)


def test_issuing_again_replaces_the_files(ca: TopologyCa, tmp_path: Path) -> None:
    first = ca.issue_node("retail", tmp_path / "retail")
    first_key = first.key_file.read_bytes()
    second = ca.issue_node("retail", tmp_path / "retail")
    assert second == first
    assert second.key_file.read_bytes() != first_key
    assert mode(second.key_file) == 0o600
    # The temporary files of the atomic replacement are gone.
    assert sorted(p.name for p in (tmp_path / "retail").iterdir()) == ["retail.crt", "retail.key"]


@pytest.mark.parametrize("name", ["", "../retail", "-retail", "re tail", "a/b", "x" * 64])
def test_issue_refuses_names_that_are_no_dns_label(
    ca: TopologyCa, tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match="node id"):
        ca.issue_node(name, tmp_path)
    with pytest.raises(ValueError, match="client name"):
        ca.issue_client(name, tmp_path)
    assert list(tmp_path.glob("*.key")) == []


def test_issue_refuses_no_validity(ca: TopologyCa, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="valid_days"):
        ca.issue_node("retail", tmp_path, valid_days=0)
