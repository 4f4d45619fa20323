"""Fixtures of the auth unit tests: a fake clock and a key ring on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spfed.auth import SigningKeys
from tests.forge import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys(tmp_path: Path, clock: FakeClock) -> SigningKeys:
    return SigningKeys.open(tmp_path / "keys", clock=clock)
