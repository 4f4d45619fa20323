"""Client assertions: how a service account proves it holds its key (RFC 7523 ``private_key_jwt``).

The account signs a short-lived JWT with its own Ed25519 key: ``iss`` = ``sub``
= the account, ``aud`` = the node it talks to, ``iat``, ``exp`` and a random
``jti``; the header names the key (``kid``, its RFC 7638 thumbprint). The node
reads the unverified ``sub`` to find the account's registered public key, then
verifies, in this order: shape and ``alg`` (``malformed``, ``bad_algorithm``),
``kid`` if present matches the registered key (``unknown_key``), the signature
(``bad_signature``), required claims and a ``jti`` of at most 128 visible
ASCII characters (``missing_claim``), ``aud`` naming this node and nothing else
(``wrong_audience``), ``iss`` = ``sub`` (``wrong_issuer``), ``exp``
(``expired``), ``iat``/``nbf`` (``not_yet_valid``), and that it lives no longer
than ``max_lifetime_s`` (``too_long_lived``).

That each ``jti`` is used once is the caller's to enforce: it remembers used
ids until the assertion's ``expires_at``. Each node remembers its own, so an
assertion naming several audiences could be spent once at each of them; it is
refused: ``aud`` must be this node, as a string or a list of exactly one
(RFC 7523 §3 allows a list; a list of several is allowed to be refused).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from spfed.auth._jws import (
    check_times,
    decode_verified,
    reject,
    text_claim,
    time_claim,
    token_id_claim,
    unverified_header,
)
from spfed.auth.keys import key_id
from spfed.errors import InvalidArgument

__all__ = [
    "ASSERTION_TYPE",
    "AssertionClaims",
    "assertion_subject",
    "make_assertion",
    "verify_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""The ``client_assertion_type`` of RFC 7523 §2.2."""

_WHAT = "client assertion"
_REQUIRED = ("iss", "sub", "aud", "iat", "exp", "jti")


@dataclass(frozen=True)
class AssertionClaims:
    """What a verified client assertion says."""

    subject: str
    """The service account (``sub``, equal to ``iss``)."""
    token_id: str
    """``jti``: the caller refuses a second assertion with the same one."""
    expires_at: float
    """``exp``: how long the caller must remember ``token_id``."""


def make_assertion(
    account: str,
    audience: str,
    key: Ed25519PrivateKey,
    *,
    lifetime_s: float = 60.0,
    clock: Callable[[], float] = time.time,
) -> str:
    """A client assertion of ``account`` for ``audience``, signed with ``key``.

    Times are whole seconds; the lifetime is rounded up.

    Raises:
        InvalidArgument: ``account`` or ``audience`` is empty, or ``lifetime_s`` is not a
            positive finite number.
    """
    if not account or not audience:
        raise InvalidArgument("the account and the audience of an assertion must be non-empty")
    if not (math.isfinite(lifetime_s) and lifetime_s > 0):
        raise InvalidArgument("the assertion lifetime must be a positive number of seconds")
    issued_at = math.floor(clock())
    payload = {
        "iss": account,
        "sub": account,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + math.ceil(lifetime_s),
        "jti": secrets.token_urlsafe(16),
    }
    headers = {"typ": "JWT", "kid": key_id(key.public_key())}
    return jwt.encode(payload, key, algorithm="EdDSA", headers=headers)


def assertion_subject(assertion: str) -> str:
    """The ``sub`` of ``assertion``, NOT verified: only to find the key to verify it with.

    Raises:
        TokenRejected: ``no_token``, ``malformed``, ``bad_algorithm`` or ``missing_claim``.
    """
    unverified_header(assertion, _WHAT)
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise reject("malformed", "the client assertion payload is unreadable") from error
    return text_claim(claims, "sub", _WHAT)


def verify_assertion(
    assertion: str,
    audience: str,
    public_key: Ed25519PublicKey,
    *,
    max_lifetime_s: float = 300.0,
    leeway_s: float = 5.0,
    clock: Callable[[], float] = time.time,
) -> AssertionClaims:
    """The claims of ``assertion`` once it is shown signed by ``public_key`` for ``audience``.

    ``aud`` must be ``audience``, as a string or a list of exactly that one.

    Raises:
        TokenRejected: with the reason code of the first failed check (module docstring).
    """
    header = unverified_header(assertion, _WHAT)
    kid = header.get("kid")
    if kid is not None and kid != key_id(public_key):
        raise reject("unknown_key", "the client assertion is signed by a key not registered")
    claims = decode_verified(
        assertion,
        public_key,
        _WHAT,
        require=_REQUIRED,
        audience=audience,
        issuer=None,
        strict_audience=False,
    )
    aud = claims.get("aud")
    if (aud[0] if isinstance(aud, list) and len(aud) == 1 else aud) != audience:
        raise reject(
            "wrong_audience", "the client assertion must name this node as its one audience"
        )
    subject = text_claim(claims, "sub", _WHAT)
    issuer = text_claim(claims, "iss", _WHAT)
    token_id = token_id_claim(claims, _WHAT)
    issued_at = time_claim(claims, "iat", _WHAT)
    expires_at = time_claim(claims, "exp", _WHAT)
    not_before = time_claim(claims, "nbf", _WHAT) if "nbf" in claims else None
    if issuer != subject:
        raise reject("wrong_issuer", "the client assertion's issuer is not its subject")
    check_times(
        _WHAT,
        clock(),
        leeway_s,
        expires_at=expires_at,
        not_before=not_before,
        issued_at=issued_at,
    )
    if expires_at - issued_at > max_lifetime_s:
        raise reject(
            "too_long_lived", f"the client assertion lives longer than {max_lifetime_s:g} s"
        )
    return AssertionClaims(subject=subject, token_id=token_id, expires_at=expires_at)
