"""The gatekeeper's cryptographic primitives: keys, password hashes, tokens, assertions, throttling.

- ``keys``: Ed25519 key files, RFC 7638 key ids, and ``SigningKeys``, the
  node's ring of token-signing keys with rotation and pruning;
- ``passwords``: scrypt password hashes, and ``verify_unknown`` so an unknown
  account takes as long as a wrong password;
- ``tokens``: the node's EdDSA access tokens, issued and verified (with a cache);
- ``assertions``: RFC 7523 client assertions by which service accounts sign in;
- ``ratelimit``: throttling of password attempts per (account, source) and per
  account, reserved before the hash is checked;
- ``buckets``: token buckets by key (``IssueToken`` calls per source address);
- ``sources``: the throttling key of a gRPC peer (its address, an IPv6 /64);
- ``rejections``: ``TokenRejected`` and its reason codes.

Primitives only: no storage of accounts, no gRPC, no asyncio. Password hashing
is CPU-heavy and meant to run in a thread; everything else is synchronous and
fast enough for the event loop. Crypto comes from ``cryptography`` (Ed25519,
scrypt) and ``pyjwt`` (JWS); nothing here implements an algorithm itself.
"""

from spfed.auth.assertions import (
    ASSERTION_TYPE,
    AssertionClaims,
    assertion_subject,
    make_assertion,
    verify_assertion,
)
from spfed.auth.buckets import TokenBuckets
from spfed.auth.keys import (
    SigningKeys,
    generate_key,
    key_id,
    load_private_key,
    parse_public_key,
    private_key_pem,
    public_key_pem,
    write_private_key,
)
from spfed.auth.passwords import (
    DEFAULT_SCRYPT,
    ScryptParams,
    hash_password,
    needs_rehash,
    verify_password,
    verify_unknown,
)
from spfed.auth.ratelimit import Attempt, AttemptLimiter, Refusal
from spfed.auth.rejections import REJECTIONS, TokenRejected
from spfed.auth.sources import peer_source
from spfed.auth.tokens import (
    ALGORITHMS,
    MAX_TTL_S,
    TokenClaims,
    TokenIssuer,
    TokenVerifier,
)

__all__ = [
    "ALGORITHMS",
    "ASSERTION_TYPE",
    "DEFAULT_SCRYPT",
    "MAX_TTL_S",
    "REJECTIONS",
    "AssertionClaims",
    "Attempt",
    "AttemptLimiter",
    "Refusal",
    "ScryptParams",
    "SigningKeys",
    "TokenBuckets",
    "TokenClaims",
    "TokenIssuer",
    "TokenRejected",
    "TokenVerifier",
    "assertion_subject",
    "generate_key",
    "hash_password",
    "key_id",
    "load_private_key",
    "make_assertion",
    "needs_rehash",
    "parse_public_key",
    "peer_source",
    "private_key_pem",
    "public_key_pem",
    "verify_assertion",
    "verify_password",
    "verify_unknown",
    "write_private_key",
]
