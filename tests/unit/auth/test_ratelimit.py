"""``AttemptLimiter``: lockout after too many failures, escalation, reset, bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from spfed.auth import AttemptLimiter
from spfed.errors import InvalidArgument
from tests.forge import FakeClock


def limiter(clock: FakeClock, **settings: Any) -> AttemptLimiter:
    options: dict[str, Any] = {"max_failures": 3, "window_s": 60.0, "lockout_s": 30.0}
    return AttemptLimiter(clock=clock, **{**options, **settings})


def fail(attempts: AttemptLimiter, key: str, times: int) -> None:
    for _ in range(times):
        assert attempts.retry_after(key) == 0.0
        attempts.failed(key)


def test_a_key_is_locked_after_max_failures(clock: FakeClock) -> None:
    attempts = limiter(clock)
    assert attempts.retry_after("alice") == 0.0
    fail(attempts, "alice", 2)
    assert attempts.retry_after("alice") == 0.0
    attempts.failed("alice")
    assert attempts.retry_after("alice") == 30.0
    clock.advance(12.5)
    assert attempts.retry_after("alice") == 17.5
    clock.advance(17.5)
    assert attempts.retry_after("alice") == 0.0


def test_keys_are_independent(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, "alice", 3)
    assert attempts.retry_after("alice") > 0
    assert attempts.retry_after("bob") == 0.0
    fail(attempts, "bob", 2)
    assert attempts.retry_after("bob") == 0.0


def test_failures_outside_the_window_do_not_count(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, "alice", 2)
    clock.advance(60)
    fail(attempts, "alice", 2)
    assert attempts.retry_after("alice") == 0.0
    attempts.failed("alice")
    assert attempts.retry_after("alice") == 30.0


def test_each_further_lockout_doubles_up_to_the_cap(clock: FakeClock) -> None:
    attempts = limiter(clock, max_lockout_s=100.0)
    for expected in (30.0, 60.0, 100.0, 100.0):
        fail(attempts, "alice", 3)
        assert attempts.retry_after("alice") == expected
        clock.advance(expected)


def test_a_success_clears_failures_and_escalation(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, "alice", 3)
    clock.advance(30)
    fail(attempts, "alice", 2)
    attempts.succeeded("alice")
    fail(attempts, "alice", 2)
    assert attempts.retry_after("alice") == 0.0
    attempts.failed("alice")
    assert attempts.retry_after("alice") == 30.0  # not 60: the earlier lockout is forgotten
    attempts.succeeded("alice")
    assert attempts.retry_after("alice") == 0.0
    attempts.succeeded("nobody")  # harmless


def test_a_long_quiet_period_forgives_earlier_lockouts(clock: FakeClock) -> None:
    attempts = limiter(clock, max_lockout_s=100.0)
    fail(attempts, "alice", 3)
    clock.advance(30)  # lockout over; not yet quiet for 100 s after it
    fail(attempts, "alice", 3)
    assert attempts.retry_after("alice") == 60.0
    clock.advance(60 + 100)
    fail(attempts, "alice", 3)
    assert attempts.retry_after("alice") == 30.0


def test_failures_while_locked_do_not_extend_the_lockout(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, "alice", 3)
    clock.advance(10)
    for _ in range(10):
        attempts.failed("alice")
    assert attempts.retry_after("alice") == 20.0
    clock.advance(20)
    assert attempts.retry_after("alice") == 0.0
    fail(attempts, "alice", 2)
    assert attempts.retry_after("alice") == 0.0


def test_at_most_max_keys_are_tracked_the_least_recent_is_forgotten(clock: FakeClock) -> None:
    attempts = limiter(clock, max_failures=1, max_keys=3)
    for key in ("a", "b", "c"):
        attempts.failed(key)
    assert len(attempts) == 3
    clock.advance(1)
    attempts.failed("a")  # locked already: ignored, but a is now the most recently touched
    attempts.failed("d")
    assert len(attempts) == 3
    assert attempts.retry_after("b") == 0.0  # forgotten
    assert attempts.retry_after("a") > 0
    assert attempts.retry_after("c") > 0
    assert attempts.retry_after("d") > 0


@pytest.mark.parametrize(
    "settings",
    [
        {"max_failures": 0},
        {"max_keys": 0},
        {"window_s": 0.0},
        {"lockout_s": -1.0},
        {"lockout_s": float("inf")},
        {"max_lockout_s": float("nan")},
        {"lockout_s": 60.0, "max_lockout_s": 30.0},
    ],
)
def test_bad_settings_are_refused(clock: FakeClock, settings: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        limiter(clock, **settings)


def test_default_settings_lock_after_five_failures() -> None:
    clock = FakeClock(0.0)
    attempts = AttemptLimiter(clock=clock)
    fail(attempts, "alice", 4)
    assert attempts.retry_after("alice") == 0.0
    attempts.failed("alice")
    assert attempts.retry_after("alice") == 60.0
