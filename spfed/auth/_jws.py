"""What access tokens and client assertions share: the checks made before any key is used,
pyjwt's verification with its errors turned into reason codes, and typed claim reads.

pyjwt verifies the signature, the presence of required claims, ``iss`` and
``aud``; its own time checks are turned off because they read the system clock,
and the callers check ``exp``, ``nbf`` and ``iat`` against an injected one.

pyjwt reads JSON with ``json.loads``, which keeps the *last* of two members of
the same name; another reader may keep the first, so a header or payload
naming a member twice means different things to different readers (two
``alg``, two ``sub``). Such a token is refused before pyjwt reads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.exceptions import InvalidJTIError, InvalidSubjectError
from jwt.types import Options

from spfed.auth.rejections import TokenRejected

__all__ = [
    "ALGORITHMS",
    "MAX_JTI_CHARS",
    "MAX_TOKEN_CHARS",
    "check_times",
    "decode_verified",
    "reject",
    "text_claim",
    "time_claim",
    "token_id_claim",
    "unverified_header",
]

ALGORITHMS: tuple[str, ...] = ("EdDSA",)
"""The only signature algorithms accepted; checked before any key is looked up."""

MAX_TOKEN_CHARS = 8192
"""Longer strings are refused unread (gRPC metadata is limited to 8 KiB by default anyway)."""

_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
"""JWS compact serialisation; the signature may be empty so ``alg: none`` is named as such."""

MAX_JTI_CHARS = 128
"""Longest ``jti`` accepted: the width of the ``used_assertions.jti`` column."""

_JTI = re.compile(rf"[\x21-\x7e]{{1,{MAX_JTI_CHARS}}}")
"""A ``jti``: visible ASCII, so characters and bytes agree on every database."""


class _DuplicateMember(ValueError):
    """A JSON object names a member twice."""


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise _DuplicateMember
    return members


def _check_unique_members(token: str, what: str) -> None:
    """Refuse ``token`` if its header or payload names a member twice, at any depth.

    Raises:
        TokenRejected: ``malformed``, also when a segment is not base64url-encoded JSON.
    """
    header, payload, _ = token.split(".")
    for encoded in (header, payload):
        try:
            text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            json.loads(text, object_pairs_hook=_unique_members)
        except _DuplicateMember:
            raise reject("malformed", f"the {what} names a claim or header twice") from None
        except (binascii.Error, ValueError) as error:  # JSONDecodeError, UnicodeDecodeError
            raise reject("malformed", f"the {what} is not base64url-encoded JSON") from error


def reject(reason: str, message: str) -> TokenRejected:
    """A ``TokenRejected`` carrying ``reason`` as its reason code."""
    return TokenRejected(message, metadata={"reason": reason})


def unverified_header(token: str, what: str) -> dict[str, Any]:
    """The header of ``token``, read without trusting it, once its shape and ``alg`` are fine.

    ``what`` names the token in messages ("access token").

    Raises:
        TokenRejected: ``no_token`` (empty), ``malformed`` (not a compact JWS, too long, bad
            header, a ``crit`` header, a member named twice in the header or the payload),
            ``bad_algorithm`` (``alg`` not in ``ALGORITHMS``).
    """
    if not isinstance(token, str):
        raise reject("malformed", f"the {what} is not a string")
    if not token:
        raise reject("no_token", f"no {what} was given")
    if len(token) > MAX_TOKEN_CHARS or not _COMPACT.fullmatch(token):
        raise reject("malformed", f"the {what} is not a compact JWS")
    _check_unique_members(token, what)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise reject("malformed", f"the {what} has an unreadable header") from error
    # RFC 7515 §4.1.11: extensions the recipient does not understand must be refused
    if "crit" in header or "b64" in header:
        raise reject("malformed", f"the {what} uses an unsupported JWS extension")
    if header.get("alg") not in ALGORITHMS:
        raise reject("bad_algorithm", f"the {what} is not signed with an accepted algorithm")
    return header


def decode_verified(
    token: str,
    public: Ed25519PublicKey,
    what: str,
    *,
    require: Sequence[str],
    audience: str,
    issuer: str | None,
    strict_audience: bool,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature, required claims, issuer and audience hold.

    ``issuer`` ``None`` leaves ``iss`` to the caller. Time claims are not checked here.

    Raises:
        TokenRejected: ``bad_signature``, ``missing_claim``, ``wrong_issuer``,
            ``wrong_audience``, ``bad_algorithm`` or ``malformed`` (payload not a JSON object).
    """
    options: Options = {
        "verify_exp": False,
        "verify_nbf": False,
        "verify_iat": False,
        "require": list(require),
        "strict_aud": strict_audience,
    }
    try:
        return jwt.decode(
            token,
            public,
            algorithms=list(ALGORITHMS),
            audience=audience,
            issuer=issuer,
            options=options,
        )
    except jwt.InvalidSignatureError as error:  # before DecodeError, its base class
        raise reject("bad_signature", f"the {what} signature does not verify") from error
    except jwt.InvalidAlgorithmError as error:
        raise reject("bad_algorithm", f"the {what} algorithm is not accepted") from error
    except jwt.MissingRequiredClaimError as error:
        raise reject("missing_claim", f"the {what} has no '{error.claim}' claim") from error
    except jwt.InvalidAudienceError as error:
        raise reject("wrong_audience", f"the {what} is meant for another audience") from error
    except jwt.InvalidIssuerError as error:
        raise reject("wrong_issuer", f"the {what} comes from another issuer") from error
    except (InvalidSubjectError, InvalidJTIError) as error:
        raise reject(
            "missing_claim", f"the {what} has a 'sub' or 'jti' that is no string"
        ) from error
    except jwt.PyJWTError as error:
        raise reject("malformed", f"the {what} payload is unreadable") from error


def time_claim(claims: Mapping[str, Any], name: str, what: str) -> float:
    """Claim ``name`` as seconds since the epoch.

    Raises:
        TokenRejected: ``missing_claim`` if it is absent or not a finite number.
    """
    value = claims.get(name)
    if not isinstance(value, bool) and isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float
            seconds = math.inf
        if math.isfinite(seconds):
            return seconds
    raise reject("missing_claim", f"the {what} has no valid '{name}' claim")


def text_claim(claims: Mapping[str, Any], name: str, what: str) -> str:
    """Claim ``name`` as a non-empty string.

    Raises:
        TokenRejected: ``missing_claim`` if it is absent, empty or not a string.
    """
    value = claims.get(name)
    if isinstance(value, str) and value:
        return value
    raise reject("missing_claim", f"the {what} has no valid '{name}' claim")


def token_id_claim(claims: Mapping[str, Any], what: str) -> str:
    """The ``jti`` claim: 1 to ``MAX_JTI_CHARS`` visible ASCII characters.

    Raises:
        TokenRejected: ``missing_claim`` if it is absent, not a string, too long, or has
            other characters.
    """
    value = text_claim(claims, "jti", what)
    if not _JTI.fullmatch(value):
        raise reject(
            "missing_claim",
            f"the {what} 'jti' must be 1 to {MAX_JTI_CHARS} visible ASCII characters",
        )
    return value


def check_times(
    what: str,
    now: float,
    leeway_s: float,
    *,
    expires_at: float,
    not_before: float | None,
    issued_at: float,
) -> None:
    """Check the time claims against ``now``, each with ``leeway_s`` of tolerance.

    Raises:
        TokenRejected: ``expired`` when ``exp`` has passed, ``not_yet_valid`` when ``nbf`` or
            ``iat`` is in the future.
    """
    if expires_at <= now - leeway_s:
        raise reject("expired", f"the {what} has expired")
    if not_before is not None and not_before > now + leeway_s:
        raise reject("not_yet_valid", f"the {what} is not valid yet")
    if issued_at > now + leeway_s:
        raise reject("not_yet_valid", f"the {what} is issued in the future")
