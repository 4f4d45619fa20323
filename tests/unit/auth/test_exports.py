"""The auth package's public names are pinned: changing them is a deliberate act."""

from __future__ import annotations

import spfed.auth


def test_public_names() -> None:
    assert sorted(spfed.auth.__all__) == [
        "ALGORITHMS",
        "ASSERTION_TYPE",
        "AssertionClaims",
        "Attempt",
        "AttemptLimiter",
        "DEFAULT_SCRYPT",
        "MAX_TTL_S",
        "REJECTIONS",
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
    for name in spfed.auth.__all__:
        assert getattr(spfed.auth, name) is not None


def test_the_algorithm_allow_list_is_eddsa_only() -> None:
    assert spfed.auth.ALGORITHMS == ("EdDSA",)
    assert spfed.auth.tokens.ALGORITHMS is spfed.auth.ALGORITHMS
    assert spfed.auth.tokens.TokenRejected is spfed.auth.TokenRejected
