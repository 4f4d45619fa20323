"""Ed25519 key files, key ids and the node's ring of token-signing keys.

A key id is the RFC 7638 JWK thumbprint of the public key, so anyone holding
the public key computes the same id without being told it.

``SigningKeys`` keeps the node's own signing keys in one directory::

    signing-keys.json          manifest: {"version": 1, "keys": [{kid, created, retire_at}]}
    signing-<kid>.pem          one PKCS8 private key per listed kid, mode 0600

The newest key signs; older keys still verify until their ``retire_at``
(``null``: indefinitely). Rotation writes the new key file first and then the
manifest, pruning writes the manifest first and then deletes files, so a crash
at any point leaves at worst an unlisted file, never a listed key that is
missing. The manifest is the truth; unlisted files are ignored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeGuard

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from spfed.auth._files import ensure_private_dir, write_atomically
from spfed.errors import FailedPrecondition, InvalidArgument

__all__ = [
    "MANIFEST_NAME",
    "SigningKeys",
    "generate_key",
    "key_id",
    "load_private_key",
    "parse_public_key",
    "private_key_pem",
    "public_key_pem",
    "write_private_key",
]

MANIFEST_NAME = "signing-keys.json"
"""File name of the manifest inside a ``SigningKeys`` directory."""

_MANIFEST_VERSION = 1
_KID = re.compile(r"[A-Za-z0-9_-]{43}")
"""A base64url SHA-256 without padding; also keeps a corrupt manifest from naming other paths."""


def generate_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def key_id(public: Ed25519PublicKey) -> str:
    """The RFC 7638 JWK thumbprint of ``public`` (SHA-256, base64url without padding)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # RFC 7638 §3: required members only, in lexicographic order, no whitespace
    jwk = f'{{"crv":"Ed25519","kty":"OKP","x":"{_b64url(raw)}"}}'
    return _b64url(hashlib.sha256(jwk.encode("ascii")).digest())


def private_key_pem(key: Ed25519PrivateKey) -> str:
    """``key`` as an unencrypted PKCS8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def public_key_pem(public: Ed25519PublicKey) -> str:
    """``public`` as a SubjectPublicKeyInfo PEM."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the unencrypted PEM file at ``path``.

    Raises:
        FailedPrecondition: naming ``path``, when the file is missing or unreadable, is not a
            PEM private key (or is encrypted), or holds a key of another type.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FailedPrecondition(f"cannot read key file {path}: {error.strerror}") from error
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise FailedPrecondition(
            f"key file {path} is not an unencrypted PEM private key"
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise FailedPrecondition(f"key file {path} holds a {_kind(key)} key, not Ed25519")
    return key


def parse_public_key(pem: str) -> Ed25519PublicKey:
    """The Ed25519 public key in a SubjectPublicKeyInfo PEM.

    Raises:
        InvalidArgument: ``pem`` is not a PEM public key, or not an Ed25519 one.
    """
    try:
        public = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeEncodeError, UnsupportedAlgorithm) as error:
        raise InvalidArgument("not a PEM public key") from error
    if not isinstance(public, Ed25519PublicKey):
        raise InvalidArgument(f"a {_kind(public)} public key, not Ed25519")
    return public


def write_private_key(path: str | Path, key: Ed25519PrivateKey) -> None:
    """Write ``key`` as an unencrypted PKCS8 PEM, atomically, mode ``0600``.

    Missing parent directories are created with mode ``0700``.

    Raises:
        FailedPrecondition: the directory or the file cannot be written.
    """
    write_atomically(Path(path), private_key_pem(key).encode("ascii"))


@dataclass(frozen=True)
class _SigningKey:
    kid: str
    created: float
    retire_at: float | None
    """When the key stops verifying; ``None`` while it may verify indefinitely."""
    private: Ed25519PrivateKey
    public: Ed25519PublicKey


class SigningKeys:
    """The node's token-signing keys, kept in one directory (see the module docstring).

    Meant for one event loop: every method is synchronous, and lookups are dictionary reads
    of keys loaded once. Only ``open``, ``rotate`` and ``prune`` touch the disk.
    """

    def __init__(
        self,
        directory: Path,
        keys: list[_SigningKey],
        clock: Callable[[], float],
    ) -> None:
        """Use ``open``; this takes keys already loaded, oldest first, newest (active) last."""
        self._directory = directory
        self._clock = clock
        self._keys: dict[str, _SigningKey] = {key.kid: key for key in keys}
        self._active = keys[-1]

    @classmethod
    def open(cls, directory: str | Path, *, clock: Callable[[], float] = time.time) -> SigningKeys:
        """The key ring in ``directory``, created (``0700``, with a first key) if it has none.

        ``clock`` gives the wall-clock time in seconds, as ``time.time``.

        Raises:
            FailedPrecondition: naming the file, when the directory cannot be created or
                written, the manifest is unreadable or corrupt, or a listed key file is
                unreadable, not an Ed25519 private key, or holds a key whose id is not the
                listed one.
        """
        directory = Path(directory)
        ensure_private_dir(directory)
        manifest = directory / MANIFEST_NAME
        try:
            text = manifest.read_text(encoding="utf-8")
        except FileNotFoundError:
            first = _new_key(clock())
            ring = cls(directory, [first], clock)
            ring._write_key(first)
            ring._write_manifest(list(ring._keys.values()))
            return ring
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8"
            raise FailedPrecondition(f"cannot read {manifest}: {reason}") from error
        entries = _parse_manifest(manifest, text)
        keys = [
            _load_listed(directory, kid, created, retire_at) for kid, created, retire_at in entries
        ]
        return cls(directory, keys, clock)

    @property
    def directory(self) -> Path:
        """Where the keys are kept."""
        return self._directory

    @property
    def active_kid(self) -> str:
        """Key id of the key that signs new tokens."""
        return self._active.kid

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """Key id and private key of the active key."""
        return self._active.kid, self._active.private

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key ``kid`` names if it is still usable to verify, else ``None``."""
        key = self._keys.get(kid)
        if key is None:
            return None
        if key.retire_at is not None and key.retire_at <= self._clock():
            return None
        return key.public

    def kids(self) -> list[str]:
        """Ids of the keys still usable to verify, newest first."""
        now = self._clock()
        return [
            key.kid
            for key in reversed(self._keys.values())
            if key.retire_at is None or key.retire_at > now
        ]

    def rotate(self, keep_previous_s: float) -> str:
        """Make a new key the active one and return its id.

        Every previous key retires ``keep_previous_s`` seconds from now, unless it was already
        to retire earlier; tokens it signed verify until then. The new key and the manifest
        are on disk before this returns; on failure the ring is unchanged.

        Raises:
            InvalidArgument: ``keep_previous_s`` is negative or not finite.
            FailedPrecondition: the key file or the manifest cannot be written.
        """
        if not math.isfinite(keep_previous_s) or keep_previous_s < 0:
            raise InvalidArgument(
                f"keep_previous_s must be a finite number >= 0, not {keep_previous_s}"
            )
        now = self._clock()
        retire_at = now + keep_previous_s
        previous = [
            key
            if key.retire_at is not None and key.retire_at <= retire_at
            else replace(key, retire_at=retire_at)
            for key in self._keys.values()
        ]
        new = _new_key(now)
        self._write_key(new)
        keys = [*previous, new]
        self._write_manifest(keys)
        self._keys = {key.kid: key for key in keys}
        self._active = new
        return new.kid

    def prune(self) -> list[str]:
        """Forget and delete the keys whose ``retire_at`` has passed; return their ids.

        The active key never has a ``retire_at``, so it is never pruned.

        Raises:
            FailedPrecondition: the manifest cannot be written (nothing changed), or a key
                file cannot be deleted (the key is forgotten; the stray file is ignored).
        """
        now = self._clock()
        kept: list[_SigningKey] = []
        gone: list[str] = []
        for key in self._keys.values():
            if key.retire_at is None or key.retire_at > now:
                kept.append(key)
            else:
                gone.append(key.kid)
        if not gone:
            return []
        self._write_manifest(kept)
        self._keys = {key.kid: key for key in kept}
        for kid in gone:
            path = _key_path(self._directory, kid)
            try:
                path.unlink(missing_ok=True)
            except OSError as error:
                raise FailedPrecondition(f"cannot delete {path}: {error.strerror}") from error
        return gone

    def _write_key(self, key: _SigningKey) -> None:
        write_private_key(_key_path(self._directory, key.kid), key.private)

    def _write_manifest(self, keys: list[_SigningKey]) -> None:
        document = {
            "version": _MANIFEST_VERSION,
            "keys": [
                {"kid": key.kid, "created": key.created, "retire_at": key.retire_at} for key in keys
            ],
        }
        data = json.dumps(document, indent=2).encode("utf-8") + b"\n"
        write_atomically(self._directory / MANIFEST_NAME, data)


def _new_key(created: float) -> _SigningKey:
    private = generate_key()
    public = private.public_key()
    return _SigningKey(key_id(public), created, None, private, public)


def _key_path(directory: Path, kid: str) -> Path:
    return directory / f"signing-{kid}.pem"


def _parse_manifest(manifest: Path, text: str) -> list[tuple[str, float, float | None]]:
    """(kid, created, retire_at) of every listed key, oldest first.

    Raises:
        FailedPrecondition: naming ``manifest``, when it is not a valid manifest.
    """

    def corrupt(what: str) -> FailedPrecondition:
        return FailedPrecondition(f"signing key manifest {manifest} is corrupt: {what}")

    try:
        document = json.loads(text)
    except ValueError as error:
        raise corrupt("not JSON") from error
    if not isinstance(document, dict) or document.get("version") != _MANIFEST_VERSION:
        raise corrupt(f"not a version {_MANIFEST_VERSION} manifest")
    listed = document.get("keys")
    if not isinstance(listed, list) or not listed:
        raise corrupt("'keys' is not a non-empty list")
    entries: list[tuple[str, float, float | None]] = []
    for index, entry in enumerate(listed):
        if not isinstance(entry, dict):
            raise corrupt(f"keys[{index}] is not an object")
        kid, created, retire_at = entry.get("kid"), entry.get("created"), entry.get("retire_at")
        if not isinstance(kid, str) or not _KID.fullmatch(kid):
            raise corrupt(f"keys[{index}].kid is not a key id")
        if not _is_time(created):
            raise corrupt(f"keys[{index}].created is not a time")
        if retire_at is not None and not _is_time(retire_at):
            raise corrupt(f"keys[{index}].retire_at is neither a time nor null")
        entries.append((kid, float(created), None if retire_at is None else float(retire_at)))
    if len({kid for kid, _, _ in entries}) != len(entries):
        raise corrupt("a key is listed twice")
    entries.sort(key=lambda entry: entry[1])  # stable: equal times keep the listed order
    if entries[-1][2] is not None:
        raise corrupt("the newest key, which signs, has a retire_at")
    return entries


def _is_time(value: object) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _load_listed(directory: Path, kid: str, created: float, retire_at: float | None) -> _SigningKey:
    path = _key_path(directory, kid)
    private = load_private_key(path)
    public = private.public_key()
    if key_id(public) != kid:
        raise FailedPrecondition(f"key file {path} holds a key whose id is not {kid}")
    return _SigningKey(kid, created, retire_at, private, public)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _kind(key: object) -> str:
    return type(key).__name__.removeprefix("_").removesuffix("PrivateKey").removesuffix("PublicKey")
