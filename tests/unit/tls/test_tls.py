"""Loading TLS material: what is accepted, and every refusal naming the file at fault."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from spfed.errors import FailedPrecondition
from spfed.tls import ClientTls, ServerTls, certificate_summary
from spfed.topology.pki import IssuedCert, TopologyCa
from tests.unit.tls.certs import NOW, load, make, pem


def refused(path: Path | str, problem: str) -> pytest.RaisesExc[FailedPrecondition]:
    """Expect a FailedPrecondition whose message names ``path`` and then ``problem``."""
    return pytest.raises(FailedPrecondition, match=f"{re.escape(str(path))}.*{problem}")


def server(node: IssuedCert, ca: TopologyCa | None, *, require: bool = True) -> ServerTls:
    return ServerTls.load(
        str(node.cert_file),
        str(node.key_file),
        str(ca.ca_file) if ca else "",
        require_client_cert=require,
    )


# Accepted material.


def test_server_tls_loads_a_node_certificate(ca: TopologyCa, node: IssuedCert) -> None:
    tls = server(node, ca)

    assert tls.require_client_cert
    assert tls.cert_pem == node.cert_file.read_bytes()
    assert tls.ca_pem == ca.ca_file.read_bytes()
    key = serialization.load_pem_private_key(tls.key_pem, password=None)
    assert key.public_key() == load(node.cert_file).public_key()
    assert isinstance(tls.credentials(), grpc.ServerCredentials)


def test_server_tls_without_client_certificates_needs_no_ca(node: IssuedCert) -> None:
    tls = server(node, None, require=False)
    assert tls.ca_pem is None
    assert not tls.require_client_cert
    assert isinstance(tls.credentials(), grpc.ServerCredentials)


def test_key_in_another_pem_format_is_handed_on_as_pkcs8(tmp_path: Path) -> None:
    made = make(tmp_path, "legacy")  # "BEGIN EC PRIVATE KEY"
    tls = ServerTls.load(str(made.cert_file), str(made.key_file), require_client_cert=False)
    assert tls.key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_server_certificate_chaining_through_an_intermediate(tmp_path: Path) -> None:
    root = make(tmp_path, "root", ca=True, sans=())
    intermediate = make(tmp_path, "intermediate", issuer=root, ca=True, sans=())
    leaf = make(tmp_path, "leaf", issuer=intermediate)
    leaf.cert_file.write_bytes(pem(leaf.cert, intermediate.cert))

    tls = ServerTls.load(str(leaf.cert_file), str(leaf.key_file), str(root.cert_file))
    assert tls.cert_pem == pem(leaf.cert, intermediate.cert)

    leaf.cert_file.write_bytes(pem(leaf.cert))  # the intermediate is missing now
    with refused(
        leaf.cert_file, "not issued by the CA in .*names intermediate as issuer, which is not in"
    ):
        ServerTls.load(str(leaf.cert_file), str(leaf.key_file), str(root.cert_file))


def test_client_tls_with_and_without_a_certificate(ca: TopologyCa, client: IssuedCert) -> None:
    anonymous = ClientTls.load(str(ca.ca_file))
    assert anonymous.ca_pem == ca.ca_file.read_bytes()
    assert anonymous.cert_pem is None
    assert anonymous.key_pem is None
    assert anonymous.channel_options() == ()
    assert isinstance(anonymous.credentials(), grpc.ChannelCredentials)

    mutual = ClientTls.load(
        str(ca.ca_file), str(client.cert_file), str(client.key_file), server_name="retail"
    )
    assert mutual.cert_pem == client.cert_file.read_bytes()
    assert mutual.key_pem is not None
    assert mutual.channel_options() == (("grpc.ssl_target_name_override", "retail"),)
    assert isinstance(mutual.credentials(), grpc.ChannelCredentials)


def test_a_node_certificate_is_also_a_client_certificate(ca: TopologyCa, node: IssuedCert) -> None:
    tls = ClientTls.load(str(ca.ca_file), str(node.cert_file), str(node.key_file))
    assert tls.cert_pem == node.cert_file.read_bytes()


def test_certificate_summary(ca: TopologyCa, node: IssuedCert) -> None:
    stamp = load(node.cert_file).not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert certificate_summary(node.cert_file.read_bytes()) == (
        "subject=retail sans=DNS:retail,DNS:localhost,IP:127.0.0.1,IP:::1 "
        f'issuer="spfed topology demo CA" not_after={stamp}'
    )
    with pytest.raises(ValueError, match="Unable to load PEM"):
        certificate_summary(b"not a certificate")


# Files that cannot be used.


@pytest.mark.parametrize("missing", ["cert", "key", "ca"])
def test_missing_file(ca: TopologyCa, node: IssuedCert, missing: str) -> None:
    path = {"cert": node.cert_file, "key": node.key_file, "ca": ca.ca_file}[missing]
    path.unlink()
    with refused(path, "no such file"):
        server(node, ca)


def test_directory_instead_of_a_file(ca: TopologyCa, node: IssuedCert) -> None:
    with refused(ca.directory, "is a directory"):
        ServerTls.load(str(node.cert_file), str(node.key_file), str(ca.directory))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files of any mode")
def test_unreadable_file(ca: TopologyCa, node: IssuedCert) -> None:
    node.key_file.chmod(0)
    with refused(node.key_file, "not readable"):
        server(node, ca)


@pytest.mark.parametrize("which", ["cert", "key", "ca"])
def test_garbage_file(ca: TopologyCa, node: IssuedCert, which: str) -> None:
    path = {"cert": node.cert_file, "key": node.key_file, "ca": ca.ca_file}[which]
    path.write_bytes(b"\x30\x82\x01\x0a garbage, or DER")
    with refused(path, "not PEM"):
        server(node, ca)


def test_private_key_given_as_certificate(ca: TopologyCa, node: IssuedCert) -> None:
    with refused(node.key_file, r"holds no readable PEM certificate \(it holds PRIVATE KEY\)"):
        ServerTls.load(str(node.key_file), str(node.key_file), str(ca.ca_file))


def test_certificate_given_as_private_key(ca: TopologyCa, node: IssuedCert) -> None:
    with refused(node.cert_file, r"holds no readable PEM private key \(it holds CERTIFICATE\)"):
        ServerTls.load(str(node.cert_file), str(node.cert_file), str(ca.ca_file))


def test_encrypted_key(ca: TopologyCa, node: IssuedCert) -> None:
    key = serialization.load_pem_private_key(node.key_file.read_bytes(), password=None)
    node.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with refused(node.key_file, "encrypted, which is not supported"):
        server(node, ca)


def test_key_that_does_not_match_the_certificate(ca: TopologyCa, node: IssuedCert) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    node.key_file.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with refused(
        node.key_file, f"does not match the certificate in {re.escape(str(node.cert_file))}"
    ):
        server(node, ca)
    with refused(node.key_file, "does not match"):
        ClientTls.load(str(ca.ca_file), str(node.cert_file), str(node.key_file))


def test_expired_certificate(ca: TopologyCa, tmp_path: Path) -> None:
    made = make(tmp_path, "old", not_before=NOW - timedelta(days=30), not_after=NOW - timedelta(1))
    with refused(made.cert_file, "certificate old expired at"):
        ServerTls.load(str(made.cert_file), str(made.key_file), require_client_cert=False)
    with refused(made.cert_file, "certificate old expired at"):
        ClientTls.load(str(ca.ca_file), str(made.cert_file), str(made.key_file))


def test_certificate_not_yet_valid(tmp_path: Path) -> None:
    made = make(
        tmp_path, "future", not_before=NOW + timedelta(days=1), not_after=NOW + timedelta(2)
    )
    with refused(made.cert_file, "certificate future is not valid before"):
        ServerTls.load(str(made.cert_file), str(made.key_file), require_client_cert=False)


def test_expired_ca(node: IssuedCert, tmp_path: Path) -> None:
    old = make(tmp_path, "old-ca", ca=True, not_before=NOW - timedelta(9), not_after=NOW)
    with refused(old.cert_file, "certificate old-ca expired at"):
        ServerTls.load(str(node.cert_file), str(node.key_file), str(old.cert_file))
    with refused(old.cert_file, "certificate old-ca expired at"):
        ClientTls.load(str(old.cert_file))


def test_ca_file_holding_no_ca(node: IssuedCert) -> None:
    with refused(node.cert_file, "certificate retail is not a CA certificate"):
        ServerTls.load(str(node.cert_file), str(node.key_file), str(node.cert_file))
    with refused(node.cert_file, "not a CA certificate"):
        ClientTls.load(str(node.cert_file))


def test_certificate_of_another_ca_of_the_same_name(node: IssuedCert, other_ca: TopologyCa) -> None:
    with refused(
        node.cert_file,
        f"not issued by the CA in {re.escape(str(other_ca.ca_file))}"
        ".*does not verify with that CA's key",
    ):
        server(node, other_ca)


def test_certificate_of_a_differently_named_ca(node: IssuedCert, tmp_path: Path) -> None:
    elsewhere = TopologyCa.create(tmp_path / "elsewhere", "elsewhere")
    with refused(
        node.cert_file,
        f"not issued by the CA in {re.escape(str(elsewhere.ca_file))}"
        r" \(certificate retail names spfed topology demo CA as issuer, which is not in it\)",
    ):
        server(node, elsewhere)


def test_client_certificate_cannot_serve(ca: TopologyCa, client: IssuedCert) -> None:
    with refused(client.cert_file, "extended key usage lacks serverAuth"):
        server(client, ca)


def test_mutual_tls_needs_a_ca(node: IssuedCert) -> None:
    with refused(node.cert_file, "client certificates are required but no CA file"):
        server(node, None, require=True)


def test_client_needs_a_ca() -> None:
    with pytest.raises(FailedPrecondition, match="no CA file"):
        ClientTls.load("")


def test_client_certificate_and_key_come_together(ca: TopologyCa, client: IssuedCert) -> None:
    with refused(client.cert_file, "given without a private key file"):
        ClientTls.load(str(ca.ca_file), cert_file=str(client.cert_file))
    with refused(client.key_file, "given without a certificate file"):
        ClientTls.load(str(ca.ca_file), key_file=str(client.key_file))
