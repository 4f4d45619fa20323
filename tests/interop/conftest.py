"""Where the SONATA/5GTANGO interop data lives: ``../shared/interop`` next to the clone."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
"""The repository root's sibling ``shared`` folder (CI clones next to it)."""


@pytest.fixture(scope="session")
def shared_interop() -> Path:
    """``../shared/interop``; skips the test when a fresh clone has no interop data."""
    interop = SHARED / "interop"
    if not interop.is_dir():
        pytest.skip(
            "../shared/interop is absent (a fresh clone without the interop data); CI always has it"
        )
    return interop.resolve()
