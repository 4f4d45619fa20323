"""A private certificate authority per test topology, and the certificates it issues.

``spfed topology up`` creates one CA in the topology's working directory and
issues every operator a node certificate, which the node uses both as the TLS
server for its callers and as the TLS client of its lower SPs; a person's CLI
gets a client certificate for mutual-TLS topologies. Keys are ECDSA P-256,
signatures SHA-256, and every private key is written with mode 0600.

This is test infrastructure: the CA key sits unencrypted next to the nodes it
certifies, and nothing is ever revoked.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from spfed.errors import FailedPrecondition
from spfed.tls import load_key_pair

__all__ = ["CA_CERT_FILE", "CA_KEY_FILE", "DEFAULT_HOSTS", "IssuedCert", "TopologyCa"]

CA_CERT_FILE = "ca.crt"
"""The CA certificate, in the CA's directory."""
CA_KEY_FILE = "ca.key"
"""The CA's private key, in the CA's directory."""

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Where the nodes of a topology are reached: loopback."""

_BACKDATE = timedelta(minutes=1)
"""How far in the past certificates start, so a clock a little behind still accepts them."""
_MAX_CN = 64
"""The longest common name X.509 allows (RFC 5280 ub-common-name)."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
"""Node ids and client names: what topology files allow, in either case; also safe file names."""


@dataclass(frozen=True)
class IssuedCert:
    """A certificate issued by a topology CA, and its key."""

    cert_file: Path
    """The certificate, PEM (mode 0644)."""
    key_file: Path
    """Its private key, unencrypted PKCS#8 PEM (mode 0600)."""


class TopologyCa:
    """The CA of one topology: a self-signed certificate and its key in a directory of mode 0700."""

    def __init__(
        self, directory: Path, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey
    ) -> None:
        self.directory = directory
        """Where ``ca.crt`` and ``ca.key`` are."""
        self.certificate = certificate
        """The CA certificate."""
        self._key = key

    @classmethod
    def create(cls, directory: Path, name: str, *, valid_days: int = 30) -> TopologyCa:
        """Make a new CA for topology ``name`` in ``directory`` (created, and set to mode 0700).

        Its common name is ``spfed topology <name> CA`` (``name`` shortened to fit
        64 characters); it may only sign end-entity certificates (path length 0).

        Raises:
            FileExistsError: ``directory`` holds a CA already; it is left untouched.
            ValueError: ``name`` is empty or ``valid_days`` is less than 1.
        """
        if not name:
            raise ValueError("a topology CA needs a topology name")
        _check_days(valid_days)
        cert_file, key_file = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        for path in (cert_file, key_file):
            if path.exists():
                raise FileExistsError(
                    f"{path}: a topology CA exists already; load it or remove {directory}"
                )
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        directory.chmod(0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        prefix, suffix = "spfed topology ", " CA"
        subject = _subject(prefix + name[: _MAX_CN - len(prefix) - len(suffix)] + suffix)
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                _key_usage(key_cert_sign=True, crl_sign=True, digital_signature=False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        # Exclusive creation: a CA appearing meanwhile is not overwritten either.
        _write_new(key_file, _key_pem(key), 0o600)
        _write_new(cert_file, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        return cls(directory, certificate, key)

    @classmethod
    def load(cls, directory: Path) -> TopologyCa:
        """The CA that ``create`` made in ``directory``.

        Raises:
            FailedPrecondition: naming the path, when there is no CA there, a
                file is unreadable or corrupt, the key does not match the
                certificate, the certificate is outside its validity period, is
                not a CA certificate, or its key is not an elliptic-curve key.
        """
        cert_file, key_file = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        if not cert_file.exists() and not key_file.exists():
            raise FailedPrecondition(f"{directory}: holds no topology CA (no {CA_CERT_FILE})")
        chain, key = load_key_pair(cert_file, key_file)
        certificate = chain[0]
        try:
            is_ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise FailedPrecondition(f"certificate file {cert_file}: not a CA certificate")
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise FailedPrecondition(
                f"private key file {key_file}: a topology CA key is ECDSA, this is not"
            )
        return cls(directory, certificate, key)

    @property
    def ca_file(self) -> Path:
        """The CA certificate, for the ``ca_file`` of servers and clients."""
        return self.directory / CA_CERT_FILE

    def issue_node(
        self,
        node_id: str,
        directory: Path,
        *,
        hosts: Sequence[str] = DEFAULT_HOSTS,
        valid_days: int = 30,
    ) -> IssuedCert:
        """Issue node ``node_id`` a certificate for serving and for calling its lower SPs.

        Writes ``directory/<node_id>.crt`` and ``.key``, replacing earlier ones.
        The certificate names ``node_id`` as common name and DNS name (for
        ``grpc.ssl_target_name_override``) and every host, IP addresses as IP
        address names; its extended key usage is serverAuth and clientAuth. It
        ends ``valid_days`` from now, or with the CA if that is sooner.

        Raises:
            ValueError: ``node_id`` is not a name of letters, digits, ``.``,
                ``_`` and ``-`` of at most 63 characters starting with a letter
                or digit; or ``valid_days`` is less than 1.
        """
        _check_name(node_id, "node id")
        names: list[x509.GeneralName] = []
        for host in (node_id, *hosts):
            general = _general_name(host)
            if general not in names:
                names.append(general)
        return self._issue(
            node_id,
            directory,
            valid_days,
            usages=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            alt_names=names,
        )

    def issue_client(self, name: str, directory: Path, *, valid_days: int = 30) -> IssuedCert:
        """Issue a person's CLI (``name``) a client certificate for mutual-TLS topologies.

        Writes ``directory/<name>.crt`` and ``.key``, replacing earlier ones. The
        certificate has common name ``name``, no alternative names, and
        clientAuth as its only extended key usage.

        Raises:
            ValueError: as for ``issue_node``.
        """
        _check_name(name, "client name")
        return self._issue(
            name, directory, valid_days, usages=[ExtendedKeyUsageOID.CLIENT_AUTH], alt_names=[]
        )

    def _issue(
        self,
        name: str,
        directory: Path,
        valid_days: int,
        *,
        usages: list[x509.ObjectIdentifier],
        alt_names: list[x509.GeneralName],
    ) -> IssuedCert:
        _check_days(valid_days)
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        not_after = min(now + timedelta(days=valid_days), self.certificate.not_valid_after_utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_subject(name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(key_cert_sign=False, crl_sign=False, digital_signature=True),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(self._authority_key_identifier(), critical=False)
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        issued = IssuedCert(directory / f"{name}.crt", directory / f"{name}.key")
        _replace(issued.key_file, _key_pem(key), 0o600)
        _replace(issued.cert_file, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
        return issued

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        try:
            ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise ValueError(
            f"{what} {name!r}: use letters, digits, '.', '_' and '-', at most 63 characters, "
            "starting with a letter or digit"
        )


def _check_days(valid_days: int) -> None:
    if valid_days < 1:
        raise ValueError(f"valid_days must be at least 1, not {valid_days}")


def _subject(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _key_usage(*, key_cert_sign: bool, crl_sign: bool, digital_signature: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode``; ``FileExistsError`` if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.chmod(path, mode)  # the umask may have taken bits away from a 0644 file


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` atomically with ``mode``: readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
