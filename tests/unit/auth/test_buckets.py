"""``TokenBuckets``: bursts, the steady rate, refusals that cost nothing, bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from spfed.auth import TokenBuckets
from spfed.errors import InvalidArgument
from tests.forge import FakeClock


def buckets(clock: FakeClock, **settings: Any) -> TokenBuckets:
    return TokenBuckets(clock=clock, **{"rate_per_s": 2.0, "burst": 3, **settings})


def test_a_burst_then_the_rate(clock: FakeClock) -> None:
    sources = buckets(clock)
    assert [sources.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert sources.take("a") == 0.5
    assert sources.take("b") == 0.0  # keys are independent
    clock.advance(0.25)
    assert sources.take("a") == 0.25  # half a token back; refused takes nothing
    clock.advance(0.25)
    assert sources.take("a") == 0.0
    assert sources.take("a") == 0.5


def test_a_bucket_refills_only_up_to_the_burst(clock: FakeClock) -> None:
    sources = buckets(clock)
    sources.take("a")
    clock.advance(3600)
    assert [sources.take("a") for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_a_clock_going_back_does_not_drain_a_bucket(clock: FakeClock) -> None:
    sources = buckets(clock)
    sources.take("a")
    clock.advance(-100)
    assert sources.take("a") == 0.0


def test_at_most_max_keys_buckets_are_kept(clock: FakeClock) -> None:
    sources = buckets(clock, burst=1, max_keys=2)
    sources.take("a")
    sources.take("b")
    assert sources.take("a") > 0  # touched: now the most recent
    sources.take("c")
    assert len(sources) == 2
    assert sources.take("a") > 0
    assert sources.take("b") == 0.0  # forgotten, so full again


@pytest.mark.parametrize(
    "settings",
    [
        {"rate_per_s": 0.0},
        {"rate_per_s": float("inf")},
        {"rate_per_s": float("nan")},
        {"burst": 0},
        {"max_keys": 0},
    ],
)
def test_bad_settings_are_refused(clock: FakeClock, settings: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        buckets(clock, **settings)
