"""Signing catalogues, and checking the ones lower SPs push.

A publisher serialises each version deterministically and signs the bytes
with its Ed25519 identity key; the signature travels with the exact bytes
it covers, so a subscriber verifies what it received, not a re-encoding.

A subscriber accepts a version only if all of this holds, and otherwise
rejects it with one reason:

- ``wrong_key``: signed with a key other than the one configured for that
  lower SP (by key id);
- ``bad_signature``: the bytes were altered, or the signature is not the key's;
- ``wrong_publisher``: the content names another publisher;
- ``expired``: its validity has ended (or it has none);
- ``not_newer``: its version is not above the one already held (a replay of
  an older or the same version).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from spfed.auth import key_id
from spfed.errors import FailedPrecondition
from spfed.model import Catalogue, SignedCatalogue

__all__ = ["REASONS", "CatalogueRejected", "CatalogueSigner", "check_signed"]

REASONS = ("wrong_key", "bad_signature", "wrong_publisher", "expired", "not_newer", "malformed")
"""Every reason a version can be rejected for."""


class CatalogueRejected(FailedPrecondition):
    """A catalogue version that must not be used; ``rejection`` says why."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, metadata={"reason": reason})

    @property
    def rejection(self) -> str:
        """One of ``REASONS``."""
        return self.metadata["reason"]


class CatalogueSigner:
    """Signs the node's own versions with its identity key."""

    def __init__(self, key: Ed25519PrivateKey, serialise: Callable[[Catalogue], bytes]) -> None:
        self._key = key
        self._serialise = serialise
        self.key_id = key_id(key.public_key())

    def sign(self, catalogue: Catalogue) -> SignedCatalogue:
        """The version with its serialised bytes and their signature."""
        payload = self._serialise(catalogue)
        return SignedCatalogue(catalogue, payload, self._key.sign(payload), self.key_id)


def check_signed(
    signed: SignedCatalogue,
    publisher: str,
    key: Ed25519PublicKey,
    now: datetime,
    held_version: int = 0,
) -> None:
    """Accept a version of ``publisher``'s catalogue, or say why not.

    Raises:
        CatalogueRejected: see the module docstring for the reasons, checked
            in this order.
    """
    if signed.key_id != key_id(key):
        raise CatalogueRejected(
            f"signed with key {signed.key_id or '(none)'}, not {publisher}'s", "wrong_key"
        )
    try:
        key.verify(signed.signature, signed.payload)
    except InvalidSignature:
        raise CatalogueRejected(
            f"the signature of {publisher}'s catalogue does not match its content",
            "bad_signature",
        ) from None
    catalogue = signed.catalogue
    if catalogue.publisher != publisher:
        raise CatalogueRejected(
            f"a catalogue of '{catalogue.publisher}' came from {publisher}", "wrong_publisher"
        )
    if not catalogue.valid_at(now):
        until = catalogue.valid_until.isoformat() if catalogue.valid_until else "never"
        raise CatalogueRejected(
            f"version {catalogue.version} of {publisher}'s catalogue expired ({until})", "expired"
        )
    if catalogue.version <= held_version:
        raise CatalogueRejected(
            f"version {catalogue.version} of {publisher}'s catalogue is not newer than"
            f" version {held_version}",
            "not_newer",
        )
