"""The storage layer: the only code that imports SQLAlchemy.

SQLite (WAL) is the embedded default; any SQLAlchemy URL works, PostgreSQL
for production. The schema evolves through Alembic migrations, applied by
``Database.migrate`` at start-up.
"""

from spfed.storage.accounts import AccountStore
from spfed.storage.addresses import AddressStore, StoredAllocation
from spfed.storage.catalogues import CatalogueStore, WithdrawalStore
from spfed.storage.database import Database, MigrationReport
from spfed.storage.handles import HandleStore
from spfed.storage.intents import IntentJournal
from spfed.storage.pop_state import PopStateTable
from spfed.storage.runs import EngineRunStore
from spfed.storage.service_runs import ServiceRunStore, StoredRun
from spfed.storage.services import NewOperation, RequestMatch, ServiceStore
from spfed.storage.slices import SliceHold, SliceStore
from spfed.storage.wim import WimConnectivityStore

__all__ = [
    "AccountStore",
    "AddressStore",
    "CatalogueStore",
    "Database",
    "EngineRunStore",
    "HandleStore",
    "IntentJournal",
    "MigrationReport",
    "NewOperation",
    "PopStateTable",
    "RequestMatch",
    "ServiceRunStore",
    "ServiceStore",
    "SliceHold",
    "SliceStore",
    "StoredAllocation",
    "StoredRun",
    "WimConnectivityStore",
    "WithdrawalStore",
]
