"""Password hashes with scrypt, and a verify that takes as long for unknown accounts.

A hash is one string that carries its own parameters::

    scrypt$<log_n>$<r>$<p>$<salt, base64url>$<key, base64url>

with a 16-byte random salt and a 32-byte key, so the defaults can be raised
later without invalidating stored hashes (see ``needs_rehash``). Passwords are
NFKC-normalised before hashing (NIST SP 800-63B §5.1.1.2), so the same
password typed on different systems matches.

Hashing and verifying cost tens of milliseconds of CPU and tens of MiB of
memory at the defaults: callers run them in a thread (``asyncio.to_thread``).
Nothing here touches asyncio; the only shared state, the dummy hash of
``verify_unknown``, is built under a lock.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import unicodedata
from dataclasses import dataclass

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from spfed.errors import InvalidArgument

__all__ = [
    "DEFAULT_SCRYPT",
    "MAX_PASSWORD_BYTES",
    "ScryptParams",
    "hash_password",
    "needs_rehash",
    "verify_password",
    "verify_unknown",
]

MAX_PASSWORD_BYTES = 4096
"""Longest accepted password, in UTF-8 bytes after normalisation."""

_SCHEME = "scrypt"
_SALT_BYTES = 16
_KEY_BYTES = 32
_MIN_LOG_N, _MAX_LOG_N = 10, 20
_MAX_MEMORY = 1 << 30
"""Bytes scrypt may use (128·r·N): what log_n 20 needs at r = 8, and no more."""
_MAX_WORK = 1 << 23
"""Bound on N·r·p (32 times the default, about 4 s), so a stored hash cannot take minutes."""


@dataclass(frozen=True)
class ScryptParams:
    """Cost parameters of scrypt (RFC 7914); the defaults take about 50 ms and 32 MiB."""

    log_n: int = 15
    """Base-2 logarithm of the CPU/memory cost N, in 10..20."""
    r: int = 8
    """Block size."""
    p: int = 1
    """Parallelisation."""

    def __post_init__(self) -> None:
        """Raises ``InvalidArgument`` for parameters outside the accepted bounds."""
        for name in ("log_n", "r", "p"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgument(f"scrypt {name} must be a positive integer, not {value!r}")
        if not _MIN_LOG_N <= self.log_n <= _MAX_LOG_N:
            raise InvalidArgument(f"scrypt log_n must be in {_MIN_LOG_N}..{_MAX_LOG_N}")
        if 128 * self.r * (1 << self.log_n) > _MAX_MEMORY:
            raise InvalidArgument("scrypt parameters need more than 1 GiB")
        if (1 << self.log_n) * self.r * self.p > _MAX_WORK:
            raise InvalidArgument("scrypt parameters cost more than 32 times the default")


DEFAULT_SCRYPT = ScryptParams()
"""The parameters new hashes are made with."""


def hash_password(password: str, params: ScryptParams = DEFAULT_SCRYPT) -> str:
    """The encoded scrypt hash of ``password`` with a fresh random salt.

    Raises:
        InvalidArgument: ``password`` is empty, longer than ``MAX_PASSWORD_BYTES``, contains
            a NUL character or is not encodable as UTF-8.
    """
    material = _password_bytes(password)
    if not material:
        raise InvalidArgument("the password is empty")
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _kdf(salt, params).derive(material)
    return "$".join(
        (_SCHEME, str(params.log_n), str(params.r), str(params.p), _b64(salt), _b64(key))
    )


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` is the one ``encoded`` was made from.

    Recomputes with the parameters stored in ``encoded`` and compares in constant time.
    Never raises: a malformed hash, parameters outside the accepted bounds, or a password
    that could not have been hashed give ``False``.
    """
    parsed = _parse(encoded)
    if parsed is None:
        return False
    params, salt, expected = parsed
    try:
        material = _password_bytes(password)
    except InvalidArgument:
        return False
    if not material:
        return False
    actual = _kdf(salt, params, len(expected)).derive(material)
    return hmac.compare_digest(actual, expected)


def verify_unknown(password: str, params: ScryptParams = DEFAULT_SCRYPT) -> bool:
    """``False``, after as much work as verifying ``password`` against a hash made with ``params``.

    Call it when the account does not exist, so that an unknown account cannot be told from
    a wrong password by the time the answer takes; pass the parameters real hashes are made
    with. The dummy hash for each ``params`` is built on first use.
    """
    verify_password(password, _dummy_hash(params))
    return False


def needs_rehash(encoded: str, params: ScryptParams = DEFAULT_SCRYPT) -> bool:
    """Whether ``encoded`` was made with other parameters than ``params`` (or is malformed).

    After a successful verify, a caller may store a fresh ``hash_password`` when this is
    true, to move old hashes to the current cost.
    """
    parsed = _parse(encoded)
    return parsed is None or parsed[0] != params


_dummy_lock = threading.Lock()
_dummies: dict[ScryptParams, str] = {}
"""A hash of a random password per parameter set, for ``verify_unknown``."""


def _dummy_hash(params: ScryptParams) -> str:
    with _dummy_lock:  # threads calling at once build it once
        dummy = _dummies.get(params)
        if dummy is None:
            dummy = _dummies[params] = hash_password(secrets.token_urlsafe(32), params)
        return dummy


def _password_bytes(password: str) -> bytes:
    try:
        material = unicodedata.normalize("NFKC", password).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as error:
        raise InvalidArgument("the password is not valid text") from error
    if len(material) > MAX_PASSWORD_BYTES:
        raise InvalidArgument(f"the password is longer than {MAX_PASSWORD_BYTES} bytes")
    if b"\x00" in material:
        # scrypt keys HMAC with the password, and HMAC pads keys with NULs: "pw" and "pw\0"
        # would be the same password
        raise InvalidArgument("the password contains a NUL character")
    return material


def _kdf(salt: bytes, params: ScryptParams, length: int = _KEY_BYTES) -> Scrypt:
    return Scrypt(salt=salt, length=length, n=1 << params.log_n, r=params.r, p=params.p)


def _parse(encoded: str) -> tuple[ScryptParams, bytes, bytes] | None:
    """Parameters, salt and key of a well-formed hash within bounds, else ``None``."""
    if not isinstance(encoded, str) or len(encoded) > 512:
        return None
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:
        return None
    numbers = parts[1:4]
    if not all(text.isascii() and text.isdigit() and len(text) <= 3 for text in numbers):
        return None
    try:
        params = ScryptParams(*(int(text) for text in numbers))
    except InvalidArgument:
        return None
    salt, key = _unb64(parts[4]), _unb64(parts[5])
    if salt is None or key is None or len(salt) < _SALT_BYTES or len(key) != _KEY_BYTES:
        return None
    return params, salt, key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    if not text.isascii() or len(text) % 4 == 1:
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    # reject non-canonical spellings (stray characters, set padding bits)
    return data if _b64(data) == text else None
