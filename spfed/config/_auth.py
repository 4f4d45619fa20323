"""The gatekeeper's section: accounts seeded at start-up, tokens, sign-in throttling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, with_config

from spfed.config._base import _STRICT, Name, PositiveSeconds
from spfed.model import AccountKind, Role


@with_config(_STRICT)
@dataclass(frozen=True)
class AccountSeed:
    """An account the node creates at start-up if it does not exist (and keeps in step).

    Its key, password hash and role are updated from here on every start; whether
    it is disabled is left to the account API.
    """

    name: Name
    """Account name."""
    kind: AccountKind
    """``user`` (password) or ``service`` (key)."""
    role: Role
    """``customer``, ``platform`` or ``operator``."""
    public_key_file: str = ""
    """Service accounts: the Ed25519 public key (PEM) of the account's holder."""
    password_hash: str = ""
    """Users: an scrypt hash from ``spfed account hash-password``."""


@with_config(_STRICT)
@dataclass(frozen=True)
class AuthConfig:
    """The gatekeeper: accounts, tokens, signing keys."""

    key_dir: str = "keys"
    """Where the node keeps its token-signing keys (created, mode 0700)."""
    token_ttl_s: Annotated[float, Field(gt=0, le=900)] = 900.0
    """Lifetime of the access tokens it issues (15 minutes at most)."""
    leeway_s: Annotated[float, Field(ge=0, le=60)] = 5.0
    """Clock skew tolerated on ``exp``, ``nbf`` and ``iat``."""
    signing_key_rotation_s: PositiveSeconds = 86400.0
    """How often the signing key is replaced (the previous one verifies until its tokens expire)."""
    assertion_max_lifetime_s: Annotated[float, Field(gt=0, le=3600)] = 300.0
    """Longest lifetime of a service account's client assertion."""
    password_max_failures: Annotated[int, Field(ge=1)] = 5
    """Failed passwords of one account from one source address, within the window, that lock
    that source (only) out of the account for a while (``spfed.auth.ratelimit``)."""
    password_window_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    """How long a failed password counts towards the limits."""
    password_lockout_s: PositiveSeconds = 60.0
    """First lock-out of a source from an account; doubled on each further one."""
    password_max_lockout_s: Annotated[float, Field(gt=0, le=86400)] = 900.0
    """Longest lock-out; as long a quiet spell forgives the earlier ones."""
    password_account_max_failures: Annotated[int, Field(ge=1)] = 20
    """Failed passwords of one account, within the window, from sources it does not trust,
    that put it under attack: sources that failed on it wait, new ones share the next limit."""
    password_stranger_attempts: Annotated[int, Field(ge=1)] = 10
    """Password attempts per window at an account under attack from sources new to it."""
    password_trust_s: Annotated[float, Field(gt=0, le=366 * 86400)] = 30 * 86400.0
    """How long a source where an account's password succeeded is trusted by the account (is
    not held back when it is under attack)."""
    sign_in_rate_per_s: Annotated[float, Field(gt=0, le=10000)] = 2.0
    """``IssueToken`` calls per second one source address may sustain, whatever the credential."""
    sign_in_burst: Annotated[int, Field(ge=1, le=100000)] = 40
    """``IssueToken`` calls one source address may make at once before the rate applies."""
    scrypt_log_n: Annotated[int, Field(ge=10, le=20)] = 15
    """scrypt cost of new password hashes (2^n)."""
    accounts: tuple[AccountSeed, ...] = ()
    """Accounts created at start-up: the first operator, trusted upper SPs."""

    def __post_init__(self) -> None:
        """Raises ValueError (a configuration error) when the lock-outs cannot grow."""
        if self.password_max_lockout_s < self.password_lockout_s:
            raise ValueError("password_max_lockout_s must be at least password_lockout_s")
