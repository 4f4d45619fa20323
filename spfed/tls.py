"""TLS for the node's gRPC server and its clients: PEM files checked, then turned into credentials.

A node serves its API over TLS with ``ServerTls`` (mutual TLS when it asks for
client certificates) and calls its lower SPs with ``ClientTls``. Both are loaded
once at start-up, and everything that would otherwise surface later as a bare
handshake failure is refused there, with the offending path in the message:
missing or unreadable files, files that are not PEM, a key that does not belong
to its certificate, a certificate outside its validity period, a node
certificate that does not chain to the CA the node trusts.

The PEM handed to gRPC is re-encoded from what was checked (certificates in
file order, the key as unencrypted PKCS#8), so gRPC sees exactly that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from spfed.errors import FailedPrecondition

__all__ = [
    "ClientTls",
    "ServerTls",
    "certificate_summary",
    "load_ca_certificates",
    "load_key_pair",
]

_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


@dataclass(frozen=True)
class ServerTls:
    """The TLS identity of a node's gRPC server and the CA its callers' certificates come from."""

    cert_pem: bytes
    """The node's certificate, then any intermediates, PEM."""
    key_pem: bytes
    """The private key of the certificate, unencrypted PEM."""
    ca_pem: bytes | None
    """CA certificates that client certificates must chain to, PEM; ``None`` trusts none."""
    require_client_cert: bool
    """Whether a caller must present a certificate issued by ``ca_pem`` (mutual TLS)."""

    @classmethod
    def load(
        cls, cert_file: str, key_file: str, ca_file: str = "", *, require_client_cert: bool = True
    ) -> ServerTls:
        """Read and check the node's certificate, its key and, if given, the CA it trusts.

        Raises:
            FailedPrecondition: naming the path at fault, when a file is missing,
                unreadable, not PEM or holds the wrong kind of object; the key is
                encrypted or does not match the certificate; a certificate is
                expired or not yet valid; the certificate is not for server use
                (an extended key usage without serverAuth); ``require_client_cert``
                is set without a ``ca_file``; a certificate of ``ca_file`` is not a
                CA; or the node's certificate was not issued by a CA of ``ca_file``.
        """
        if require_client_cert and not ca_file:
            raise FailedPrecondition(
                f"certificate file {cert_file}: client certificates are required but no CA "
                "file is given to check them against"
            )
        chain, key = load_key_pair(cert_file, key_file)
        _check_usage(chain[0], ExtendedKeyUsageOID.SERVER_AUTH, "serverAuth", cert_file)
        ca_pem: bytes | None = None
        if ca_file:
            cas = load_ca_certificates(ca_file)
            _check_chain(chain, cas, cert_file, ca_file)
            ca_pem = _pem(cas)
        return cls(
            cert_pem=_pem(chain),
            key_pem=_key_pem(key),
            ca_pem=ca_pem,
            require_client_cert=require_client_cert,
        )

    def credentials(self) -> grpc.ServerCredentials:
        """Credentials for ``server.add_secure_port``.

        Without ``require_client_cert`` the server does not even ask for a client
        certificate, so callers stay anonymous at the TLS level.
        """
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)],
            root_certificates=self.ca_pem,
            require_client_auth=self.require_client_cert,
        )


@dataclass(frozen=True)
class ClientTls:
    """What a client needs to call a node over TLS: the CA to trust, its certificate for mTLS."""

    ca_pem: bytes
    """CA certificates the server's certificate must chain to, PEM."""
    cert_pem: bytes | None = None
    """The client's certificate (then any intermediates), PEM; ``None`` for none."""
    key_pem: bytes | None = None
    """The private key of ``cert_pem``, unencrypted PEM."""
    server_name: str = ""
    """The name to verify the server's certificate against instead of the target's host."""

    @classmethod
    def load(
        cls, ca_file: str, cert_file: str = "", key_file: str = "", *, server_name: str = ""
    ) -> ClientTls:
        """Read and check the CA to trust and, if given, the client's certificate and key.

        Raises:
            FailedPrecondition: naming the path at fault, when ``ca_file`` is not
                given; a file is missing, unreadable, not PEM or holds the wrong
                kind of object; a certificate of ``ca_file`` is not a CA; only one
                of ``cert_file`` and ``key_file`` is given; the key is encrypted
                or does not match the certificate; a certificate is expired or not
                yet valid; or the client certificate is not for client use (an
                extended key usage without clientAuth).
        """
        if not ca_file:
            raise FailedPrecondition("TLS client: no CA file is given to check servers against")
        if bool(cert_file) != bool(key_file):
            given, missing = (
                (f"certificate file {cert_file}", "private key file")
                if cert_file
                else (f"private key file {key_file}", "certificate file")
            )
            raise FailedPrecondition(f"{given}: given without a {missing}; give both or neither")
        cas = load_ca_certificates(ca_file)
        cert_pem: bytes | None = None
        key_pem: bytes | None = None
        if cert_file:
            chain, key = load_key_pair(cert_file, key_file)
            _check_usage(chain[0], ExtendedKeyUsageOID.CLIENT_AUTH, "clientAuth", cert_file)
            cert_pem, key_pem = _pem(chain), _key_pem(key)
        return cls(ca_pem=_pem(cas), cert_pem=cert_pem, key_pem=key_pem, server_name=server_name)

    def credentials(self) -> grpc.ChannelCredentials:
        """Credentials for ``grpc.aio.secure_channel``; pass ``channel_options()`` along."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_pem,
            private_key=self.key_pem,
            certificate_chain=self.cert_pem,
        )

    def channel_options(self) -> tuple[tuple[str, str], ...]:
        """Channel options that make the server's certificate be checked against ``server_name``."""
        if self.server_name:
            return (("grpc.ssl_target_name_override", self.server_name),)
        return ()


def load_key_pair(
    cert_file: str | Path, key_file: str | Path
) -> tuple[list[x509.Certificate], PrivateKeyTypes]:
    """A certificate chain (leaf first) and the leaf's private key, both checked.

    Raises:
        FailedPrecondition: naming the path at fault, when a file is missing,
            unreadable, not PEM or holds no certificate / no private key; the key
            is encrypted or does not match the leaf; or a certificate of the chain
            is expired or not yet valid.
    """
    chain = _read_certificates(cert_file, "certificate file")
    key = _read_private_key(key_file)
    if _public_der(key.public_key()) != _public_der(chain[0].public_key()):
        raise FailedPrecondition(
            f"private key file {key_file}: the key does not match the certificate in {cert_file}"
        )
    now = datetime.now(UTC)
    for cert in chain:
        _check_validity(cert, cert_file, "certificate file", now)
    return chain, key


def load_ca_certificates(ca_file: str | Path) -> list[x509.Certificate]:
    """The CA certificates of a file, each checked to be a CA and currently valid.

    Raises:
        FailedPrecondition: naming the path, when the file is missing, unreadable,
            not PEM or holds no certificate; or one of its certificates is not a
            CA (no BasicConstraints with ca=true), expired or not yet valid.
    """
    cas = _read_certificates(ca_file, "CA file")
    now = datetime.now(UTC)
    for ca in cas:
        try:
            is_ca = ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise FailedPrecondition(
                f"CA file {ca_file}: certificate {_name(ca.subject)} is not a CA certificate "
                "(no BasicConstraints with ca=true)"
            )
        _check_validity(ca, ca_file, "CA file", now)
    return cas


def certificate_summary(cert_pem: bytes) -> str:
    """One line for logs about the first certificate of ``cert_pem``: subject, SANs, issuer, expiry.

    Raises:
        ValueError: ``cert_pem`` holds no readable PEM certificate.
    """
    cert = x509.load_pem_x509_certificates(cert_pem)[0]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
        sans += [f"IP:{a}" for a in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        sans = []
    return (
        f"subject={_quote(_name(cert.subject))} sans={','.join(sans) or '-'} "
        f"issuer={_quote(_name(cert.issuer))} not_after={_stamp(cert.not_valid_after_utc)}"
    )


def _read(path: str | Path, role: str) -> bytes:
    if not str(path):
        raise FailedPrecondition(f"no {role} is given")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FailedPrecondition(f"{role} {path}: no such file") from None
    except IsADirectoryError:
        raise FailedPrecondition(f"{role} {path}: is a directory, not a file") from None
    except PermissionError:
        raise FailedPrecondition(f"{role} {path}: not readable (permission denied)") from None
    except OSError as exc:
        raise FailedPrecondition(f"{role} {path}: cannot be read ({exc.strerror})") from exc


def _read_certificates(path: str | Path, role: str) -> list[x509.Certificate]:
    data = _read(path, role)
    _require_pem(data, path, role)
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise FailedPrecondition(
            f"{role} {path}: holds no readable PEM certificate ({_labels(data)})"
        ) from None


def _read_private_key(path: str | Path) -> PrivateKeyTypes:
    role = "private key file"
    data = _read(path, role)
    _require_pem(data, path, role)
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        # cryptography's way of saying the key is encrypted and no password was given.
        raise FailedPrecondition(
            f"{role} {path}: the key is encrypted, which is not supported; "
            "store it unencrypted with mode 0600"
        ) from None
    except UnsupportedAlgorithm as exc:
        raise FailedPrecondition(f"{role} {path}: unsupported key type ({exc})") from exc
    except ValueError:
        raise FailedPrecondition(
            f"{role} {path}: holds no readable PEM private key ({_labels(data)})"
        ) from None


def _require_pem(data: bytes, path: str | Path, role: str) -> None:
    if not _PEM_LABEL.search(data):
        raise FailedPrecondition(
            f"{role} {path}: not PEM (no '-----BEGIN' line); DER files are not supported"
        )


def _labels(data: bytes) -> str:
    found = sorted({m.decode() for m in _PEM_LABEL.findall(data)})
    return f"it holds {', '.join(found)}" if found else "it is malformed"


def _check_validity(cert: x509.Certificate, path: str | Path, role: str, now: datetime) -> None:
    if now > cert.not_valid_after_utc:
        raise FailedPrecondition(
            f"{role} {path}: certificate {_name(cert.subject)} expired at "
            f"{_stamp(cert.not_valid_after_utc)}"
        )
    if now < cert.not_valid_before_utc:
        raise FailedPrecondition(
            f"{role} {path}: certificate {_name(cert.subject)} is not valid before "
            f"{_stamp(cert.not_valid_before_utc)}"
        )


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_usage(
    cert: x509.Certificate, usage: x509.ObjectIdentifier, usage_name: str, path: str | Path
) -> None:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return  # no extended key usage: any use is allowed
    if usage not in usages:
        raise FailedPrecondition(
            f"certificate file {path}: certificate {_name(cert.subject)} is not for this use "
            f"(its extended key usage lacks {usage_name})"
        )


def _check_chain(
    chain: Sequence[x509.Certificate],
    cas: Sequence[x509.Certificate],
    cert_file: str | Path,
    ca_file: str | Path,
) -> None:
    """The leaf, through the intermediates that follow it in its file, must reach a CA."""
    current, intermediates = chain[0], list(chain[1:])
    while True:
        if any(_issued_by(current, ca) for ca in cas):
            return
        issuer = next((c for c in intermediates if _issued_by(current, c)), None)
        if issuer is None:
            break
        intermediates.remove(issuer)
        current = issuer
    named = f"certificate {_name(current.subject)} names {_name(current.issuer)} as issuer"
    if any(current.issuer == ca.subject for ca in cas):
        why = (
            f"{named}, but its signature does not verify with that CA's key: another CA, same name"
        )
    else:
        why = f"{named}, which is not in it"
    raise FailedPrecondition(
        f"certificate file {cert_file}: not issued by the CA in {ca_file} ({why})"
    )


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(key: PrivateKeyTypes) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _name(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else name.rfc4514_string()


def _quote(text: str) -> str:
    return json.dumps(text) if re.search(r'[\s"=]', text) or not text else text
