"""Keys, certificates, accounts and trust for the operators of a topology.

``TopologySecurity.provision`` creates, under ``<topology dir>/security/``:

- a topology CA (``ca.crt``), a certificate per node (its server and TLS
  client certificate, mutual TLS between operators), and a client
  certificate for the person running the CLI (``client.crt``);
- per operator, an Ed25519 *identity* key: the key of its service accounts
  at its lower SPs;
- per operator, an ``admin`` user (operator role) and the customers the
  topology names, each with a generated password (files of mode 0600).

``config_sections`` turns this into the ``tls``, ``auth`` and
``federation.key_file`` settings of one node: its certificate, its signing
key directory, and the accounts it trusts, namely a service account (role
``platform``) for each operator it serves, holding that operator's identity
public key, plus its users. Everything is written once, before any node
starts; nodes read it from their configuration.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spfed.auth import (
    ScryptParams,
    generate_key,
    hash_password,
    load_private_key,
    public_key_pem,
    write_private_key,
)
from spfed.credentials import KeySignIn, PasswordSignIn
from spfed.errors import FailedPrecondition
from spfed.tls import ClientTls
from spfed.topology.pki import TopologyCa

__all__ = ["ADMIN", "SECURITY_DIR", "TopologySecurity"]

SECURITY_DIR = "security"
"""Subdirectory of a topology's working directory."""
ADMIN = "admin"
"""The operator-role user every node of a topology gets."""
CLI_CLIENT = "spfed-cli"
"""Common name of the CLI's client certificate."""


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@dataclass(frozen=True)
class TopologySecurity:
    """The security material of one topology, in ``directory``."""

    directory: Path

    @classmethod
    def under(cls, topology_dir: str | Path) -> TopologySecurity:
        """The material of the topology whose working directory is ``topology_dir``."""
        return cls(Path(topology_dir).absolute() / SECURITY_DIR)

    # --- where things are -------------------------------------------------------------

    @property
    def ca_file(self) -> Path:
        """The topology CA's certificate."""
        return self.directory / "ca.crt"

    @property
    def client_cert(self) -> Path:
        """The CLI's client certificate."""
        return self.directory / f"{CLI_CLIENT}.crt"

    @property
    def client_key(self) -> Path:
        """Its key."""
        return self.directory / f"{CLI_CLIENT}.key"

    def operator_dir(self, operator: str) -> Path:
        """One operator's material."""
        return self.directory / operator

    def node_cert(self, operator: str) -> Path:
        """The node's certificate."""
        return self.operator_dir(operator) / f"{operator}.crt"

    def node_key(self, operator: str) -> Path:
        """Its TLS key."""
        return self.operator_dir(operator) / f"{operator}.key"

    def identity_key(self, operator: str) -> Path:
        """The operator's Ed25519 identity key (its service accounts below)."""
        return self.operator_dir(operator) / "identity.key"

    def identity_public(self, operator: str) -> Path:
        """Its public half, which the operator's lower SPs trust."""
        return self.operator_dir(operator) / "identity.pub"

    def signing_keys(self, operator: str) -> Path:
        """The node's token-signing key directory."""
        return self.operator_dir(operator) / "signing-keys"

    def password_file(self, operator: str, account: str) -> Path:
        """A user's generated password."""
        return self.operator_dir(operator) / f"{account}.password"

    def _users_file(self, operator: str) -> Path:
        return self.operator_dir(operator) / "users.json"

    def scrypt_log_n(self) -> int:
        """The scrypt cost the topology's password hashes were made with."""
        try:
            return int(json.loads((self.directory / "params.json").read_text())["scrypt_log_n"])
        except (OSError, ValueError, KeyError):
            return 15

    # --- creating it ------------------------------------------------------------------

    @classmethod
    def provision(
        cls,
        topology_dir: str | Path,
        name: str,
        operators: Sequence[str],
        *,
        customers: Mapping[str, Sequence[str]] | None = None,
        scrypt_log_n: int = 15,
    ) -> TopologySecurity:
        """Create every key, certificate and password of a topology.

        ``customers`` maps an operator to the customer accounts it gets.
        ``scrypt_log_n`` sets the cost of the password hashes (tests lower it).

        Raises:
            FailedPrecondition: the material exists already (a topology is
                provisioned once; ``spfed topology down --purge`` removes it).
        """
        security = cls.under(topology_dir)
        if security.ca_file.exists():
            raise FailedPrecondition(f"{security.directory} is already provisioned")
        security.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        ca = TopologyCa.create(security.directory, name)
        ca.issue_client(CLI_CLIENT, security.directory)
        params = ScryptParams(log_n=scrypt_log_n)
        (security.directory / "params.json").write_text(
            json.dumps({"scrypt_log_n": scrypt_log_n}) + "\n"
        )
        for operator in operators:
            where = security.operator_dir(operator)
            where.mkdir(parents=True, exist_ok=True, mode=0o700)
            ca.issue_node(operator, where)
            identity = generate_key()
            write_private_key(security.identity_key(operator), identity)
            security.identity_public(operator).write_text(public_key_pem(identity.public_key()))
            users = {ADMIN: "operator"} | dict.fromkeys(
                (customers or {}).get(operator, ()), "customer"
            )
            hashes: dict[str, dict[str, str]] = {}
            for account, role in users.items():
                password = secrets.token_urlsafe(18)
                _write_secret(security.password_file(operator, account), password + "\n")
                hashes[account] = {"role": role, "hash": hash_password(password, params)}
            _write_secret(security._users_file(operator), json.dumps(hashes, indent=2))
        return security

    # --- using it ---------------------------------------------------------------------

    def config_sections(self, operator: str, parents: Sequence[str]) -> dict[str, Any]:
        """The ``tls``, ``auth`` and ``federation`` settings of ``operator``'s node.

        ``parents`` are the operators it serves: each gets a service account.

        Raises:
            FailedPrecondition: the operator was not provisioned.
        """
        try:
            users = json.loads(self._users_file(operator).read_text())
        except (OSError, ValueError) as exc:
            raise FailedPrecondition(f"{operator} has no security material: {exc}") from exc
        accounts: list[dict[str, Any]] = [
            {
                "name": parent,
                "kind": "service",
                "role": "platform",
                "public_key_file": str(self.identity_public(parent)),
            }
            for parent in parents
        ]
        accounts += [
            {"name": account, "kind": "user", "role": user["role"], "password_hash": user["hash"]}
            for account, user in users.items()
        ]
        return {
            "tls": {
                "cert_file": str(self.node_cert(operator)),
                "key_file": str(self.node_key(operator)),
                "ca_file": str(self.ca_file),
                "require_client_cert": True,
            },
            "auth": {
                "key_dir": str(self.signing_keys(operator)),
                "accounts": accounts,
                "scrypt_log_n": self.scrypt_log_n(),
            },
            "federation": {"key_file": str(self.identity_key(operator))},
        }

    def client_tls(self) -> ClientTls:
        """TLS for the CLI and tests: the topology CA and the CLI's client certificate.

        Raises:
            FailedPrecondition: the files are missing or do not match.
        """
        return ClientTls.load(str(self.ca_file), str(self.client_cert), str(self.client_key))

    def password(self, operator: str, account: str = ADMIN) -> str:
        """A user's generated password.

        Raises:
            FailedPrecondition: no such user in this topology.
        """
        path = self.password_file(operator, account)
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise FailedPrecondition(
                f"no password for account '{account}' at {operator} ({path}): {exc.strerror or exc}"
            ) from exc

    def sign_in(self, operator: str, account: str = ADMIN) -> PasswordSignIn:
        """Signing in as a user of ``operator`` (``admin`` by default)."""
        return PasswordSignIn(account, self.password(operator, account))

    def identity_sign_in(self, operator: str, at: str) -> KeySignIn:
        """Signing in at ``at`` as ``operator``'s service account (as its node does)."""
        return KeySignIn(operator, load_private_key(self.identity_key(operator)), audience=at)
