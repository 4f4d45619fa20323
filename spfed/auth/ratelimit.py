"""Throttling of failed password attempts, per account.

After ``max_failures`` failures within ``window_s`` an account is locked for
``lockout_s``; each further lockout of the same account doubles that, up to
``max_lockout_s``. A success clears the account; a quiet period of
``max_lockout_s`` after the last failure and the end of the last lockout
forgives earlier lockouts. Memory is bounded: at most ``max_keys``
accounts are tracked, and the one touched least recently is forgotten first.

The state is per process and in memory: a restart forgets it. It is
synchronous and not thread-safe, meant for one event loop.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from spfed.errors import InvalidArgument

__all__ = ["AttemptLimiter"]

_MAX_DOUBLINGS = 32
"""Enough to reach any cap; keeps ``2 ** lockouts`` a small number."""


@dataclass
class _Account:
    failures: deque[float] = field(default_factory=deque)
    """Times of the recent failures, oldest first, within the window."""
    locked_until: float = 0.0
    lockouts: int = 0
    """Lockouts so far; the next one lasts ``lockout_s * 2 ** lockouts``."""
    last_failure: float = 0.0


class AttemptLimiter:
    """Counts failed attempts per key (an account name) and locks keys that fail too often."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 60.0,
        lockout_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
        max_lockout_s: float = 900.0,
    ) -> None:
        """Lock a key after ``max_failures`` failures within ``window_s`` seconds.

        ``clock`` gives seconds on a monotonic scale, as ``time.monotonic``.

        Raises:
            InvalidArgument: a count is below 1, or a duration is not a positive finite
                number, or ``max_lockout_s`` is below ``lockout_s``.
        """
        if max_failures < 1 or max_keys < 1:
            raise InvalidArgument("max_failures and max_keys must be at least 1")
        for name, value in (
            ("window_s", window_s),
            ("lockout_s", lockout_s),
            ("max_lockout_s", max_lockout_s),
        ):
            if not (math.isfinite(value) and value > 0):
                raise InvalidArgument(f"{name} must be a positive number of seconds")
        if max_lockout_s < lockout_s:
            raise InvalidArgument("max_lockout_s must be at least lockout_s")
        self._max_failures = max_failures
        self._window_s = window_s
        self._lockout_s = lockout_s
        self._max_lockout_s = max_lockout_s
        self._clock = clock
        self._max_keys = max_keys
        self._accounts: OrderedDict[str, _Account] = OrderedDict()

    def __len__(self) -> int:
        """How many keys are tracked."""
        return len(self._accounts)

    def retry_after(self, key: str) -> float:
        """``0.0`` if an attempt for ``key`` is allowed now, else the seconds until it is."""
        account = self._accounts.get(key)
        if account is None:
            return 0.0
        return max(0.0, account.locked_until - self._clock())

    def failed(self, key: str) -> None:
        """Record a failed attempt for ``key``; lock it if that makes too many.

        A failure reported while the key is locked is ignored: the attempt should not have
        been made, and counting it would let a lockout extend itself.
        """
        now = self._clock()
        account = self._accounts.get(key)
        if account is None:
            account = self._accounts[key] = _Account()
            if len(self._accounts) > self._max_keys:
                self._accounts.popitem(last=False)
        else:
            self._accounts.move_to_end(key)
        if account.locked_until > now:
            return
        if now - max(account.last_failure, account.locked_until) >= self._max_lockout_s:
            account.lockouts = 0  # quiet long enough since the last lockout ended: forgive it
        account.last_failure = now
        failures = account.failures
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        failures.append(now)
        if len(failures) >= self._max_failures:
            doublings = min(account.lockouts, _MAX_DOUBLINGS)
            account.locked_until = now + min(self._lockout_s * 2**doublings, self._max_lockout_s)
            account.lockouts += 1
            failures.clear()

    def succeeded(self, key: str) -> None:
        """Forget the failures and lockouts of ``key``."""
        self._accounts.pop(key, None)
