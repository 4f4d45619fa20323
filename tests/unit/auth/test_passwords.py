"""scrypt password hashes: the format, verification, malformed hashes, and unknown accounts."""

from __future__ import annotations

import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import pytest

from spfed.auth import (
    DEFAULT_SCRYPT,
    ScryptParams,
    hash_password,
    needs_rehash,
    verify_password,
    verify_unknown,
)
from spfed.errors import InvalidArgument
from tests.forge import unb64url

FAST = ScryptParams(log_n=10)
"""Cheap parameters: the tests check behaviour, not cost."""


def test_defaults_hash_and_verify() -> None:
    assert ScryptParams(log_n=15, r=8, p=1) == DEFAULT_SCRYPT
    encoded = hash_password("correct horse battery staple")
    assert encoded.startswith("scrypt$15$8$1$")
    assert verify_password("correct horse battery staple", encoded)
    assert not verify_password("correct horse battery stapler", encoded)
    assert not needs_rehash(encoded)


def test_encoding_carries_parameters_salt_and_key() -> None:
    encoded = hash_password("s3cret", ScryptParams(log_n=11, r=4, p=2))
    scheme, log_n, r, p, salt, key = encoded.split("$")
    assert (scheme, log_n, r, p) == ("scrypt", "11", "4", "2")
    assert len(unb64url(salt)) == 16
    assert len(unb64url(key)) == 32
    assert "=" not in salt + key
    assert verify_password("s3cret", encoded)


def test_the_same_password_hashes_differently_each_time() -> None:
    first, second = hash_password("pw", FAST), hash_password("pw", FAST)
    assert first != second
    assert verify_password("pw", first)
    assert verify_password("pw", second)


@pytest.mark.parametrize("attempt", ["", "pw ", "PW", "p", "pw\x00"])
def test_other_passwords_do_not_verify(attempt: str) -> None:
    assert not verify_password(attempt, hash_password("pw", FAST))


def test_unicode_passwords_are_normalised() -> None:
    composed = unicodedata.normalize("NFC", "café ﬁne")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    encoded = hash_password(composed, FAST)
    assert verify_password(decomposed, encoded)
    assert verify_password("café fine", encoded)  # NFKC folds the ligature


@pytest.mark.parametrize("password", ["", "x" * 4097, "\ud800", "pw\x00"])
def test_hash_password_refuses_empty_overlong_or_unencodable_passwords(password: str) -> None:
    with pytest.raises(InvalidArgument):
        hash_password(password, FAST)


def test_verify_password_is_false_for_unhashable_passwords() -> None:
    encoded = hash_password("pw", FAST)
    assert not verify_password("x" * 5000, encoded)
    assert not verify_password("\ud800", encoded)
    # HMAC pads its key with NULs, so scrypt alone would take "pw\0" for "pw"
    assert not verify_password("pw\x00", encoded)


GOOD = hash_password("pw", FAST)
_, _, _, _, GOOD_SALT, GOOD_KEY = GOOD.split("$")


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "scrypt",
        "pw",
        GOOD + "$",
        GOOD.replace("scrypt$", "bcrypt$", 1),
        GOOD.replace("scrypt$10$", "scrypt$9$", 1),  # below the accepted cost
        GOOD.replace("scrypt$10$", "scrypt$21$", 1),
        GOOD.replace("scrypt$10$", "scrypt$64$", 1),
        GOOD.replace("scrypt$10$", "scrypt$-1$", 1),
        GOOD.replace("scrypt$10$", "scrypt$1e1$", 1),
        GOOD.replace("scrypt$10$", "scrypt$\u0661\u0660$", 1),  # Arabic-Indic digits
        GOOD.replace("scrypt$10$8$", "scrypt$10$0$", 1),
        GOOD.replace("scrypt$10$8$1$", "scrypt$10$8$0$", 1),
        GOOD.replace("scrypt$10$8$1$", "scrypt$10$8$99999999$", 1),
        f"scrypt$10$8$1$$${GOOD_KEY}",
        f"scrypt$10$8$1${GOOD_SALT}$",
        f"scrypt$10$8$1${GOOD_SALT[:10]}${GOOD_KEY}",  # salt too short
        f"scrypt$10$8$1${GOOD_SALT}${GOOD_KEY[:-4]}",  # key too short
        f"scrypt$10$8$1${GOOD_SALT}${GOOD_KEY}AAAA",  # key too long
        f"scrypt$10$8$1${GOOD_SALT}=${GOOD_KEY}",  # padding
        f"scrypt$10$8$1${GOOD_SALT}${GOOD_KEY[:-1]}!",  # outside the alphabet
        f"scrypt$10$8$1${GOOD_SALT}${GOOD_KEY[:-1]}é",
        "scrypt$" + "1" * 1000,
    ],
)
def test_malformed_hashes_verify_false_without_raising(encoded: str) -> None:
    assert verify_password("pw", GOOD)
    assert not verify_password("pw", encoded)
    assert needs_rehash(encoded)


def test_a_crafted_hash_cannot_ask_for_unbounded_work() -> None:
    # each would need 2 GiB or a minute of CPU: refused before any work
    for crafted in (
        f"scrypt$20$16$1${GOOD_SALT}${GOOD_KEY}",
        f"scrypt$15$8$999${GOOD_SALT}${GOOD_KEY}",
        f"scrypt$14$999$1${GOOD_SALT}${GOOD_KEY}",
    ):
        started = time.monotonic()
        assert not verify_password("pw", crafted)
        assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    "arguments",
    [
        {"log_n": 9},
        {"log_n": 21},
        {"log_n": 0},
        {"r": 0},
        {"p": 0},
        {"p": -1},
        {"log_n": 20, "r": 16},  # 2 GiB
        {"log_n": 15, "r": 8, "p": 64},  # 64 times the default work
    ],
)
def test_scrypt_params_are_bounded(arguments: dict[str, int]) -> None:
    with pytest.raises(InvalidArgument):
        ScryptParams(**arguments)


def test_the_whole_log_n_range_is_accepted_at_the_default_block_size() -> None:
    assert ScryptParams(log_n=10).log_n == 10
    assert ScryptParams(log_n=20).log_n == 20


def test_needs_rehash_compares_parameters() -> None:
    encoded = hash_password("pw", FAST)
    assert not needs_rehash(encoded, FAST)
    assert needs_rehash(encoded)
    assert needs_rehash(encoded, ScryptParams(log_n=10, r=4))


def test_verify_unknown_is_false() -> None:
    assert verify_unknown("anything", FAST) is False
    assert verify_unknown("", FAST) is False


def test_verify_unknown_with_defaults_works_from_many_threads() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(verify_unknown, ["a", "b", "c", "d"]))
    assert results == [False] * 4
