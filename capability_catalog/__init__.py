"""The capability catalogue: what a node publishes, and what it learns from below.

Catalogues are publications, not queries: a node pushes a new signed version
to its subscribers whenever what it can deliver changes, re-publishes its
lower SPs' offers as its own without naming them, and uses a lower SP's
offers only while a version it verified is valid.
"""

from capability_catalog.builder import (
    Offering,
    OfferKey,
    PopCapacity,
    build_catalogue,
    offer_keys,
)
from capability_catalog.publisher import CataloguePublisher, OwnCatalogueStore
from capability_catalog.signing import REASONS, CatalogueRejected, CatalogueSigner, check_signed
from capability_catalog.subscriber import (
    CatalogueSource,
    CatalogueSubscriber,
    LowerCatalogueState,
    ReceivedCatalogueStore,
)
from capability_catalog.withdrawals import Withdrawals, WithdrawalStore

__all__ = [
    "REASONS",
    "CataloguePublisher",
    "CatalogueRejected",
    "CatalogueSigner",
    "CatalogueSource",
    "CatalogueSubscriber",
    "LowerCatalogueState",
    "OfferKey",
    "Offering",
    "OwnCatalogueStore",
    "PopCapacity",
    "ReceivedCatalogueStore",
    "WithdrawalStore",
    "Withdrawals",
    "build_catalogue",
    "check_signed",
    "offer_keys",
]
