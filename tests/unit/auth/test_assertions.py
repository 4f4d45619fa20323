"""Client assertions of service accounts (RFC 7523): make, read the subject, verify, refuse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from spfed.auth import (
    ASSERTION_TYPE,
    AssertionClaims,
    TokenRejected,
    assertion_subject,
    generate_key,
    key_id,
    make_assertion,
    verify_assertion,
)
from spfed.errors import InvalidArgument
from tests.forge import FakeClock, compact, segment, signed, signed_text, unb64url

ACCOUNT = "billing-bot"
NODE = "edge-be"


@pytest.fixture
def account_key() -> Ed25519PrivateKey:
    return generate_key()


def refused(assertion: str, key: Ed25519PrivateKey, clock: FakeClock, **options: Any) -> str:
    """The rejection code of ``verify_assertion``; fails if it accepts."""
    with pytest.raises(TokenRejected) as info:
        verify_assertion(assertion, NODE, key.public_key(), clock=clock, **options)
    return info.value.rejection


def claims_of(clock: FakeClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now)
    claims: dict[str, Any] = {
        "iss": ACCOUNT,
        "sub": ACCOUNT,
        "aud": NODE,
        "iat": now,
        "exp": now + 60,
        "jti": "b2c4e6a8",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def account_signed(key: Ed25519PrivateKey, payload: dict[str, Any], **header: Any) -> str:
    base = {"alg": "EdDSA", "typ": "JWT", "kid": key_id(key.public_key())}
    return signed({**base, **header}, payload, key)


def test_assertion_type_is_rfc_7523() -> None:
    assert ASSERTION_TYPE == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_round_trip(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    assertion = make_assertion(ACCOUNT, NODE, account_key, clock=clock)
    assert assertion_subject(assertion) == ACCOUNT
    claims = verify_assertion(assertion, NODE, account_key.public_key(), clock=clock)
    assert claims == AssertionClaims(
        subject=ACCOUNT, token_id=claims.token_id, expires_at=clock.now + 60
    )
    assert len(unb64url(claims.token_id)) == 16


def test_made_assertion_has_the_documented_header_and_claims(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    assertion = make_assertion(ACCOUNT, NODE, account_key, lifetime_s=30, clock=clock)
    header, payload, _ = assertion.split(".")
    assert json.loads(unb64url(header)) == {
        "alg": "EdDSA",
        "typ": "JWT",
        "kid": key_id(account_key.public_key()),
    }
    claims = json.loads(unb64url(payload))
    assert claims == {
        "iss": ACCOUNT,
        "sub": ACCOUNT,
        "aud": NODE,
        "iat": int(clock.now),
        "exp": int(clock.now) + 30,
        "jti": claims["jti"],
    }


def test_each_assertion_has_its_own_jti(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    ids = {
        verify_assertion(
            make_assertion(ACCOUNT, NODE, account_key, clock=clock),
            NODE,
            account_key.public_key(),
            clock=clock,
        ).token_id
        for _ in range(20)
    }
    assert len(ids) == 20


@pytest.mark.parametrize(
    "arguments",
    [
        {"account": ""},
        {"audience": ""},
        {"lifetime_s": 0.0},
        {"lifetime_s": -5.0},
        {"lifetime_s": float("nan")},
    ],
)
def test_make_assertion_refuses_bad_arguments(
    account_key: Ed25519PrivateKey, arguments: dict[str, Any]
) -> None:
    call: dict[str, Any] = {"account": ACCOUNT, "audience": NODE, **arguments}
    with pytest.raises(InvalidArgument):
        make_assertion(call.pop("account"), call.pop("audience"), account_key, **call)


# --- assertion_subject --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assertion", "rejection"),
    [
        ("", "no_token"),
        ("garbage", "malformed"),
        ("e30.e30.e30.e30", "malformed"),
        (f"{segment({'alg': 'EdDSA'})}.Zm9v.", "malformed"),  # payload "foo"
        (compact({"alg": "none"}, {"sub": ACCOUNT}), "bad_algorithm"),
        (compact({"alg": "EdDSA"}, {"iss": ACCOUNT}), "missing_claim"),
        (compact({"alg": "EdDSA"}, {"sub": ""}), "missing_claim"),
        (compact({"alg": "EdDSA"}, {"sub": 5}), "missing_claim"),
    ],
)
def test_assertion_subject_refuses(assertion: str, rejection: str) -> None:
    with pytest.raises(TokenRejected) as info:
        assertion_subject(assertion)
    assert info.value.rejection == rejection


def test_assertion_subject_does_not_verify(clock: FakeClock) -> None:
    forged = compact({"alg": "EdDSA"}, claims_of(clock, sub="admin"), b"\x00" * 64)
    assert assertion_subject(forged) == "admin"


# --- verify_assertion ---------------------------------------------------------------------


def test_wrong_audience(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    assertion = make_assertion(ACCOUNT, "wholesale-eu", account_key, clock=clock)
    assert refused(assertion, account_key, clock) == "wrong_audience"


def test_a_list_of_just_the_node_is_accepted(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    assertion = account_signed(account_key, claims_of(clock, aud=[NODE]))
    assert verify_assertion(assertion, NODE, account_key.public_key(), clock=clock)
    other = account_signed(account_key, claims_of(clock, aud=["other"]))
    assert refused(other, account_key, clock) == "wrong_audience"


@pytest.mark.parametrize(
    "audience",
    [["other", NODE], [NODE, "other"], [NODE, NODE], [[NODE]], {"node": NODE}, 7],
)
def test_an_assertion_for_several_audiences_or_no_plain_one_is_refused(
    account_key: Ed25519PrivateKey, clock: FakeClock, audience: Any
) -> None:
    """Each node keeps its own used ``jti``: one assertion for two nodes would sign in at both."""
    assertion = account_signed(account_key, claims_of(clock, aud=audience))
    assert refused(assertion, account_key, clock) == "wrong_audience"


def test_tampered_claims_have_a_bad_signature(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    header, payload, signature = make_assertion(ACCOUNT, NODE, account_key, clock=clock).split(".")
    claims = json.loads(unb64url(payload))
    for change in ({"sub": "root", "iss": "root"}, {"exp": claims["exp"] + 30}):
        forged = f"{header}.{segment({**claims, **change})}.{signature}"
        assert refused(forged, account_key, clock) == "bad_signature"


def test_a_lifetime_too_long_is_refused(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    ok = make_assertion(ACCOUNT, NODE, account_key, lifetime_s=300, clock=clock)
    assert verify_assertion(ok, NODE, account_key.public_key(), clock=clock)
    long = make_assertion(ACCOUNT, NODE, account_key, lifetime_s=301, clock=clock)
    assert refused(long, account_key, clock) == "too_long_lived"
    assert refused(ok, account_key, clock, max_lifetime_s=120) == "too_long_lived"


def test_issued_in_the_future_is_refused(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    ahead = FakeClock(clock.now + 60)
    assertion = make_assertion(ACCOUNT, NODE, account_key, clock=ahead)
    assert refused(assertion, account_key, clock) == "not_yet_valid"
    within_leeway = make_assertion(ACCOUNT, NODE, account_key, clock=FakeClock(clock.now + 5))
    assert verify_assertion(within_leeway, NODE, account_key.public_key(), clock=clock)


def test_a_future_nbf_is_refused(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    assertion = account_signed(account_key, claims_of(clock, nbf=int(clock.now) + 30))
    assert refused(assertion, account_key, clock) == "not_yet_valid"


def test_an_expired_assertion_is_refused(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    assertion = make_assertion(ACCOUNT, NODE, account_key, lifetime_s=60, clock=clock)
    clock.advance(64)
    assert verify_assertion(assertion, NODE, account_key.public_key(), clock=clock)
    clock.advance(1)
    assert refused(assertion, account_key, clock) == "expired"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256"])
def test_other_algorithms_are_refused(
    account_key: Ed25519PrivateKey, clock: FakeClock, alg: str
) -> None:
    assertion = compact({"alg": alg, "typ": "JWT"}, claims_of(clock))
    assert refused(assertion, account_key, clock) == "bad_algorithm"


def test_an_assertion_signed_by_another_key_is_refused(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    stranger = generate_key()
    assertion = make_assertion(ACCOUNT, NODE, stranger, clock=clock)
    assert refused(assertion, account_key, clock) == "unknown_key"
    # without a kid to tell, the signature gives it away
    anonymous = signed({"alg": "EdDSA"}, claims_of(clock), stranger)
    assert refused(anonymous, account_key, clock) == "bad_signature"
    # and a stranger claiming the registered kid too
    claiming = signed(
        {"alg": "EdDSA", "kid": key_id(account_key.public_key())}, claims_of(clock), stranger
    )
    assert refused(claiming, account_key, clock) == "bad_signature"


def test_an_assertion_without_kid_signed_by_the_key_is_accepted(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    assertion = signed({"alg": "EdDSA"}, claims_of(clock), account_key)
    assert verify_assertion(assertion, NODE, account_key.public_key(), clock=clock).subject == (
        ACCOUNT
    )


def test_issuer_must_be_the_subject(account_key: Ed25519PrivateKey, clock: FakeClock) -> None:
    assertion = account_signed(account_key, claims_of(clock, iss="someone-else"))
    assert refused(assertion, account_key, clock) == "wrong_issuer"


@pytest.mark.parametrize(
    "change",
    [
        {"iss": None},
        {"sub": None},
        {"aud": None},
        {"iat": None},
        {"exp": None},
        {"jti": None},
        {"jti": ""},
        {"jti": 7},
        {"jti": "j" * 129},
        {"jti": "j" * 200},
        {"jti": "has space"},
        {"jti": "caf\u00e9"},
        {"jti": "line\nbreak"},
        {"sub": "", "iss": ""},
        {"exp": "later"},
        {"nbf": "never"},
    ],
)
def test_missing_claims_are_refused(
    account_key: Ed25519PrivateKey, clock: FakeClock, change: dict[str, Any]
) -> None:
    assertion = account_signed(account_key, claims_of(clock, **change))
    assert refused(assertion, account_key, clock) == "missing_claim"


def test_a_jti_of_128_visible_characters_is_accepted(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    jti = ("abcXYZ019-_.~:/+=!" * 8)[:128]
    assertion = account_signed(account_key, claims_of(clock, jti=jti))
    assert verify_assertion(assertion, NODE, account_key.public_key(), clock=clock).token_id == jti


def test_a_claim_named_twice_is_refused_before_the_signature(
    account_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    """Readers disagree on which of two ``sub`` counts: the token is refused outright."""
    payload = json.dumps(claims_of(clock))[:-1] + ', "sub": "admin"}'
    header = json.dumps({"alg": "EdDSA", "typ": "JWT", "kid": key_id(account_key.public_key())})
    assertion = signed_text(header, payload, account_key)
    assert refused(assertion, account_key, clock) == "malformed"
    with pytest.raises(TokenRejected) as info:
        assertion_subject(assertion)
    assert info.value.rejection == "malformed"
