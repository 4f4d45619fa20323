"""Throttling of password sign-ins, per account and source and per account.

Guessing must get slow without anyone being able to lock an account's owner
out by guessing at it (OWASP Authentication Cheat Sheet, "Login Throttling";
Credential Stuffing Prevention Cheat Sheet). Attempts are counted per account
name *and* source address (``spfed.auth.sources``), and per account:

- **Per (account, source): a hard throttle.** ``max_failures`` failed passwords
  for one account from one source within ``window_s`` lock that pair for
  ``lockout_s``; each further lockout of the pair doubles that, up to
  ``max_lockout_s``, and a quiet ``max_lockout_s`` since the last failure and
  lockout forgives earlier lockouts. While a pair is locked even the right
  password is refused, without being checked, so the lock is no oracle. A
  success clears the pair. The lock holds the guessing source only: the owner,
  elsewhere, is not affected.
- **Per account: a soft throttle against distributed guessing.** When the
  account has ``account_max_failures`` failures within ``window_s`` from the
  sources it does not trust, all together, it is *under attack*. Then:

  - a *trusted* source, one from which the account's password succeeded within
    ``trust_s``, is not held back at all (only its own pair throttle applies):
    the owner keeps signing in from where they usually do;
  - a source with a failure on the account within ``window_s`` is refused until
    the attack subsides;
  - any other source shares ``stranger_attempts`` attempts per ``window_s``;
    beyond them it is refused until a slot frees. The owner on a new device is
    delayed, never locked out, and the whole botnet gets that many guesses a
    window.

- **Reservations.** An attempt is reserved *before* the password is checked and
  settled after (failed, succeeded, or released when it says nothing about the
  password). Reservations in flight count as failures against both limits, so
  at most ``max_failures`` checks run for one pair per window, and at most
  ``account_max_failures + stranger_attempts`` for one account from sources it
  does not trust, concurrently or not. An attempt abandoned unsettled (its
  caller cancelled or crashed) counts as a failure: its check ran, or may have.

Names are throttled whether or not an account of that name exists, so a
refusal says nothing about which accounts exist. A refusal is a ``Refusal``
with the seconds after which a retry may be admitted (a hint: it may be
refused again if guessing went on).

Memory is bounded: at most ``max_keys`` pairs, accounts and trusted pairs are
tracked, each table forgetting the entry touched least recently first. Only a
successful sign-in makes a pair trusted, so failures cannot push trust out;
many successful sign-ins of other accounts can, and then the owner counts as a
stranger (delayed, not locked out). The state is per process and in memory: a
restart forgets it. It is synchronous and not thread-safe, meant for one event
loop.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, Literal, TypeVar

from spfed.errors import InvalidArgument

__all__ = ["Attempt", "AttemptLimiter", "Refusal"]

_MAX_DOUBLINGS = 32
"""Enough to reach any cap; keeps ``2 ** lockouts`` a small number."""

_MIN_RETRY_S: Final = 1.0
"""Retry hint when only attempts still in flight stand in the way: they settle in about
the time one password check takes."""

Scope = Literal["account_source", "account"]
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Refusal:
    """An attempt that may not be made now."""

    retry_after_s: float
    """Seconds after which an attempt may be admitted (at least ``1.0``)."""
    scope: Scope
    """``account_source``: this source failed too often for this account;
    ``account``: the account is under distributed guessing and this source is not trusted."""


@dataclass
class _Pair:
    failures: deque[float] = field(default_factory=deque)
    """Times of the recent failures, oldest first, within the window."""
    in_flight: int = 0
    locked_until: float = 0.0
    lockouts: int = 0
    """Lockouts so far; the next one lasts ``lockout_s * 2 ** lockouts``."""
    last_failure: float = -math.inf


@dataclass
class _Account:
    failures: deque[float]
    """Times of the latest ``account_max_failures`` failures, from every source."""
    strangers: deque[float] = field(default_factory=deque)
    """Times of attempts admitted from untrusted sources without failures while under attack."""
    in_flight: int = 0
    """Reservations of sources the account does not trust."""


def _bounded_get(table: OrderedDict[K, V], key: K, make: Callable[[], V], limit: int) -> V:
    """``table[key]``, created by ``make`` if missing, marked as the most recently used."""
    value = table.get(key)
    if value is None:
        value = table[key] = make()
        if len(table) > limit:
            table.popitem(last=False)
    else:
        table.move_to_end(key)
    return value


class Attempt:
    """One reserved password attempt; settle it exactly once (later calls do nothing).

    As a context manager, leaving it unsettled (an exception, a cancellation) counts as a
    failure.
    """

    def __init__(
        self, limiter: AttemptLimiter, key: tuple[str, str], pair: _Pair, account: _Account | None
    ) -> None:
        self._limiter = limiter
        self._key = key
        self._pair = pair
        self._account = account
        """The account's state when the source is not trusted (its reservation counts there)."""
        self._settled = False

    def _settle(self) -> bool:
        if self._settled:
            return False
        self._settled = True
        self._pair.in_flight -= 1
        if self._account is not None:
            self._account.in_flight -= 1
        return True

    def failed(self) -> None:
        """The password was wrong (or the account does not exist, or cannot use a password)."""
        if self._settle():
            self._limiter._failed(self._pair, self._account)

    def succeeded(self) -> None:
        """The password was right: clear the pair, and trust the source for the account."""
        if self._settle():
            self._limiter._succeeded(self._key, self._pair)

    def released(self) -> None:
        """Neither: the attempt says nothing about the password; it is forgotten."""
        self._settle()

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.failed()


class AttemptLimiter:
    """Reserves password attempts per (account, source) and per account; module docstring."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 300.0,
        lockout_s: float = 60.0,
        max_lockout_s: float = 900.0,
        account_max_failures: int = 20,
        stranger_attempts: int = 10,
        trust_s: float = 30 * 86400.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Throttle as the module docstring says, with these limits.

        ``clock`` gives seconds on a monotonic scale, as ``time.monotonic``.

        Raises:
            InvalidArgument: a count is below 1, a duration is not a positive finite number,
                or ``max_lockout_s`` is below ``lockout_s``.
        """
        counts = (max_failures, account_max_failures, stranger_attempts, max_keys)
        if min(counts) < 1:
            raise InvalidArgument(
                "max_failures, account_max_failures, stranger_attempts and max_keys must be"
                " at least 1"
            )
        for name, value in (
            ("window_s", window_s),
            ("lockout_s", lockout_s),
            ("max_lockout_s", max_lockout_s),
            ("trust_s", trust_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise InvalidArgument(f"{name} must be a positive number of seconds")
        if max_lockout_s < lockout_s:
            raise InvalidArgument("max_lockout_s must be at least lockout_s")
        self._max_failures = max_failures
        self._window_s = window_s
        self._lockout_s = lockout_s
        self._max_lockout_s = max_lockout_s
        self._account_max_failures = account_max_failures
        self._stranger_attempts = stranger_attempts
        self._trust_s = trust_s
        self._max_keys = max_keys
        self._clock = clock
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()
        self._accounts: OrderedDict[str, _Account] = OrderedDict()
        self._trusted: OrderedDict[tuple[str, str], float] = OrderedDict()
        """(account, source) → until when the source is trusted by the account."""

    def __len__(self) -> int:
        """How many (account, source) pairs are tracked."""
        return len(self._pairs)

    def reserve(self, account: str, source: str) -> Attempt | Refusal:
        """Reserve an attempt at ``account``'s password from ``source``, or say why not.

        The caller checks the password only with an ``Attempt``, and settles it after.
        """
        now = self._clock()
        key = (account, source)
        pair = self._pairs.get(key)
        if pair is not None:
            self._pairs.move_to_end(key)  # a pair kept busy, even refused, is kept in memory
            refusal = self._pair_refusal(pair, now)
            if refusal is not None:
                return refusal
        trusted = self._trusted.get(key, -math.inf) > now
        state: _Account | None = None
        if not trusted:
            state = self._accounts.get(account)
            if state is not None and (retry := self._attack_retry(state, now)) is not None:
                failing = pair is not None and now - pair.last_failure < self._window_s
                if failing:
                    return Refusal(retry, "account")
                strangers = state.strangers
                while strangers and strangers[0] <= now - self._window_s:
                    strangers.popleft()
                if len(strangers) >= self._stranger_attempts:
                    wait = strangers[0] + self._window_s - now
                    return Refusal(max(_MIN_RETRY_S, wait), "account")
                strangers.append(now)
            state = _bounded_get(self._accounts, account, self._new_account, self._max_keys)
            state.in_flight += 1
        pair = _bounded_get(self._pairs, key, _Pair, self._max_keys)
        pair.in_flight += 1
        return Attempt(self, key, pair, state)

    def _new_account(self) -> _Account:
        return _Account(deque(maxlen=self._account_max_failures))

    def _pair_refusal(self, pair: _Pair, now: float) -> Refusal | None:
        if pair.locked_until > now:
            return Refusal(max(_MIN_RETRY_S, pair.locked_until - now), "account_source")
        failures = pair.failures
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if len(failures) + pair.in_flight < self._max_failures:
            return None
        # Not locked, so reservations in flight make up the difference: once they settle
        # (in about one check's time) the pair is either locked or clear.
        return Refusal(_MIN_RETRY_S, "account_source")

    def _attack_retry(self, state: _Account, now: float) -> float | None:
        """Seconds until the account stops being under attack; None if it is not."""
        failures = state.failures
        recent = sum(1 for t in failures if t > now - self._window_s)
        if recent + state.in_flight < self._account_max_failures:
            return None
        if recent < self._account_max_failures:
            return _MIN_RETRY_S  # reservations in flight; they settle shortly
        # The deque holds the newest failures only: the attack ends when its oldest is out.
        return max(_MIN_RETRY_S, failures[0] + self._window_s - now)

    def _failed(self, pair: _Pair, state: _Account | None) -> None:
        now = self._clock()
        if state is not None:
            state.failures.append(now)
        if pair.locked_until > now:
            return  # reserved before the lock: counting it would let a lockout extend itself
        if now - max(pair.last_failure, pair.locked_until) >= self._max_lockout_s:
            pair.lockouts = 0  # quiet long enough since the last lockout ended: forgive it
        pair.last_failure = now
        failures = pair.failures
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        failures.append(now)
        if len(failures) >= self._max_failures:
            doublings = min(pair.lockouts, _MAX_DOUBLINGS)
            pair.locked_until = now + min(self._lockout_s * 2**doublings, self._max_lockout_s)
            pair.lockouts += 1
            failures.clear()

    def _succeeded(self, key: tuple[str, str], pair: _Pair) -> None:
        now = self._clock()
        pair.failures.clear()
        pair.locked_until = 0.0
        pair.lockouts = 0
        pair.last_failure = -math.inf
        if pair.in_flight == 0 and self._pairs.get(key) is pair:
            del self._pairs[key]
        self._trusted[key] = now + self._trust_s
        self._trusted.move_to_end(key)
        if len(self._trusted) > self._max_keys:
            self._trusted.popitem(last=False)
