"""Unit conversion: MB means MiB (as VIMs read it), results round up."""

from __future__ import annotations

import pytest

from spfed.descriptors._quantities import BYTES_PER_UNIT, to_gib, to_mbps, to_mib


@pytest.mark.parametrize(
    ("size", "unit", "mib"),
    [
        (1024, "MB", 1024),  # a "1024 MB" VDU expects a 1024 MiB VM
        (1024, "MiB", 1024),
        (512, None, 512),  # no unit means MB
        (2, "GB", 2048),
        (2, "GiB", 2048),
        (1, "B", 1),  # a byte still needs a whole MiB
        (1, "kB", 1),
        (1048576, "KiB", 1024),
        (1, "TiB", 1048576),
        (1, "TB", 1048576),
        (1, "PiT", 2**30),
        (1, "PT", 2**30),
        (0.5, "GiB", 512),
        (1.5, "GB", 1536),
    ],
)
def test_memory_in_mib(size: float, unit: str | None, mib: int) -> None:
    assert to_mib(size, unit) == mib


@pytest.mark.parametrize(
    ("size", "unit", "gib"),
    [
        (10, "GB", 10),
        (10, "GiB", 10),
        (50, "GB", 50),
        (1, "TB", 1024),
        (1, "TiB", 1024),
        (100, None, 1),  # 100 MB rounds up to a whole GiB
        (0.1, "GB", 1),
        (1025, "MB", 2),
    ],
)
def test_storage_in_gib(size: float, unit: str | None, gib: int) -> None:
    assert to_gib(size, unit) == gib


def test_decimal_sizes_are_exact() -> None:
    # 0.1 GiB is exactly 102.4 MiB; a float product would be off in the last digit.
    assert to_mib(0.1, "GiB") == 103
    assert to_mib(0.5, "MB") == 1  # half a MiB still takes a whole one


def test_every_upstream_unit_is_known() -> None:
    assert list(BYTES_PER_UNIT) == [
        "B",
        "kB",
        "KiB",
        "MB",
        "MiB",
        "GB",
        "GiB",
        "TB",
        "TiB",
        "PT",
        "PiT",
    ]


@pytest.mark.parametrize(
    ("bandwidth", "unit", "mbps"),
    [
        (2, "Mbps", 2.0),
        (1, "Gbps", 1000.0),
        (500, "kbps", 0.5),
        (1, "Tbps", 1e6),
        (1000, "bps", 0.001),
        (3, None, 3e-6),
    ],
)
def test_bandwidth_in_mbps(bandwidth: float, unit: str | None, mbps: float) -> None:
    assert to_mbps(bandwidth, unit) == pytest.approx(mbps)
