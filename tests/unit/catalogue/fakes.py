"""Fakes behind the catalogue protocols: a memory store and scripted catalogue sources.

Catalogues are really signed: each publisher name has its own Ed25519 key.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from capability_catalog import (
    CatalogueSigner,
    CatalogueSource,
    OwnCatalogueStore,
    ReceivedCatalogueStore,
)
from spfed.model import Catalogue, Offer, OfferKind, SignedCatalogue
from spfed.wire import catalogue_payload
from tests.unit.upper_sp.builders import ref

T = datetime(2026, 3, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


@cache
def key_of(publisher: str) -> Ed25519PrivateKey:
    """The signing key of a publisher (one per name, for the whole test session)."""
    return Ed25519PrivateKey.generate()


def content_of(publisher: str, version: int, *names: str, valid_until: datetime = FAR) -> Catalogue:
    """A catalogue whose content is the function offers ``names``."""
    return Catalogue(
        publisher,
        version,
        T,
        tuple(Offer(OfferKind.NETWORK_FUNCTION, ref(n)) for n in names),
        valid_until=valid_until,
    )


def version_of(
    publisher: str,
    version: int,
    *names: str,
    valid_until: datetime = FAR,
    signed_by: str | None = None,
) -> SignedCatalogue:
    """``content_of``, signed by the publisher's key (or by ``signed_by``'s)."""
    signer = CatalogueSigner(key_of(signed_by or publisher), catalogue_payload)
    return signer.sign(content_of(publisher, version, *names, valid_until=valid_until))


def tampered(signed: SignedCatalogue) -> SignedCatalogue:
    """The same signature over altered bytes (one byte flipped)."""
    payload = bytearray(signed.payload)
    payload[-1] ^= 0x01
    return replace(signed, payload=bytes(payload))


def expired(publisher: str, version: int, *names: str) -> SignedCatalogue:
    """A version signed properly whose validity ended an hour ago."""
    return version_of(
        publisher, version, *names, valid_until=datetime.now(UTC) - timedelta(hours=1)
    )


@dataclass
class MemoryCatalogueStore:
    """Keeps the latest version per (publisher, own), like ``CatalogueStore``."""

    kept: dict[tuple[str, bool], SignedCatalogue] = field(default_factory=dict)
    saves: list[tuple[str, int, bool]] = field(default_factory=list)

    async def save(self, signed: SignedCatalogue, *, own: bool) -> None:
        await asyncio.sleep(0)
        self.saves.append((signed.catalogue.publisher, signed.catalogue.version, own))
        self.kept[signed.catalogue.publisher, own] = signed

    async def latest(self, publisher: str, *, own: bool) -> SignedCatalogue | None:
        await asyncio.sleep(0)
        return self.kept.get((publisher, own))


Item = SignedCatalogue | Exception
"""What a scripted session yields: a signed catalogue, or an error that breaks the stream."""


@dataclass
class ScriptedSource:
    """A lower SP whose ``watch_signed_catalogue`` plays one session per connection.

    A session is a list of items; after the last one the stream ends, unless it is the
    last session, which then stays open (like a healthy stream with nothing new).
    ``connects`` records the ``after_version`` of each connection.
    """

    id: str
    sessions: Sequence[Sequence[Item]]
    connects: list[int] = field(default_factory=list)
    open_streams: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    async def watch_signed_catalogue(
        self, after_version: int = 0
    ) -> AsyncIterator[SignedCatalogue]:
        index = len(self.connects)
        self.connects.append(after_version)
        self.open_streams += 1
        try:
            session = self.sessions[index] if index < len(self.sessions) else []
            for item in session:
                await asyncio.sleep(0)
                if isinstance(item, Exception):
                    raise item
                yield item
            if index >= len(self.sessions) - 1:
                self.connected.set()
                await asyncio.Event().wait()
        finally:
            self.open_streams -= 1


class RecordingRandom(random.Random):
    """A seeded ``Random`` that notes the bounds of every ``uniform`` draw."""

    def __init__(self) -> None:
        super().__init__(0)
        self.bounds: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append((a, b))
        return super().uniform(a, b)


def _conforms(
    store: MemoryCatalogueStore, source: ScriptedSource
) -> tuple[OwnCatalogueStore, ReceivedCatalogueStore, CatalogueSource]:
    return store, store, source  # mypy checks the fakes against the protocols here
