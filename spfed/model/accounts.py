"""Accounts, roles and the principal a call runs as.

A node knows two kinds of account:

- a **user** (a customer's person or an operator's admin) signs in with a
  password;
- a **service** account (an upper SP, or another platform) signs in with a
  client assertion signed by its Ed25519 key; the node holds only the
  public key.

Each account has one role. What a role may do is the one table below; the
gatekeeper's interceptor checks it before any servicer runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum

__all__ = [
    "ROLE_PERMISSIONS",
    "Account",
    "AccountKind",
    "AssertionCredential",
    "IssuedToken",
    "PasswordCredential",
    "Permission",
    "Principal",
    "Role",
]


class AccountKind(StrEnum):
    """How an account signs in."""

    USER = "user"
    """With a password."""
    SERVICE = "service"
    """With a client assertion signed by its key (RFC 7523)."""


class Role(StrEnum):
    """What an account may do at the node."""

    CUSTOMER = "customer"
    """Its own services only."""
    PLATFORM = "platform"
    """A customer that may also watch catalogues: an upper SP."""
    OPERATOR = "operator"
    """Accounts, and every service of its own node."""


class Permission(Enum):
    """One right, checked per RPC."""

    READ_CATALOGUE = "read the catalogue"
    WATCH_CATALOGUE = "watch the catalogue"
    USE_SERVICES = "instantiate, read and terminate its own services"
    EVERY_SERVICE = "read and terminate every customer's services"
    MANAGE_ACCOUNTS = "manage accounts and the node's signing keys"
    MANAGE_CATALOGUE = "withdraw and restore the node's offers"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER: frozenset({Permission.READ_CATALOGUE, Permission.USE_SERVICES}),
    Role.PLATFORM: frozenset(
        {Permission.READ_CATALOGUE, Permission.WATCH_CATALOGUE, Permission.USE_SERVICES}
    ),
    Role.OPERATOR: frozenset(Permission),
}
"""The one table of rights."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Account:
    """An account of the node's."""

    name: str
    """Unique name; the ``sub`` of its tokens and the owner of its services."""
    kind: AccountKind
    """How it signs in."""
    role: Role
    """What it may do."""
    disabled: bool = False
    """A disabled account can neither sign in nor use a token it already holds."""
    public_key: str = ""
    """Service accounts: the Ed25519 public key (PEM) its assertions are checked with."""
    password_hash: str = ""
    """Users: the scrypt hash of the password (never sent anywhere)."""
    create_time: datetime = field(default_factory=_now)
    """When it was created."""
    update_time: datetime = field(default_factory=_now)
    """When it last changed."""


@dataclass(frozen=True)
class Principal:
    """Who a call runs as, from a verified token."""

    account: str
    """The account name (the token's ``sub``)."""
    roles: frozenset[Role]
    """The token's roles."""

    def may(self, permission: Permission) -> bool:
        """Whether any of the roles grants ``permission``."""
        return any(permission in ROLE_PERMISSIONS[role] for role in self.roles)

    @property
    def sees_every_service(self) -> bool:
        """An operator reads and terminates every customer's services."""
        return self.may(Permission.EVERY_SERVICE)

    def owns(self, owner: str) -> bool:
        """Whether a service owned by ``owner`` is visible to this principal."""
        return owner == self.account or self.sees_every_service


@dataclass(frozen=True)
class PasswordCredential:
    """A user signing in."""

    account: str
    password: str


@dataclass(frozen=True)
class AssertionCredential:
    """A service account signing in with a client assertion (RFC 7523)."""

    assertion_type: str
    """``urn:ietf:params:oauth:client-assertion-type:jwt-bearer``."""
    assertion: str
    """The JWT, signed with the account's key."""


@dataclass(frozen=True)
class IssuedToken:
    """An access token and what it grants."""

    token: str
    """The JWT, for ``authorization: Bearer``."""
    account: str
    """Its subject."""
    roles: tuple[Role, ...]
    """Its roles."""
    expire_time: datetime
    """When it expires."""
