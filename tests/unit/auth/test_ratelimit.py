"""``AttemptLimiter``: per (account, source) lockouts with backoff, the per-account soft throttle
against distributed guessing, reservations before the check, bounded memory."""

from __future__ import annotations

from typing import Any

import pytest

from spfed.auth import Attempt, AttemptLimiter, Refusal
from spfed.errors import InvalidArgument
from tests.forge import FakeClock

ALICE = "alice"
HOME = "192.0.2.1"
"""Where alice signs in from."""


def limiter(clock: FakeClock, **settings: Any) -> AttemptLimiter:
    options: dict[str, Any] = {
        "max_failures": 3,
        "window_s": 60.0,
        "lockout_s": 30.0,
        "account_max_failures": 6,
        "stranger_attempts": 2,
    }
    return AttemptLimiter(clock=clock, **{**options, **settings})


def admitted(attempts: AttemptLimiter, account: str, source: str) -> Attempt:
    attempt = attempts.reserve(account, source)
    assert isinstance(attempt, Attempt), attempt
    return attempt


def refusal(attempts: AttemptLimiter, account: str, source: str) -> Refusal:
    outcome = attempts.reserve(account, source)
    assert isinstance(outcome, Refusal), "admitted"
    outcome_released(outcome)
    return outcome


def outcome_released(outcome: Attempt | Refusal) -> None:
    if isinstance(outcome, Attempt):
        outcome.released()


def fail(attempts: AttemptLimiter, account: str, source: str, times: int = 1) -> None:
    for _ in range(times):
        admitted(attempts, account, source).failed()


def succeed(attempts: AttemptLimiter, account: str, source: str) -> None:
    admitted(attempts, account, source).succeeded()


def allowed(attempts: AttemptLimiter, account: str, source: str) -> bool:
    """Whether an attempt would be admitted now (the probe is released, counting nothing)."""
    outcome = attempts.reserve(account, source)
    outcome_released(outcome)
    return isinstance(outcome, Attempt)


# --- per (account, source) ------------------------------------------------------------------


def test_a_pair_is_locked_after_max_failures_and_only_that_pair(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, ALICE, "203.0.113.9", 3)
    locked = refusal(attempts, ALICE, "203.0.113.9")
    assert locked == Refusal(30.0, "account_source")
    # The owner, elsewhere, is not locked out; the guesser may still try other accounts.
    assert allowed(attempts, ALICE, HOME)
    assert allowed(attempts, "bob", "203.0.113.9")
    clock.advance(12.5)
    assert refusal(attempts, ALICE, "203.0.113.9").retry_after_s == 17.5
    clock.advance(17.5)
    assert allowed(attempts, ALICE, "203.0.113.9")


def test_failures_outside_the_window_do_not_count(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, ALICE, HOME, 2)
    clock.advance(60)
    fail(attempts, ALICE, HOME, 2)
    assert allowed(attempts, ALICE, HOME)
    fail(attempts, ALICE, HOME)
    assert refusal(attempts, ALICE, HOME).retry_after_s == 30.0


def test_each_further_lockout_doubles_up_to_the_cap(clock: FakeClock) -> None:
    attempts = limiter(clock, max_lockout_s=100.0)
    for expected in (30.0, 60.0, 100.0, 100.0):
        fail(attempts, ALICE, HOME, 3)
        assert refusal(attempts, ALICE, HOME).retry_after_s == expected
        clock.advance(expected)


def test_a_success_clears_failures_and_escalation(clock: FakeClock) -> None:
    attempts = limiter(clock)
    fail(attempts, ALICE, HOME, 3)
    clock.advance(30)
    fail(attempts, ALICE, HOME, 2)
    succeed(attempts, ALICE, HOME)
    fail(attempts, ALICE, HOME, 2)
    assert allowed(attempts, ALICE, HOME)
    fail(attempts, ALICE, HOME)
    assert refusal(attempts, ALICE, HOME).retry_after_s == 30.0  # not 60: forgotten


def test_a_long_quiet_period_forgives_earlier_lockouts(clock: FakeClock) -> None:
    attempts = limiter(clock, max_lockout_s=100.0)
    fail(attempts, ALICE, HOME, 3)
    clock.advance(30)  # lockout over; not yet quiet for 100 s after it
    fail(attempts, ALICE, HOME, 3)
    assert refusal(attempts, ALICE, HOME).retry_after_s == 60.0
    clock.advance(60 + 100)
    fail(attempts, ALICE, HOME, 3)
    assert refusal(attempts, ALICE, HOME).retry_after_s == 30.0


# --- reservations -----------------------------------------------------------------------------


def test_concurrent_attempts_of_one_pair_are_capped_before_any_check(clock: FakeClock) -> None:
    """40 guesses at once: only ``max_failures`` get to the password check."""
    attempts = limiter(clock)
    outcomes = [attempts.reserve(ALICE, "203.0.113.9") for _ in range(40)]
    running = [o for o in outcomes if isinstance(o, Attempt)]
    refused = [o for o in outcomes if isinstance(o, Refusal)]
    assert len(running) == 3
    assert {r.scope for r in refused} == {"account_source"}
    assert all(r.retry_after_s >= 1.0 for r in refused)
    for attempt in running:
        attempt.failed()
    assert refusal(attempts, ALICE, "203.0.113.9").retry_after_s == 30.0
    assert allowed(attempts, ALICE, HOME)


def test_a_success_among_attempts_in_flight_clears_the_pair(clock: FakeClock) -> None:
    attempts = limiter(clock)
    first, second, third = (admitted(attempts, ALICE, HOME) for _ in range(3))
    assert not allowed(attempts, ALICE, HOME)  # three in flight
    first.failed()
    second.succeeded()
    third.failed()  # settles after the success: counts anew
    fail(attempts, ALICE, HOME)
    assert allowed(attempts, ALICE, HOME)  # two failures since the success


def test_an_attempt_left_unsettled_counts_as_a_failure(clock: FakeClock) -> None:
    attempts = limiter(clock, max_failures=1)
    with pytest.raises(RuntimeError), admitted(attempts, ALICE, HOME):
        raise RuntimeError("cancelled while the password was checked")
    assert refusal(attempts, ALICE, HOME).retry_after_s == 30.0


def test_a_released_attempt_counts_nothing_and_settling_twice_does_nothing(
    clock: FakeClock,
) -> None:
    attempts = limiter(clock, max_failures=1)
    attempt = admitted(attempts, ALICE, HOME)
    with attempt:
        attempt.released()
    attempt.failed()
    assert allowed(attempts, ALICE, HOME)
    attempt = admitted(attempts, ALICE, HOME)
    attempt.failed()
    attempt.failed()
    clock.advance(30)
    fail(attempts, ALICE, HOME)  # a second lockout would be 60 s, had the repeat counted twice
    assert refusal(attempts, ALICE, HOME).retry_after_s == 60.0


# --- per account: distributed guessing ---------------------------------------------------------


def botnet(count: int, start: int = 0) -> list[str]:
    return [f"198.51.100.{i}" for i in range(start, start + count)]


def test_distributed_guessing_is_slowed_and_the_trusted_owner_still_signs_in(
    clock: FakeClock,
) -> None:
    attempts = limiter(clock)
    succeed(attempts, ALICE, HOME)  # alice's usual place
    for source in botnet(6):  # one guess each: no pair reaches its limit
        fail(attempts, ALICE, source)
    # Under attack now. Sources that failed on alice wait for the attack to subside:
    held = refusal(attempts, ALICE, botnet(1)[0])
    assert held == Refusal(60.0, "account")
    # Sources new to alice share two attempts per window:
    newcomers = botnet(3, start=100)
    fail(attempts, ALICE, newcomers[0])
    clock.advance(5)
    fail(attempts, ALICE, newcomers[1])
    assert refusal(attempts, ALICE, newcomers[2]) == Refusal(55.0, "account")
    # ... and alice from home is not held back at all:
    succeed(attempts, ALICE, HOME)
    # Other accounts are not affected.
    assert allowed(attempts, "bob", newcomers[2])


def test_the_owner_on_a_new_device_is_delayed_not_locked_out(clock: FakeClock) -> None:
    attempts = limiter(clock)
    for source in botnet(6):
        fail(attempts, ALICE, source)
    fail(attempts, ALICE, botnet(1, start=100)[0])
    fail(attempts, ALICE, botnet(1, start=101)[0])
    laptop = "192.0.2.77"
    wait = refusal(attempts, ALICE, laptop).retry_after_s
    clock.advance(wait)
    succeed(attempts, ALICE, laptop)
    # From now on the laptop is trusted: the ongoing attack does not hold it back.
    for source in botnet(8, start=200):
        outcome = attempts.reserve(ALICE, source)
        if isinstance(outcome, Attempt):
            outcome.failed()
    assert allowed(attempts, ALICE, laptop)


def test_the_attack_subsides_after_the_window(clock: FakeClock) -> None:
    attempts = limiter(clock)
    for source in botnet(6):
        fail(attempts, ALICE, source)
    assert not allowed(attempts, ALICE, botnet(1)[0])
    clock.advance(60)
    assert allowed(attempts, ALICE, botnet(1)[0])


def test_concurrent_guesses_from_many_sources_are_capped_per_account(clock: FakeClock) -> None:
    """40 sources guess at once: account_max_failures + stranger_attempts reach the check."""
    attempts = limiter(clock)
    outcomes = [attempts.reserve(ALICE, source) for source in botnet(40)]
    running = [o for o in outcomes if isinstance(o, Attempt)]
    assert len(running) == 6 + 2
    assert {o.scope for o in outcomes if isinstance(o, Refusal)} == {"account"}
    for attempt in running:
        attempt.failed()
    assert not allowed(attempts, ALICE, "192.0.2.200")  # strangers' share used up


def test_trust_expires(clock: FakeClock) -> None:
    attempts = limiter(clock, trust_s=3600.0)
    succeed(attempts, ALICE, HOME)
    clock.advance(3600)
    for source in botnet(6):
        fail(attempts, ALICE, source)
    fail(attempts, ALICE, botnet(1, start=100)[0])
    fail(attempts, ALICE, botnet(1, start=101)[0])
    assert refusal(attempts, ALICE, HOME).scope == "account"


# --- memory and settings ---------------------------------------------------------------------


def test_at_most_max_keys_pairs_are_tracked_the_least_recent_is_forgotten(
    clock: FakeClock,
) -> None:
    attempts = limiter(clock, max_failures=1, max_keys=3)
    for account in ("a", "b", "c"):
        fail(attempts, account, HOME)
    assert len(attempts) == 3
    clock.advance(1)
    assert not allowed(attempts, "a", HOME)  # refused, but touched: now the most recent
    fail(attempts, "d", HOME)
    assert len(attempts) == 3
    for account in ("a", "c", "d"):
        assert not allowed(attempts, account, HOME)
    assert allowed(attempts, "b", HOME)  # forgotten (checked last: the probe tracks it anew)


def test_a_flood_of_failures_does_not_push_out_trust(clock: FakeClock) -> None:
    attempts = limiter(clock, max_keys=4, account_max_failures=3)
    succeed(attempts, ALICE, HOME)
    for source in botnet(20):  # many pairs and accounts, far more than max_keys
        outcome = attempts.reserve(f"user{source[-2:]}", source)
        if isinstance(outcome, Attempt):
            outcome.failed()
    for source in botnet(3, start=50):
        fail(attempts, ALICE, source)
    assert allowed(attempts, ALICE, HOME)


@pytest.mark.parametrize(
    "settings",
    [
        {"max_failures": 0},
        {"max_keys": 0},
        {"account_max_failures": 0},
        {"stranger_attempts": 0},
        {"window_s": 0.0},
        {"lockout_s": -1.0},
        {"lockout_s": float("inf")},
        {"max_lockout_s": float("nan")},
        {"trust_s": 0.0},
        {"lockout_s": 60.0, "max_lockout_s": 30.0},
    ],
)
def test_bad_settings_are_refused(clock: FakeClock, settings: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        limiter(clock, **settings)


def test_default_settings_lock_a_pair_after_five_failures() -> None:
    clock = FakeClock(0.0)
    attempts = AttemptLimiter(clock=clock)
    fail(attempts, ALICE, HOME, 4)
    assert allowed(attempts, ALICE, HOME)
    fail(attempts, ALICE, HOME)
    assert refusal(attempts, ALICE, HOME) == Refusal(60.0, "account_source")
