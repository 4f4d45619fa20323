"""How a client signs in at a node, and keeps a valid access token.

Three kinds of credential:

- ``PasswordSignIn``: a user's account and password;
- ``KeySignIn``: a service account's Ed25519 key, for a client assertion
  (RFC 7523) addressed to the node's id;
- ``BearerToken``: a token obtained earlier (``spfed login`` caches one).

``TokenKeeper`` holds the current token of one client. It signs in again
before the token expires (a quarter of its lifetime ahead, at least 10 s),
and once more whenever the node refuses it, so an expiring token never makes
a call fail. Concurrent calls share one sign-in.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spfed.auth import ASSERTION_TYPE, make_assertion
from spfed.model import AssertionCredential, IssuedToken, PasswordCredential

__all__ = [
    "BearerToken",
    "Credential",
    "KeySignIn",
    "PasswordSignIn",
    "SignIn",
    "TokenKeeper",
    "credential_for",
]


@dataclass(frozen=True)
class PasswordSignIn:
    """A user's password."""

    account: str
    password: str


@dataclass(frozen=True)
class KeySignIn:
    """A service account's key; each sign-in sends a fresh, single-use assertion."""

    account: str
    key: Ed25519PrivateKey
    audience: str
    """The node's id (the ``aud`` the node expects)."""


@dataclass(frozen=True)
class BearerToken:
    """A token obtained elsewhere; it cannot be renewed here."""

    token: str


SignIn = PasswordSignIn | KeySignIn | BearerToken
"""Any way of signing in."""


Credential = PasswordCredential | AssertionCredential
Issue = Callable[[Credential], Awaitable[IssuedToken]]


def credential_for(sign_in: PasswordSignIn | KeySignIn) -> Credential:
    """The ``IssueToken`` credential of a sign-in (a new assertion each time)."""
    if isinstance(sign_in, PasswordSignIn):
        return PasswordCredential(sign_in.account, sign_in.password)
    return AssertionCredential(
        ASSERTION_TYPE, make_assertion(sign_in.account, sign_in.audience, sign_in.key)
    )


class TokenKeeper:
    """The current access token of one client, renewed ahead of its expiry."""

    def __init__(
        self, sign_in: SignIn, issue: Issue, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._sign_in = sign_in
        self._issue = issue
        self._clock = clock
        self._token = sign_in.token if isinstance(sign_in, BearerToken) else ""
        self._renew_at = float("inf") if isinstance(sign_in, BearerToken) else 0.0
        self._lock = asyncio.Lock()

    @property
    def renewable(self) -> bool:
        """Whether a refused token can be replaced by signing in again."""
        return not isinstance(self._sign_in, BearerToken)

    async def token(self) -> str:
        """A token that is not about to expire.

        Raises:
            SpfedError: signing in failed (e.g. Unauthenticated, Unavailable).
        """
        if self._token and self._clock() < self._renew_at:
            return self._token
        async with self._lock:
            if self._token and self._clock() < self._renew_at:
                return self._token
            sign_in = self._sign_in
            assert not isinstance(sign_in, BearerToken)
            issued = await self._issue(credential_for(sign_in))
            now = self._clock()
            lifetime = max(0.0, issued.expire_time.timestamp() - now)
            self._token = issued.token
            self._renew_at = now + lifetime - max(10.0, lifetime / 4)
            return self._token

    def refused(self, token: str) -> None:
        """The node refused ``token``: the next call signs in again."""
        if token == self._token and self.renewable:
            self._token = ""
