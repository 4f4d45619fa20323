"""The admission ledger: how much bandwidth each service books on each WAN link.

Booking is all-or-nothing and never exceeds a link's capacity: either every
link of a route has room and all are booked, or nothing is. The ledger counts
in whole bits per second (figures in Mbit/s are rounded to the nearest bit/s):
sums of integers are exact, so booking and releasing in any order leaves no
rounding residue, and three bookings of 0.1 Mbit/s fill 0.3 Mbit/s exactly,
as a person expects (in binary floating point they would exceed it).

The ledger is plain state, not thread-safe and not persistent: the WIM
serialises changes to it and stores what it books elsewhere, then hands the
stored bookings back to ``restore`` after a restart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spfed.errors import (
    AlreadyExists,
    FieldViolation,
    InvalidArgument,
    QuotaViolation,
    ResourceExhausted,
)

__all__ = ["AdmissionLedger", "Booking"]

_BPS_PER_MBPS = 1_000_000


@dataclass(frozen=True)
class Booking:
    """Bandwidth one service holds on one link."""

    service_id: str
    """The service holding it."""
    link_id: str
    """The WAN link."""
    mbps: float
    """How much (Mbit/s, ≥ 0)."""


def _bps(mbps: float) -> int:
    return round(mbps * _BPS_PER_MBPS)


class AdmissionLedger:
    """Bookings per link against fixed link capacities."""

    def __init__(self, capacities: Mapping[str, float]) -> None:
        self._capacity = dict(capacities)
        self._capacity_bps = {link: _bps(mbps) for link, mbps in self._capacity.items()}
        self._booked_bps = dict.fromkeys(self._capacity, 0)
        self._links_of: dict[str, tuple[str, ...]] = {}
        self._mbps_of: dict[str, float] = {}

    def capacity(self, link_id: str) -> float:
        """Capacity of a link (Mbit/s). Raises ``KeyError`` for an unknown link."""
        return self._capacity[link_id]

    def booked(self, link_id: str) -> float:
        """What is booked on a link (Mbit/s). Raises ``KeyError`` for an unknown link."""
        return self._booked_bps[link_id] / _BPS_PER_MBPS

    def free(self, link_id: str) -> float:
        """Capacity minus bookings (Mbit/s); negative only after ``restore`` over capacity.

        Raises ``KeyError`` for an unknown link.
        """
        return (self._capacity_bps[link_id] - self._booked_bps[link_id]) / _BPS_PER_MBPS

    def book(self, service_id: str, links: Iterable[str], mbps: float) -> None:
        """Book ``mbps`` on every one of ``links`` for a service, or nothing at all.

        A link given twice is booked once.

        Raises:
            InvalidArgument: ``mbps`` is negative or not finite, or a link is unknown.
            AlreadyExists: the service already holds bookings.
            ResourceExhausted: some links lack room; one ``QuotaViolation``
                (``wan-link:<id>``) per such link with the figures asked and free.
        """
        wanted = tuple(dict.fromkeys(links))
        self._check_new(service_id, wanted, mbps)
        asked = _bps(mbps)
        full = [
            QuotaViolation(
                f"wan-link:{link}",
                f"{mbps:g} Mbps asked; {self.free(link):g} of {self._capacity[link]:g} Mbps free",
            )
            for link in wanted
            if self._booked_bps[link] + asked > self._capacity_bps[link]
        ]
        if full:
            raise ResourceExhausted(
                f"not enough bandwidth for {service_id} on {len(full)} WAN link(s)",
                quota_violations=full,
            )
        self._hold(service_id, wanted, mbps)

    def release(self, service_id: str) -> tuple[Booking, ...]:
        """Free everything a service holds; returns what was freed (nothing if it held none)."""
        links = self._links_of.pop(service_id, ())
        mbps = self._mbps_of.pop(service_id, 0.0)
        for link in links:
            self._booked_bps[link] -= _bps(mbps)
        return tuple(Booking(service_id, link, mbps) for link in links)

    def restore(self, bookings: Iterable[Booking]) -> None:
        """Take back bookings stored before a restart, all or none.

        They are taken as they were, even beyond a capacity: a link may have
        shrunk in the configuration since, and the services holding it still
        exist. ``free`` is then negative until enough of them are released.

        Raises:
            InvalidArgument: a link is unknown, a figure is negative or not
                finite, or a service books different figures or one link twice.
            AlreadyExists: a service already holds bookings.
        """
        per_service: dict[str, list[Booking]] = {}
        for booking in bookings:
            per_service.setdefault(booking.service_id, []).append(booking)
        for service_id, held in per_service.items():
            links = [b.link_id for b in held]
            self._check_new(service_id, links, held[0].mbps)
            if len(set(links)) != len(links) or any(b.mbps != held[0].mbps for b in held):
                raise InvalidArgument(
                    f"stored bookings of {service_id} repeat a link or differ in bandwidth"
                )
        for service_id, held in per_service.items():
            self._hold(service_id, tuple(b.link_id for b in held), held[0].mbps)

    def bookings(self) -> list[Booking]:
        """Every booking held, by service then link (in the order booked)."""
        return [
            Booking(service_id, link, self._mbps_of[service_id])
            for service_id, links in sorted(self._links_of.items())
            for link in links
        ]

    def _check_new(self, service_id: str, links: Iterable[str], mbps: float) -> None:
        if service_id in self._links_of:
            raise AlreadyExists(f"{service_id} already holds WAN bandwidth")
        violations = [
            FieldViolation("links", f"unknown WAN link '{link}'")
            for link in links
            if link not in self._capacity
        ]
        if not (math.isfinite(mbps) and mbps >= 0):
            violations.append(FieldViolation("mbps", f"{mbps} is not ≥ 0"))
        if violations:
            raise InvalidArgument(f"invalid booking for {service_id}", field_violations=violations)

    def _hold(self, service_id: str, links: tuple[str, ...], mbps: float) -> None:
        self._links_of[service_id] = links
        self._mbps_of[service_id] = mbps
        for link in links:
            self._booked_bps[link] += _bps(mbps)
