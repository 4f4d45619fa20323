"""Unit conversion: memory and storage sizes, bandwidths.

Sizes follow the upstream unit enum, read the way VIMs read them: ``MB``,
``GB`` and ``TB`` are the binary units, as in OpenStack flavours and in the
habit of descriptor authors (a "2 GB" VDU expects a 2048 MiB VM), so they
equal ``MiB``, ``GiB`` and ``TiB``; ``kB`` and ``PT`` follow suit. ``PT`` and
``PiT`` are upstream's spelling of petabyte and pebibyte. A missing unit means
``MB``, as upstream documents. Conversions round up, so a unit never gets less
than it asked for. Arithmetic is exact (``Fraction``), so 0.1 GB is exactly
a tenth of a GiB.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

DEFAULT_SIZE_UNIT = "MB"
"""Unit of a memory or storage size that names none."""
DEFAULT_BANDWIDTH_UNIT = "bps"
"""Unit of a bandwidth that names none (upstream's default for NIC bandwidth)."""

BYTES_PER_UNIT: dict[str, int] = {
    "B": 1,
    "kB": 2**10,
    "KiB": 2**10,
    "MB": 2**20,
    "MiB": 2**20,
    "GB": 2**30,
    "GiB": 2**30,
    "TB": 2**40,
    "TiB": 2**40,
    "PT": 2**50,
    "PiT": 2**50,
}
"""Bytes in one of each size unit the schema allows."""

BITS_PER_SECOND: dict[str, int] = {
    "bps": 1,
    "kbps": 10**3,
    "Mbps": 10**6,
    "Gbps": 10**9,
    "Tbps": 10**12,
}
"""Bit/s in one of each bandwidth unit the schema allows."""


def _exact(value: float) -> Fraction:
    # Through the decimal text, so 0.1 is one tenth, not the nearest double.
    return Fraction(Decimal(str(value)))


def to_mib(size: float, unit: str | None) -> int:
    """``size`` in ``unit`` as whole MiB, rounded up. Raises ``KeyError`` for an unknown unit."""
    nbytes = _exact(size) * BYTES_PER_UNIT[unit or DEFAULT_SIZE_UNIT]
    return math.ceil(nbytes / 2**20)


def to_gib(size: float, unit: str | None) -> int:
    """``size`` in ``unit`` as whole GiB, rounded up. Raises ``KeyError`` for an unknown unit."""
    nbytes = _exact(size) * BYTES_PER_UNIT[unit or DEFAULT_SIZE_UNIT]
    return math.ceil(nbytes / 2**30)


def to_mbps(bandwidth: float, unit: str | None) -> float:
    """``bandwidth`` in ``unit`` as Mbit/s. Raises ``KeyError`` for an unknown unit."""
    bits = _exact(bandwidth) * BITS_PER_SECOND[unit or DEFAULT_BANDWIDTH_UNIT]
    return float(bits / 10**6)
