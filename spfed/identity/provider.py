"""The node's identity provider, behind the gatekeeper API: who may call, with which rights.

- **Tokens.** ``issue_token`` checks a user's password or a service
  account's client assertion and issues a short-lived EdDSA JWT signed with
  the node's own key. ``authenticate`` verifies the token of every call
  (signature, algorithm, times, lifetime, audience, issuer, key id), that
  its account still exists and is enabled, and grants only the roles the
  account has now; verified tokens are cached until they expire, so a call
  pays a dictionary lookup.
- **Accounts** live in the node's database and, for speed, in memory: the
  gatekeeper is the only writer. Accounts listed in the configuration are
  created or brought in step at start-up.
- **Signing keys** rotate every ``auth.signing_key_rotation_s`` (and on
  request); a replaced key keeps verifying until the tokens it signed have
  expired, then it is deleted.

Sign-ins are throttled (``spfed.auth.ratelimit``, ``spfed.auth.buckets``):
``IssueToken`` per source address (a token bucket, whatever the credential),
and password attempts per (account name, source) and per account name,
whether or not the account exists, each reserved before scrypt runs on a
worker thread. A refusal is RESOURCE_EXHAUSTED with ``retry_after_s`` (gRPC
``RetryInfo``), never UNAUTHENTICATED: the caller should wait, not doubt its
credential, and the password was not looked at.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from spfed.auth import (
    ASSERTION_TYPE,
    AttemptLimiter,
    Refusal,
    ScryptParams,
    SigningKeys,
    TokenBuckets,
    TokenIssuer,
    TokenVerifier,
    assertion_subject,
    hash_password,
    parse_public_key,
    verify_assertion,
    verify_password,
    verify_unknown,
)
from spfed.config import AccountSeed, AuthConfig
from spfed.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    QuotaViolation,
    ResourceExhausted,
    Unauthenticated,
)
from spfed.model import (
    Account,
    AccountKind,
    AssertionCredential,
    IssuedToken,
    PasswordCredential,
    Principal,
    Role,
)
from spfed.storage import AccountStore

__all__ = ["IdentityProvider", "audit"]

log = logging.getLogger(__name__)
audit = logging.getLogger("spfed.audit")
"""One line per rejected call or sign-in."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9\-_.]{0,62}$")
_MIN_PASSWORD = 8
_BEARER = "bearer "


def _rejected(message: str, reason: str) -> Unauthenticated:
    return Unauthenticated(message, metadata={"reason": reason})


def _throttled(message: str, retry_after_s: float, scope: str) -> ResourceExhausted:
    """A sign-in refused for now; ``scope`` names the limit (``source``, ``account_source``,
    ``account``)."""
    seconds = max(1, math.ceil(retry_after_s))
    return ResourceExhausted(
        f"{message}; try again in {seconds} s",
        quota_violations=[QuotaViolation(f"sign-in:{scope}", f"retry after {seconds} s")],
        metadata={"reason": "rate_limited", "scope": scope, "retry_after_s": str(seconds)},
        retry_after_s=float(seconds),
    )


def _limiter(config: AuthConfig) -> AttemptLimiter:
    return AttemptLimiter(
        max_failures=config.password_max_failures,
        window_s=config.password_window_s,
        lockout_s=config.password_lockout_s,
        max_lockout_s=config.password_max_lockout_s,
        account_max_failures=config.password_account_max_failures,
        stranger_attempts=config.password_stranger_attempts,
        trust_s=config.password_trust_s,
    )


def _seed_account(seed: AccountSeed) -> Account:
    public_key = ""
    if seed.kind is AccountKind.SERVICE:
        path = Path(seed.public_key_file)
        try:
            public_key = path.read_text()
            parse_public_key(public_key)
        except OSError as exc:
            raise FailedPrecondition(
                f"auth.accounts: cannot read the public key of '{seed.name}' at {path}: "
                f"{exc.strerror or exc}"
            ) from exc
        except InvalidArgument as exc:
            raise FailedPrecondition(
                f"auth.accounts: {path} (account '{seed.name}') is not an Ed25519 public key: "
                f"{exc.message}"
            ) from exc
    return Account(
        name=seed.name,
        kind=seed.kind,
        role=seed.role,
        public_key=public_key,
        password_hash=seed.password_hash,
    )


class IdentityProvider:
    """Accounts, token issuance and token verification for one node."""

    def __init__(
        self,
        node_id: str,
        config: AuthConfig,
        store: AccountStore,
        keys: SigningKeys,
        *,
        clock: Callable[[], float] = time.time,
        on_refusal: Callable[[str], None] | None = None,
    ) -> None:
        """``on_refusal(reason)`` hears of every refused sign-in (``issue_token``)."""
        self.node_id = node_id
        self._on_refusal = on_refusal
        self._config = config
        self._store = store
        self._keys = keys
        self._clock = clock
        self._issuer = TokenIssuer(node_id, keys, config.token_ttl_s, clock=clock)
        self._verifier = TokenVerifier(
            node_id, keys, leeway_s=config.leeway_s, max_ttl_s=config.token_ttl_s, clock=clock
        )
        self._limiter = _limiter(config)
        self._sources = TokenBuckets(
            rate_per_s=config.sign_in_rate_per_s, burst=config.sign_in_burst
        )
        self._scrypt = ScryptParams(log_n=config.scrypt_log_n)
        self._accounts: dict[str, Account] = {}
        self._lock = asyncio.Lock()
        self._rotator: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        node_id: str,
        config: AuthConfig,
        store: AccountStore,
        *,
        on_refusal: Callable[[str], None] | None = None,
    ) -> IdentityProvider:
        """Load the signing keys and accounts, applying the configured accounts.

        ``on_refusal``: see the constructor.

        Raises:
            FailedPrecondition: a signing key or a configured public key is
                unreadable or not an Ed25519 key.
        """
        keys = await asyncio.to_thread(SigningKeys.open, config.key_dir)
        gatekeeper = cls(node_id, config, store, keys, on_refusal=on_refusal)
        seeds = [_seed_account(seed) for seed in config.accounts]
        created = await store.seed(seeds)
        for name in created:
            log.info("event=account_seeded account=%s", name)
        gatekeeper._accounts = {a.name: a for a in await store.all()}
        return gatekeeper

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start rotating and pruning signing keys in the background."""
        if self._rotator is None:
            self._rotator = asyncio.get_running_loop().create_task(self._rotate_forever())

    async def close(self) -> None:
        """Stop the background rotation."""
        if self._rotator is not None:
            self._rotator.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._rotator
            self._rotator = None

    def _keep_previous_s(self) -> float:
        return self._config.token_ttl_s + self._config.leeway_s

    async def _rotate_forever(self) -> None:
        every = self._config.signing_key_rotation_s
        prune_every = min(60.0, self._keep_previous_s())
        next_rotation = time.monotonic() + every
        while True:
            await asyncio.sleep(min(prune_every, max(0.0, next_rotation - time.monotonic())))
            try:
                if time.monotonic() >= next_rotation:
                    self.rotate_signing_key()
                    next_rotation = time.monotonic() + every
                for kid in self._keys.prune():
                    log.info("event=signing_key_retired kid=%s", kid)
            except (OSError, FailedPrecondition):
                log.exception("event=signing_key_rotation_failed")

    # --- verification -----------------------------------------------------------------

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of a call's ``authorization`` metadata.

        The principal has the token's roles that the account still has: a token naming
        another role (forged with a stolen key, or older than a change of role) grants
        nothing, and is refused so that its holder signs in again.

        Raises:
            Unauthenticated: no or a malformed bearer token, a token this node
                did not issue or that is no longer valid, an account that is
                gone or disabled, or none of the token's roles is the account's
                (``metadata["reason"]`` says which).
        """
        if not authorization:
            raise _rejected("no access token: send 'authorization: Bearer <token>'", "no_token")
        if authorization[: len(_BEARER)].lower() != _BEARER:
            raise _rejected("the authorization metadata must be 'Bearer <token>'", "malformed")
        claims = self._verifier.verify(authorization[len(_BEARER) :].strip())
        account = self._accounts.get(claims.subject)
        if account is None:
            raise _rejected(f"account '{claims.subject}' does not exist", "unknown_account")
        if account.disabled:
            raise _rejected(f"account '{claims.subject}' is disabled", "account_disabled")
        try:
            claimed = frozenset(Role(r) for r in claims.roles)
        except ValueError:
            raise _rejected("the token names an unknown role", "malformed") from None
        roles = claimed & {account.role}
        if not roles:
            raise _rejected(
                f"the token's roles are not those of account '{claims.subject}'", "role_mismatch"
            )
        return Principal(claims.subject, roles)

    # --- sign-in ------------------------------------------------------------------------

    async def issue_token(
        self, credential: PasswordCredential | AssertionCredential, *, source: str = ""
    ) -> IssuedToken:
        """Check a credential and issue an access token for its account.

        ``source`` is the caller's address as a throttling key (``spfed.auth.peer_source``);
        callers that give none share the key ``""``.

        Raises:
            InvalidArgument: the credential is incomplete.
            Unauthenticated: wrong account or password, a bad, replayed or
                expired assertion, or a disabled account.
            ResourceExhausted: too many sign-ins from ``source`` lately, or too
                many failed passwords for this account from ``source`` (or, while
                the account is under attack, from sources it does not trust);
                ``retry_after_s`` says when to try again.
        """
        try:
            return await self._issue_token(credential, source)
        except (Unauthenticated, ResourceExhausted, InvalidArgument) as exc:
            if self._on_refusal is not None:
                self._on_refusal(exc.metadata.get("reason") or "invalid_credential")
            raise

    async def _issue_token(
        self, credential: PasswordCredential | AssertionCredential, source: str
    ) -> IssuedToken:
        wait = self._sources.take(source)
        if wait > 0:
            raise _throttled("too many sign-ins from this address", wait, "source")
        if isinstance(credential, PasswordCredential):
            account = await self._check_password(credential, source)
        else:
            account = await self._check_assertion(credential)
        token, claims = self._issuer.issue(account.name, [account.role.value])
        log.info("event=token_issued account=%s kid=%s", account.name, claims.key_id)
        return IssuedToken(
            token,
            account.name,
            (account.role,),
            datetime.fromtimestamp(claims.expires_at, UTC),
        )

    async def _check_password(self, credential: PasswordCredential, source: str) -> Account:
        name = credential.account
        if not name or not credential.password:
            raise InvalidArgument(
                "a password sign-in needs an account and a password",
                field_violations=[
                    FieldViolation(f"password.{f}", "required")
                    for f in ("account", "password")
                    if not getattr(credential, f)
                ],
            )
        attempt = self._limiter.reserve(name, source)
        if isinstance(attempt, Refusal):
            where = "from this address" if attempt.scope == "account_source" else "lately"
            raise _throttled(
                f"too many failed sign-ins for '{name}' {where}",
                attempt.retry_after_s,
                attempt.scope,
            )
        # Leaving the block unsettled (cancelled while scrypt runs) counts as a failure.
        with attempt:
            account = self._accounts.get(name)
            if account is None or account.kind is not AccountKind.USER:
                ok = await asyncio.to_thread(verify_unknown, credential.password, self._scrypt)
            else:
                ok = await asyncio.to_thread(
                    verify_password, credential.password, account.password_hash
                )
            if not ok or account is None:
                attempt.failed()
                raise _rejected("wrong account or password", "bad_credentials")
            if account.disabled:
                attempt.released()
                raise _rejected(f"account '{name}' is disabled", "account_disabled")
            attempt.succeeded()
        return account

    async def _check_assertion(self, credential: AssertionCredential) -> Account:
        if credential.assertion_type != ASSERTION_TYPE:
            raise InvalidArgument(
                f"client_assertion.assertion_type must be {ASSERTION_TYPE}",
                field_violations=[
                    FieldViolation("client_assertion.assertion_type", f"must be {ASSERTION_TYPE}")
                ],
            )
        name = assertion_subject(credential.assertion)
        account = self._accounts.get(name)
        if account is None or account.kind is not AccountKind.SERVICE or not account.public_key:
            raise _rejected(f"no service account '{name}'", "unknown_account")
        claims = verify_assertion(
            credential.assertion,
            self.node_id,
            parse_public_key(account.public_key),
            max_lifetime_s=self._config.assertion_max_lifetime_s,
            leeway_s=self._config.leeway_s,
            clock=self._clock,
        )
        if account.disabled:
            raise _rejected(f"account '{name}' is disabled", "account_disabled")
        expires = datetime.fromtimestamp(claims.expires_at + self._config.leeway_s, UTC)
        if not await self._store.use_assertion(claims.token_id, name, expires):
            raise _rejected("this client assertion was already used", "replayed_assertion")
        return account

    # --- accounts -----------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        """Every account, by name."""
        return sorted(self._accounts.values(), key=lambda a: a.name)

    def _existing(self, name: str) -> Account:
        account = self._accounts.get(name)
        if account is None:
            raise NotFound(f"account '{name}' not found")
        return account

    async def _credential(
        self, kind: AccountKind, password: str, public_key: str
    ) -> tuple[str, str]:
        """(password hash, public key PEM) for an account of ``kind``."""
        if kind is AccountKind.USER:
            if public_key:
                raise InvalidArgument(
                    "a user signs in with a password, not a key",
                    field_violations=[FieldViolation("public_key", "only for service accounts")],
                )
            if len(password) < _MIN_PASSWORD:
                raise InvalidArgument(
                    f"passwords have at least {_MIN_PASSWORD} characters",
                    field_violations=[
                        FieldViolation("password", f"at least {_MIN_PASSWORD} characters")
                    ],
                )
            return await asyncio.to_thread(hash_password, password, self._scrypt), ""
        if password:
            raise InvalidArgument(
                "a service account signs in with its key, not a password",
                field_violations=[FieldViolation("password", "only for users")],
            )
        try:
            parse_public_key(public_key)
        except InvalidArgument as exc:
            raise InvalidArgument(
                exc.message,
                field_violations=[FieldViolation("public_key", "an Ed25519 public key (PEM)")],
            ) from exc
        return "", public_key.strip() + "\n"

    async def create_account(
        self, name: str, kind: AccountKind, role: Role, *, password: str = "", public_key: str = ""
    ) -> Account:
        """Create an account.

        Raises:
            InvalidArgument: a bad name, a password too short, a key that is
                not an Ed25519 public key, or the wrong credential for the kind.
            AlreadyExists: the name is taken.
        """
        if not _NAME.match(name):
            raise InvalidArgument(
                f"'{name}' is not an account name",
                field_violations=[
                    FieldViolation(
                        "name", "lowercase letters, digits, '-', '_' and '.'; at most 63"
                    )
                ],
            )
        password_hash, pem = await self._credential(kind, password, public_key)
        account = Account(name, kind, role, public_key=pem, password_hash=password_hash)
        async with self._lock:
            await self._store.create(account)
            self._accounts[name] = account
        log.info("event=account_created account=%s kind=%s role=%s", name, kind, role)
        return account

    async def disable_account(self, name: str) -> Account:
        """Disable an account; its tokens stop working at once.

        Raises:
            NotFound: no such account.
        """
        async with self._lock:
            account = replace(self._existing(name), disabled=True, update_time=datetime.now(UTC))
            await self._store.update(account)
            self._accounts[name] = account
        log.info("event=account_disabled account=%s", name)
        return account

    async def rotate_account_key(
        self, name: str, *, password: str = "", public_key: str = ""
    ) -> Account:
        """Give a service account a new public key, or a user a new password.

        Tokens the account already holds stay valid until they expire.

        Raises:
            NotFound: no such account.
            InvalidArgument: the wrong credential for its kind, or a bad one.
        """
        existing = self._existing(name)
        password_hash, pem = await self._credential(existing.kind, password, public_key)
        async with self._lock:
            account = replace(
                self._existing(name),
                password_hash=password_hash,
                public_key=pem,
                update_time=datetime.now(UTC),
            )
            await self._store.update(account)
            self._accounts[name] = account
        log.info("event=account_key_rotated account=%s", name)
        return account

    def rotate_signing_key(self, *, revoke_previous: bool = False) -> tuple[str, list[str]]:
        """Replace the signing key now; returns the new key id and every usable one.

        With ``revoke_previous`` the previous keys are deleted at once, and every
        token they signed stops working (after a key compromise).
        """
        kid = self._keys.rotate(0.0 if revoke_previous else self._keep_previous_s())
        revoked = self._keys.prune() if revoke_previous else []
        log.info("event=signing_key_rotated kid=%s revoked=%s", kid, ",".join(revoked) or "-")
        return kid, self._keys.kids()
