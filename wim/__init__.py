"""The WAN infrastructure manager: connectivity services between PoPs and border points.

- ``graph``: the node's WAN, ``WanGraph`` of ``WanLink``s.
- ``services``: requests, handles and statuses of connectivity services.
- ``paths``: routes under bandwidth and latency constraints.
- ``admission``: the ledger of bandwidth booked per link.
- ``store``: the ``BookingStore`` protocol that keeps services across restarts.
- ``drivers``: the ``WimDriver`` protocol and the capacity-only driver.
- ``manager``: ``Wim``, which ties them together.
"""

from wim.admission import AdmissionLedger, Booking
from wim.drivers import CapacityOnlyDriver, WimDriver
from wim.graph import WanGraph, WanLink
from wim.manager import Wim
from wim.paths import FreeBandwidth, Hop, Route, compute_route
from wim.services import (
    ConnectionPoint,
    ConnectivityHandle,
    ConnectivityRequest,
    Segment,
    ServiceStatus,
)
from wim.store import BookingStore

__all__ = [
    "AdmissionLedger",
    "Booking",
    "BookingStore",
    "CapacityOnlyDriver",
    "ConnectionPoint",
    "ConnectivityHandle",
    "ConnectivityRequest",
    "FreeBandwidth",
    "Hop",
    "Route",
    "Segment",
    "ServiceStatus",
    "WanGraph",
    "WanLink",
    "Wim",
    "WimDriver",
    "compute_route",
]
