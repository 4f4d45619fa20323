"""Access tokens: issue and verify, every attack the verifier must refuse, the cache, rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest

from spfed.auth import (
    ALGORITHMS,
    REJECTIONS,
    SigningKeys,
    TokenClaims,
    TokenIssuer,
    TokenRejected,
    TokenVerifier,
    generate_key,
    key_id,
    public_key_pem,
)
from spfed.errors import InvalidArgument, Unauthenticated
from tests.forge import (
    FakeClock,
    b64url,
    compact,
    hs256,
    segment,
    signed,
    signed_text,
    unb64url,
)

NODE = "edge-be"
TTL = 300.0


@pytest.fixture
def issuer(keys: SigningKeys, clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(NODE, keys, TTL, clock=clock)


@pytest.fixture
def verifier(keys: SigningKeys, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier(NODE, keys, leeway_s=5.0, clock=clock)


def refused(verifier: TokenVerifier, token: str) -> str:
    """The rejection code ``verify`` raises for ``token``; fails if it accepts it."""
    with pytest.raises(TokenRejected) as info:
        verifier.verify(token)
    assert info.value.rejection in REJECTIONS
    assert token not in info.value.message or not token
    return info.value.rejection


def claims_of(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    """The claims the issuer would put in a token now, with ``changes`` (``None`` drops one)."""
    now = int(clock.now)
    claims: dict[str, Any] = {
        "iss": NODE,
        "aud": NODE,
        "sub": "alice",
        "roles": ["admin"],
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "0123456789abcdef",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def node_signed(keys: SigningKeys, payload: dict[str, Any], **header: Any) -> str:
    """A token genuinely signed with the node's active key (so only its claims can be wrong)."""
    kid, private = keys.signing_key()
    return signed({"alg": "EdDSA", "typ": "JWT", "kid": kid, **header}, payload, private)


# --- issuing and the happy path -------------------------------------------------------------


def test_issue_and_verify_round_trip(
    issuer: TokenIssuer, verifier: TokenVerifier, keys: SigningKeys, clock: FakeClock
) -> None:
    token, claims = issuer.issue("alice", ["admin", "viewer"])
    assert claims == TokenClaims(
        subject="alice",
        roles=("admin", "viewer"),
        issued_at=clock.now,
        not_before=clock.now,
        expires_at=clock.now + TTL,
        token_id=claims.token_id,
        key_id=keys.active_kid,
    )
    assert verifier.verify(token) == claims


def test_issued_token_has_the_documented_header_and_claims(
    issuer: TokenIssuer, keys: SigningKeys, clock: FakeClock
) -> None:
    token, claims = issuer.issue("alice", ("admin",))
    header, payload, _ = token.split(".")
    assert json.loads(unb64url(header)) == {"alg": "EdDSA", "typ": "JWT", "kid": keys.active_kid}
    assert json.loads(unb64url(payload)) == {
        "iss": NODE,
        "aud": NODE,
        "sub": "alice",
        "roles": ["admin"],
        "iat": int(clock.now),
        "nbf": int(clock.now),
        "exp": int(clock.now + TTL),
        "jti": claims.token_id,
    }
    # a standard library verifies it with the public key alone
    public = keys.public_key(keys.active_kid)
    assert public is not None
    decoded = jwt.decode(
        token,
        public,
        algorithms=["EdDSA"],
        audience=NODE,
        issuer=NODE,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert decoded["sub"] == "alice"


def test_token_ids_are_unique_and_long(issuer: TokenIssuer) -> None:
    ids = {issuer.issue("alice", [])[1].token_id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(unb64url(token_id)) == 16 for token_id in ids)


def test_tokens_with_no_roles_verify(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token, _ = issuer.issue("bob", [])
    assert verifier.verify(token).roles == ()


@pytest.mark.parametrize("ttl", [0.0, -1.0, 900.5, 3600.0, float("nan"), float("inf")])
def test_issuer_refuses_a_bad_lifetime(keys: SigningKeys, ttl: float) -> None:
    with pytest.raises(InvalidArgument):
        TokenIssuer(NODE, keys, ttl)


def test_issuer_accepts_the_longest_lifetime(keys: SigningKeys, clock: FakeClock) -> None:
    _, claims = TokenIssuer(NODE, keys, 900.0, clock=clock).issue("alice", [])
    assert claims.expires_at - claims.issued_at == 900.0


@pytest.mark.parametrize(
    ("subject", "roles"), [("", ["admin"]), ("alice", "admin"), ("alice", ["admin", ""])]
)
def test_issue_refuses_bad_subjects_and_roles(
    issuer: TokenIssuer, subject: str, roles: list[str] | str
) -> None:
    with pytest.raises(InvalidArgument):
        issuer.issue(subject, roles)


def test_verifier_refuses_bad_settings(keys: SigningKeys) -> None:
    with pytest.raises(InvalidArgument):
        TokenVerifier(NODE, keys, leeway_s=-1.0)
    with pytest.raises(InvalidArgument):
        TokenVerifier(NODE, keys, leeway_s=float("nan"))
    with pytest.raises(InvalidArgument):
        TokenVerifier(NODE, keys, cache_size=-1)
    with pytest.raises(InvalidArgument):
        TokenVerifier("", keys)
    for ttl in (0.0, -1.0, 901.0, float("inf")):
        with pytest.raises(InvalidArgument):
            TokenVerifier(NODE, keys, max_ttl_s=ttl)


def test_rejection_is_unauthenticated_with_a_reason_code(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify("")
    error = info.value
    assert isinstance(error, TokenRejected)
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    assert error.reason == "UNAUTHENTICATED"
    assert error.metadata == {"reason": "no_token"}
    assert error.rejection == "no_token"
    assert TokenRejected("x").rejection == ""


# --- shape and algorithm ----------------------------------------------------------------


def test_an_empty_token_is_no_token(verifier: TokenVerifier) -> None:
    assert refused(verifier, "") == "no_token"


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b",
        "a.b.c.d",
        "..",
        "!!!.e30.",
        " eyJhbGciOiJFZERTQSJ9.e30.",
        "eyJhbGciOiJFZERTQSJ9.e30.sig=",
        "Zm9v.e30.",  # header "foo" is not JSON
        f"{segment([1, 2])}.e30.",  # header is not an object
        f"{segment({'alg': 'EdDSA'})}.{'A' * 9000}.",
        "é.e30.",
    ],
)
def test_garbage_is_malformed(verifier: TokenVerifier, token: str) -> None:
    assert refused(verifier, token) == "malformed"


def test_a_token_that_is_no_string_is_malformed(verifier: TokenVerifier) -> None:
    with pytest.raises(TokenRejected) as info:
        verifier.verify(None)  # type: ignore[arg-type]
    assert info.value.rejection == "malformed"


def test_crit_header_is_malformed(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    token = node_signed(keys, claims_of(clock), crit=["exp"], exp=1)
    assert refused(verifier, token) == "malformed"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", None])
def test_alg_none_is_refused_before_any_key(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, alg: str | None
) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": keys.active_kid}
    if alg is None:
        del header["alg"]
    assert refused(verifier, compact(header, claims_of(clock))) == "bad_algorithm"


def test_hs256_with_the_public_key_as_secret_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    # algorithm confusion: a verifier that let the token pick HS256 would check this HMAC
    # with the public key's PEM, which every client can read
    public = keys.public_key(keys.active_kid)
    assert public is not None
    header = {"alg": "HS256", "typ": "JWT", "kid": keys.active_kid}
    token = hs256(header, claims_of(clock, roles=["admin"]), public_key_pem(public).encode())
    assert refused(verifier, token) == "bad_algorithm"


@pytest.mark.parametrize("alg", ["HS512", "RS256", "ES256", "PS256", "Ed25519", "eddsa", "EdDSA "])
def test_other_algorithms_are_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, alg: str
) -> None:
    _, private = keys.signing_key()
    token = signed({"alg": alg, "kid": keys.active_kid}, claims_of(clock), private)
    assert refused(verifier, token) == "bad_algorithm"
    assert alg not in ALGORITHMS


# --- keys and signatures ----------------------------------------------------------------


def test_a_key_the_node_never_had_is_unknown(clock: FakeClock, verifier: TokenVerifier) -> None:
    stranger = generate_key()
    header = {"alg": "EdDSA", "kid": key_id(stranger.public_key())}
    assert refused(verifier, signed(header, claims_of(clock), stranger)) == "unknown_key"


@pytest.mark.parametrize(
    ("kid", "rejection"),
    [
        (None, "unknown_key"),
        ("", "unknown_key"),
        ("../signing-keys.json", "unknown_key"),
        (42, "malformed"),  # pyjwt refuses a kid that is no string when reading the header
        (["x"], "malformed"),
    ],
)
def test_a_missing_or_odd_kid_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, kid: object, rejection: str
) -> None:
    _, private = keys.signing_key()
    header: dict[str, object] = {"alg": "EdDSA"}
    if kid is not None:
        header["kid"] = kid
    assert refused(verifier, signed(header, claims_of(clock), private)) == rejection


def test_a_stranger_key_carrying_the_node_kid_has_a_bad_signature(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    header = {"alg": "EdDSA", "typ": "JWT", "kid": keys.active_kid}
    assert refused(verifier, signed(header, claims_of(clock), generate_key())) == "bad_signature"


def test_a_tampered_payload_has_a_bad_signature(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token, _ = issuer.issue("alice", ["viewer"])
    header, payload, signature = token.split(".")
    claims = json.loads(unb64url(payload))
    for change in ({"sub": "root"}, {"roles": ["admin"]}, {"exp": claims["exp"] + 10**6}):
        forged = f"{header}.{segment({**claims, **change})}.{signature}"
        assert refused(verifier, forged) == "bad_signature"


def test_a_tampered_signature_is_bad(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    token, _ = issuer.issue("alice", [])
    head, _, signature = token.rpartition(".")
    raw = bytearray(unb64url(signature))
    raw[0] ^= 1
    assert refused(verifier, f"{head}.{b64url(bytes(raw))}") == "bad_signature"
    assert refused(verifier, f"{head}.{b64url(bytes(raw[:32]))}") == "bad_signature"
    assert refused(verifier, f"{head}.") == "bad_signature"


def test_a_token_of_another_node_is_refused(
    tmp_path: Path, clock: FakeClock, verifier: TokenVerifier
) -> None:
    other_keys = SigningKeys.open(tmp_path / "other", clock=clock)
    token, _ = TokenIssuer("wholesale-eu", other_keys, TTL, clock=clock).issue("alice", ["admin"])
    assert refused(verifier, token) == "unknown_key"


def test_a_token_for_another_node_id_sharing_the_keys_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    token, _ = TokenIssuer("wholesale-eu", keys, TTL, clock=clock).issue("alice", ["admin"])
    assert refused(verifier, token) == "wrong_issuer"


# --- claims -------------------------------------------------------------------------------


def test_an_expired_token_is_refused_after_the_leeway(
    issuer: TokenIssuer, keys: SigningKeys, clock: FakeClock
) -> None:
    token, _ = issuer.issue("alice", [])
    clock.advance(TTL + 4)
    assert TokenVerifier(NODE, keys, clock=clock, cache_size=0).verify(token)
    clock.advance(1)
    assert refused(TokenVerifier(NODE, keys, clock=clock), token) == "expired"


def test_a_token_not_yet_valid_is_refused_after_the_leeway(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    now = int(clock.now)
    assert verifier.verify(node_signed(keys, claims_of(clock, nbf=now + 5)))
    assert refused(verifier, node_signed(keys, claims_of(clock, nbf=now + 6))) == "not_yet_valid"


def test_a_token_issued_in_the_future_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    token = node_signed(keys, claims_of(clock, iat=int(clock.now) + 60))
    assert refused(verifier, token) == "not_yet_valid"


@pytest.mark.parametrize(
    ("audience", "rejection"),
    [
        ("wholesale-eu", "wrong_audience"),
        ("edge-be ", "wrong_audience"),
        (["edge-be"], "wrong_audience"),  # strict: our tokens carry one audience, as a string
        (["edge-be", "wholesale-eu"], "wrong_audience"),
        (7, "wrong_audience"),
        ("", "missing_claim"),
    ],
)
def test_a_token_for_another_audience_is_refused(
    keys: SigningKeys,
    clock: FakeClock,
    verifier: TokenVerifier,
    audience: object,
    rejection: str,
) -> None:
    assert refused(verifier, node_signed(keys, claims_of(clock, aud=audience))) == rejection


@pytest.mark.parametrize("issuer_id", ["wholesale-eu", "edge-be ", 7])
def test_a_token_from_another_issuer_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, issuer_id: object
) -> None:
    assert refused(verifier, node_signed(keys, claims_of(clock, iss=issuer_id))) == "wrong_issuer"


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "roles", "iat", "nbf", "exp", "jti"])
def test_a_token_missing_a_claim_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, claim: str
) -> None:
    token = node_signed(keys, claims_of(clock, **{claim: None}))
    assert refused(verifier, token) == "missing_claim"


@pytest.mark.parametrize(
    "change",
    [
        {"sub": ""},
        {"sub": 5},
        {"sub": ["alice"]},
        {"roles": "admin"},
        {"roles": [1]},
        {"roles": {"admin": True}},
        {"jti": ""},
        {"jti": 5},
        {"exp": "soon"},
        {"exp": True},
        {"exp": float("inf")},
        {"exp": 10**400},
        {"iat": "now"},
        {"nbf": [1]},
    ],
)
def test_a_claim_of_the_wrong_type_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, change: dict[str, Any]
) -> None:
    assert refused(verifier, node_signed(keys, claims_of(clock, **change))) == "missing_claim"


@pytest.mark.parametrize("jti", ["j" * 129, "j" * 200, "two words", "caf\u00e9", "tab\t"])
def test_a_jti_too_long_or_of_odd_characters_is_refused(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier, jti: str
) -> None:
    assert refused(verifier, node_signed(keys, claims_of(clock, jti=jti))) == "missing_claim"


def test_a_jti_of_128_visible_characters_is_accepted(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    jti = ("0123456789abcdef-_.~+/=" * 6)[:128]
    assert verifier.verify(node_signed(keys, claims_of(clock, jti=jti))).token_id == jti


# --- lifetime -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iat_offset", "exp_offset"),
    [
        (0, 10 * 365 * 86400),  # ten years ahead
        (0, 306),  # one second beyond lifetime and leeway
        (-3000, 300),  # issued long ago, still "valid" for 5 minutes
    ],
)
def test_a_token_living_longer_than_the_node_issues_is_refused(
    keys: SigningKeys, clock: FakeClock, iat_offset: int, exp_offset: int
) -> None:
    verifier = TokenVerifier(NODE, keys, leeway_s=5.0, max_ttl_s=TTL, clock=clock)
    now = int(clock.now)
    token = node_signed(
        keys, claims_of(clock, iat=now + iat_offset, nbf=now + iat_offset, exp=now + exp_offset)
    )
    assert refused(verifier, token) == "too_long_lived"


def test_the_default_cap_is_the_longest_lifetime(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    now = int(clock.now)
    assert verifier.verify(node_signed(keys, claims_of(clock, exp=now + 905)))
    assert refused(verifier, node_signed(keys, claims_of(clock, exp=now + 906))) == (
        "too_long_lived"
    )


def test_a_token_of_exactly_the_lifetime_and_leeway_is_accepted(
    keys: SigningKeys, clock: FakeClock
) -> None:
    verifier = TokenVerifier(NODE, keys, leeway_s=5.0, max_ttl_s=TTL, clock=clock)
    now = int(clock.now)
    assert verifier.verify(node_signed(keys, claims_of(clock, exp=now + 305)))


def test_the_issuers_rounded_lifetime_verifies(keys: SigningKeys, clock: FakeClock) -> None:
    """The issuer rounds 10.5 s up to 11 s; with no leeway the verifier must agree."""
    token, claims = TokenIssuer(NODE, keys, 10.5, clock=clock).issue("alice", [])
    assert claims.expires_at - claims.issued_at == 11
    assert TokenVerifier(NODE, keys, leeway_s=0.0, max_ttl_s=10.5, clock=clock).verify(token)


# --- members named twice ------------------------------------------------------------------


def _twice(document: dict[str, Any], name: str, value: Any) -> str:
    """``document`` as JSON text with ``name`` appended again, as ``value``."""
    return json.dumps(document)[:-1] + f", {json.dumps(name)}: {json.dumps(value)}}}"


@pytest.mark.parametrize(
    ("where", "name", "value"),
    [
        ("payload", "sub", "admin"),
        ("payload", "roles", ["operator"]),
        ("payload", "exp", 4_000_000_000),
        ("payload", "sub", "alice"),  # even the same value twice
        ("header", "alg", "EdDSA"),
        ("header", "kid", "x"),
    ],
)
def test_a_member_named_twice_is_malformed(
    keys: SigningKeys,
    clock: FakeClock,
    verifier: TokenVerifier,
    where: str,
    name: str,
    value: Any,
) -> None:
    kid, private = keys.signing_key()
    header: dict[str, Any] = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
    payload = claims_of(clock)
    header_text = _twice(header, name, value) if where == "header" else json.dumps(header)
    payload_text = _twice(payload, name, value) if where == "payload" else json.dumps(payload)
    token = signed_text(header_text, payload_text, private)
    assert json.loads(unb64url(token.split(".")[1]))  # pyjwt alone would read it
    assert refused(verifier, token) == "malformed"


def test_a_member_named_twice_in_a_nested_object_is_malformed(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    kid, private = keys.signing_key()
    payload = json.dumps(claims_of(clock))[:-1] + ', "ext": {"a": 1, "a": 2}}'
    token = signed_text(json.dumps({"alg": "EdDSA", "kid": kid}), payload, private)
    assert refused(verifier, token) == "malformed"


def test_a_payload_that_is_no_object_is_malformed(
    keys: SigningKeys, verifier: TokenVerifier
) -> None:
    kid, private = keys.signing_key()
    token = signed({"alg": "EdDSA", "kid": kid}, ["sub", "alice"], private)
    assert refused(verifier, token) == "malformed"


def test_fractional_times_from_other_issuers_are_accepted(
    keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    now = clock.now + 0.25
    token = node_signed(keys, claims_of(clock, iat=now, nbf=now, exp=now + 10.5))
    assert verifier.verify(token).expires_at == now + 10.5


# --- the cache ----------------------------------------------------------------------------


def test_a_repeat_verification_is_served_from_the_cache(
    issuer: TokenIssuer, verifier: TokenVerifier
) -> None:
    token, _ = issuer.issue("alice", [])
    first = verifier.verify(token)
    assert verifier.verify(token) is first


def test_a_cached_token_expires(
    issuer: TokenIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    token, _ = issuer.issue("alice", [])
    verifier.verify(token)
    clock.advance(TTL - 1)
    assert verifier.verify(token)
    clock.advance(6)
    assert refused(verifier, token) == "expired"
    assert refused(verifier, token) == "expired"  # also once dropped from the cache


def test_a_cached_token_is_not_valid_when_the_clock_goes_back(
    issuer: TokenIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    token, _ = issuer.issue("alice", [])
    verifier.verify(token)
    clock.advance(-60)
    assert refused(verifier, token) == "not_yet_valid"
    clock.advance(60)
    assert verifier.verify(token)


def test_the_cache_is_bounded(keys: SigningKeys, issuer: TokenIssuer, clock: FakeClock) -> None:
    verifier = TokenVerifier(NODE, keys, clock=clock, cache_size=2)
    first, second, third = (issuer.issue("alice", [])[0] for _ in range(3))
    kept = verifier.verify(first)
    dropped = verifier.verify(second)
    assert verifier.verify(first) is kept  # first is now the most recently used
    verifier.verify(third)  # evicts second, the least recently used
    assert verifier.verify(first) is kept
    again = verifier.verify(second)  # verified afresh
    assert again == dropped
    assert again is not dropped


def test_no_cache_when_its_size_is_zero(
    keys: SigningKeys, issuer: TokenIssuer, clock: FakeClock
) -> None:
    verifier = TokenVerifier(NODE, keys, clock=clock, cache_size=0)
    token, _ = issuer.issue("alice", [])
    first = verifier.verify(token)
    second = verifier.verify(token)
    assert first == second
    assert first is not second


# --- rotation and pruning -----------------------------------------------------------------


def test_rotation_keeps_earlier_tokens_valid_until_the_old_key_retires(
    issuer: TokenIssuer, keys: SigningKeys, clock: FakeClock
) -> None:
    fresh = TokenVerifier(NODE, keys, clock=clock, cache_size=0)
    cached = TokenVerifier(NODE, keys, clock=clock)
    old_token, old_claims = issuer.issue("alice", [])
    cached.verify(old_token)
    new_kid = keys.rotate(keep_previous_s=60)
    new_token, new_claims = issuer.issue("alice", [])
    assert new_claims.key_id == new_kid != old_claims.key_id
    for verifier in (fresh, cached):
        assert verifier.verify(old_token) == old_claims
        assert verifier.verify(new_token) == new_claims
    clock.advance(60)  # the old key retires; its token has not expired yet
    for verifier in (fresh, cached):
        assert refused(verifier, old_token) == "unknown_key"
        assert verifier.verify(new_token) == new_claims


def test_a_pruned_key_invalidates_its_cached_tokens(
    issuer: TokenIssuer, keys: SigningKeys, clock: FakeClock, verifier: TokenVerifier
) -> None:
    token, claims = issuer.issue("alice", [])
    verifier.verify(token)
    keys.rotate(keep_previous_s=10)
    clock.advance(10)
    assert keys.prune() == [claims.key_id]
    assert refused(verifier, token) == "unknown_key"
    assert refused(TokenVerifier(NODE, keys, clock=clock), token) == "unknown_key"
