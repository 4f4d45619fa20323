"""Certificates built with ``cryptography`` directly, for what a ``TopologyCa`` never issues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Made:
    """A certificate, its key and the files they were written to."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_file: Path
    key_file: Path


def make(
    directory: Path,
    name: str,
    *,
    issuer: Made | None = None,
    ca: bool = False,
    not_before: datetime = NOW - timedelta(minutes=1),
    not_after: datetime = NOW + timedelta(days=1),
    sans: tuple[str, ...] = ("localhost",),
) -> Made:
    """A certificate for ``name`` signed by ``issuer`` (self-signed without one), written to
    ``directory/<name>.crt`` and ``.key``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    directory.mkdir(parents=True, exist_ok=True)
    made = Made(cert, key, directory / f"{name}.crt", directory / f"{name}.key")
    made.cert_file.write_bytes(pem(cert))
    made.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return made


def pem(*certs: x509.Certificate) -> bytes:
    """The certificates, PEM, in order."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def load(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file."""
    return x509.load_pem_x509_certificates(path.read_bytes())[0]
