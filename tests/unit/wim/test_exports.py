"""Pins the public names of ``wim`` and ``wim.drivers``: changing them is an API change."""

from __future__ import annotations

import wim
import wim.drivers


def test_public_names() -> None:
    assert sorted(wim.__all__) == [
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
    for name in wim.__all__:
        assert getattr(wim, name) is not None


def test_driver_names() -> None:
    assert sorted(wim.drivers.__all__) == [
        "CapacityOnlyDriver",
        "NetnsWimDriver",
        "WimDriver",
        "default_prefix",
        "wan_gateways",
    ]
