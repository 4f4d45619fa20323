"""The node's access tokens: EdDSA JWTs it issues to itself and verifies.

A token is issued and verified by the same node, so ``iss`` and ``aud`` are
both the node id; a token of another node fails even if its key were known.
Header ``{"alg": "EdDSA", "typ": "JWT", "kid": <signing key id>}``; claims
``iss``, ``aud``, ``sub``, ``roles`` (list of strings), ``iat``, ``nbf`` (=
``iat``), ``exp`` and a random ``jti``, times in whole seconds.

``TokenVerifier.verify`` checks, in this order, and refuses with the first
failure's reason code (``TokenRejected.rejection``):

1. present (``no_token``) and a compact JWS with a readable header, no member
   named twice in the header or the payload (``malformed``);
2. ``alg`` in ``ALGORITHMS`` (``bad_algorithm``), before any key is touched;
3. ``kid`` names a key of the ring that is not retired (``unknown_key``);
4. the signature (``bad_signature``; a tampered payload stops here);
5. required claims present (``missing_claim``), ``iss`` (``wrong_issuer``),
   ``aud`` (``wrong_audience``), claims of the right type, a ``jti`` of at most
   128 visible ASCII characters (``missing_claim``);
6. ``exp`` (``expired``), then ``nbf`` and ``iat`` (``not_yet_valid``), each with
   ``leeway_s``, against the injected clock;
7. ``exp - iat`` at most the node's token lifetime plus ``leeway_s``
   (``too_long_lived``): a token signed with a stolen or misused key cannot
   outlive what the node would have issued.

The roles a token names are what the account had when it was issued; the
gatekeeper grants only those the account still has.

Verified tokens are cached by their text; a hit costs a dictionary lookup plus
the checks that can change with time: ``exp``, ``nbf`` and whether the key is
still in the ring.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from spfed.auth._jws import (
    ALGORITHMS,
    check_times,
    decode_verified,
    reject,
    text_claim,
    time_claim,
    token_id_claim,
    unverified_header,
)
from spfed.auth.keys import SigningKeys
from spfed.auth.rejections import TokenRejected
from spfed.errors import InvalidArgument

__all__ = [
    "ALGORITHMS",
    "MAX_TTL_S",
    "TokenClaims",
    "TokenIssuer",
    "TokenRejected",
    "TokenVerifier",
]

MAX_TTL_S = 900.0
"""Longest lifetime of an access token: there is no revocation, so tokens stay short."""

_WHAT = "access token"
_REQUIRED = ("iss", "aud", "sub", "roles", "iat", "nbf", "exp", "jti")


@dataclass(frozen=True)
class TokenClaims:
    """What a verified (or just issued) access token says."""

    subject: str
    """The account the token was issued to (``sub``)."""
    roles: tuple[str, ...]
    """The account's roles when the token was issued."""
    issued_at: float
    """``iat``, seconds since the epoch."""
    not_before: float
    """``nbf``, seconds since the epoch."""
    expires_at: float
    """``exp``, seconds since the epoch."""
    token_id: str
    """``jti``, unique per token."""
    key_id: str
    """``kid`` of the key that signed it."""


class TokenIssuer:
    """Signs access tokens with the active key of the node's ring."""

    def __init__(
        self,
        node_id: str,
        keys: SigningKeys,
        ttl_s: float,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Issue tokens of ``node_id`` that live ``ttl_s`` seconds (rounded up to whole seconds).

        Raises:
            InvalidArgument: ``node_id`` is empty, or ``ttl_s`` is not in (0, ``MAX_TTL_S``].
        """
        if not node_id:
            raise InvalidArgument("the node id is empty")
        if not (math.isfinite(ttl_s) and 0 < ttl_s <= MAX_TTL_S):
            raise InvalidArgument(f"the token lifetime must be in (0, {MAX_TTL_S:g}] seconds")
        self._node_id = node_id
        self._keys = keys
        self._ttl_s = math.ceil(ttl_s)
        self._clock = clock

    def issue(self, subject: str, roles: Sequence[str]) -> tuple[str, TokenClaims]:
        """A new token for ``subject`` with ``roles``, and its claims.

        Raises:
            InvalidArgument: ``subject`` is empty, ``roles`` is a bare string, or a role is
                not a non-empty string.
        """
        if not isinstance(subject, str) or not subject:
            raise InvalidArgument("the token subject is empty")
        if isinstance(roles, str):
            raise InvalidArgument("roles must be a sequence of role names, not one string")
        granted = tuple(roles)
        if not all(isinstance(role, str) and role for role in granted):
            raise InvalidArgument("every role must be a non-empty string")
        kid, private = self._keys.signing_key()
        issued_at = math.floor(self._clock())
        expires_at = issued_at + self._ttl_s
        token_id = secrets.token_urlsafe(16)
        payload = {
            "iss": self._node_id,
            "aud": self._node_id,
            "sub": subject,
            "roles": list(granted),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires_at,
            "jti": token_id,
        }
        token = jwt.encode(payload, private, algorithm="EdDSA", headers={"typ": "JWT", "kid": kid})
        claims = TokenClaims(
            subject=subject,
            roles=granted,
            issued_at=float(issued_at),
            not_before=float(issued_at),
            expires_at=float(expires_at),
            token_id=token_id,
            key_id=kid,
        )
        return token, claims


class TokenVerifier:
    """Verifies the node's access tokens (see the module docstring for the checks)."""

    def __init__(
        self,
        node_id: str,
        keys: SigningKeys,
        *,
        leeway_s: float = 5.0,
        max_ttl_s: float = MAX_TTL_S,
        clock: Callable[[], float] = time.time,
        cache_size: int = 4096,
    ) -> None:
        """Accept tokens ``node_id`` issued with a key of ``keys``.

        ``leeway_s`` tolerates clock steps; ``max_ttl_s`` is the lifetime of the node's tokens
        (``TokenIssuer``'s ``ttl_s``; a longer-lived token is refused); ``cache_size`` verified
        tokens are remembered (0 turns the cache off).

        Raises:
            InvalidArgument: ``node_id`` is empty, ``leeway_s`` or ``cache_size`` is negative,
                or ``max_ttl_s`` is not in (0, ``MAX_TTL_S``].
        """
        if not node_id:
            raise InvalidArgument("the node id is empty")
        if not (math.isfinite(leeway_s) and leeway_s >= 0):
            raise InvalidArgument("the leeway must be a finite number of seconds >= 0")
        if not (math.isfinite(max_ttl_s) and 0 < max_ttl_s <= MAX_TTL_S):
            raise InvalidArgument(f"the token lifetime must be in (0, {MAX_TTL_S:g}] seconds")
        if cache_size < 0:
            raise InvalidArgument("the cache size must be >= 0")
        self._node_id = node_id
        self._keys = keys
        self._leeway_s = leeway_s
        # The issuer rounds its lifetime up to whole seconds: so does the bound.
        self._max_lifetime_s = math.ceil(max_ttl_s) + leeway_s
        self._clock = clock
        self._cache_size = cache_size
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()

    def verify(self, token: str) -> TokenClaims:
        """The claims of ``token`` if it is a valid, current access token of this node.

        Raises:
            TokenRejected: with the reason code of the first failed check.
        """
        now = self._clock()
        cached = self._cache.get(token) if isinstance(token, str) else None
        if cached is not None:
            self._recheck(token, cached, now)
            self._cache.move_to_end(token)
            return cached
        header = unverified_header(token, _WHAT)
        kid = header.get("kid")
        if not isinstance(kid, str) or (public := self._keys.public_key(kid)) is None:
            raise reject("unknown_key", "the access token is signed by an unknown or retired key")
        claims = decode_verified(
            token,
            public,
            _WHAT,
            require=_REQUIRED,
            audience=self._node_id,
            issuer=self._node_id,
            strict_audience=True,
        )
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise reject("missing_claim", "the access token has no valid 'roles' claim")
        verified = TokenClaims(
            subject=text_claim(claims, "sub", _WHAT),
            roles=tuple(roles),
            issued_at=time_claim(claims, "iat", _WHAT),
            not_before=time_claim(claims, "nbf", _WHAT),
            expires_at=time_claim(claims, "exp", _WHAT),
            token_id=token_id_claim(claims, _WHAT),
            key_id=kid,
        )
        check_times(
            _WHAT,
            now,
            self._leeway_s,
            expires_at=verified.expires_at,
            not_before=verified.not_before,
            issued_at=verified.issued_at,
        )
        if verified.expires_at - verified.issued_at > self._max_lifetime_s:
            raise reject(
                "too_long_lived",
                f"the access token lives longer than this node's {self._max_lifetime_s:g} s",
            )
        if self._cache_size:
            self._cache[token] = verified
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return verified

    def _recheck(self, token: str, claims: TokenClaims, now: float) -> None:
        """What may have changed since ``token`` was verified: its time window and its key.

        Raises:
            TokenRejected: ``unknown_key``, ``expired`` (both drop it from the cache) or
                ``not_yet_valid`` (the clock went back).
        """
        if self._keys.public_key(claims.key_id) is None:
            del self._cache[token]
            raise reject("unknown_key", "the access token is signed by an unknown or retired key")
        if claims.expires_at <= now - self._leeway_s:
            del self._cache[token]
            raise reject("expired", "the access token has expired")
        if claims.not_before > now + self._leeway_s:
            raise reject("not_yet_valid", "the access token is not valid yet")
