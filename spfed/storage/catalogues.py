"""Catalogues: the node's own signed versions, those received from lower SPs, and
the offers its operator withdrew."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from spfed.model import DescriptorRef, OfferKind, SignedCatalogue
from spfed.storage import _codecs as codec
from spfed.storage._upsert import upsert
from spfed.storage.database import Database
from spfed.storage.schema import catalogue_versions, withdrawn_offers

__all__ = ["CatalogueStore", "WithdrawalStore"]

_PUT = upsert(catalogue_versions)
_W = withdrawn_offers.c


class CatalogueStore:
    """The latest signed version per publisher: the node's own, and each lower SP's."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, signed: SignedCatalogue, *, own: bool) -> None:
        """Keep ``signed`` as the latest version of its publisher."""
        catalogue = signed.catalogue
        row = {
            "publisher": catalogue.publisher,
            "own": own,
            "version": catalogue.version,
            "catalogue": codec.dump(codec.CATALOGUE, catalogue),
            "received_at": datetime.now(UTC),
            "payload": signed.payload,
            "signature": signed.signature,
            "key_id": signed.key_id,
        }
        await self._db.run(lambda conn: _PUT(conn, row))

    async def latest(self, publisher: str, *, own: bool) -> SignedCatalogue | None:
        """The latest stored version of a publisher, if any."""

        def run(conn: Connection) -> SignedCatalogue | None:
            row = conn.execute(
                select(catalogue_versions).where(
                    catalogue_versions.c.publisher == publisher, catalogue_versions.c.own == own
                )
            ).first()
            if row is None or row.payload is None:
                return None
            return SignedCatalogue(
                codec.load(codec.CATALOGUE, row.catalogue),
                bytes(row.payload),
                bytes(row.signature),
                row.key_id or "",
            )

        return await self._db.run(run)


class WithdrawalStore:
    """Offers the node's operator withdrew from its catalogue."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def all(self) -> frozenset[tuple[OfferKind, DescriptorRef]]:
        """Every withdrawn offer."""

        def run(conn: Connection) -> frozenset[tuple[OfferKind, DescriptorRef]]:
            rows = conn.execute(select(withdrawn_offers))
            return frozenset(
                (OfferKind(r.kind), DescriptorRef(r.vendor, r.name, r.version)) for r in rows
            )

        return await self._db.run(run)

    async def withdraw(self, kind: OfferKind, ref: DescriptorRef) -> None:
        """Withdraw an offer (again: no change)."""

        def run(conn: Connection) -> None:
            key = (_W.kind == kind.value) & (_W.vendor == ref.vendor) & (_W.name == ref.name)
            conn.execute(delete(withdrawn_offers).where(key & (_W.version == ref.version)))
            conn.execute(
                insert(withdrawn_offers).values(
                    kind=kind.value,
                    vendor=ref.vendor,
                    name=ref.name,
                    version=ref.version,
                    withdrawn_at=datetime.now(UTC),
                )
            )

        await self._db.run(run)

    async def restore(self, kind: OfferKind, ref: DescriptorRef) -> bool:
        """Offer it again; whether it was withdrawn."""

        def run(conn: Connection) -> bool:
            done = conn.execute(
                delete(withdrawn_offers).where(
                    (_W.kind == kind.value)
                    & (_W.vendor == ref.vendor)
                    & (_W.name == ref.name)
                    & (_W.version == ref.version)
                )
            )
            return bool(done.rowcount)

        return await self._db.run(run)
