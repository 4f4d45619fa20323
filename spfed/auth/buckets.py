"""Token buckets by key: a steady rate of requests per key, with bursts up to a bound.

The gatekeeper keeps one per source address for ``IssueToken``, whatever the
credential: it caps the password hashing and database work one address can
cause, across every account it tries (password spraying), before any
per-account throttle is consulted.

Each key's bucket holds up to ``burst`` tokens and gains ``rate_per_s`` tokens a
second; a request takes one, or is refused with the time until one is there.
Memory is bounded: at most ``max_keys`` buckets are kept, and the one used
least recently is dropped first. A dropped bucket starts full again, which is
also what it would have become had it been left to refill, unless it was
dropped within ``burst / rate_per_s`` seconds of its last use; pushing it out
that fast takes ``max_keys`` other sources, each of which has its own bucket.

The state is per process and in memory; it is synchronous and meant for one
event loop.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from spfed.errors import InvalidArgument

__all__ = ["TokenBuckets"]


@dataclass
class _Bucket:
    tokens: float
    at: float
    """When ``tokens`` was last brought up to date."""


class TokenBuckets:
    """One token bucket per key; see the module docstring."""

    def __init__(
        self,
        *,
        rate_per_s: float,
        burst: int,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Allow each key ``burst`` requests at once and ``rate_per_s`` a second after that.

        ``clock`` gives seconds on a monotonic scale, as ``time.monotonic``.

        Raises:
            InvalidArgument: ``rate_per_s`` is not a positive finite number, or ``burst`` or
                ``max_keys`` is below 1.
        """
        if not (math.isfinite(rate_per_s) and rate_per_s > 0):
            raise InvalidArgument("rate_per_s must be a positive number")
        if burst < 1 or max_keys < 1:
            raise InvalidArgument("burst and max_keys must be at least 1")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """How many keys have a bucket."""
        return len(self._buckets)

    def take(self, key: str) -> float:
        """Take a token of ``key``'s bucket: ``0.0`` if there was one, else the seconds until
        there is (nothing is taken then, so refused requests cost the caller nothing more)."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self._burst, now)
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            # max(): a clock that stepped back must not drain the bucket
            bucket.tokens = min(self._burst, bucket.tokens + max(0.0, now - bucket.at) * self._rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate
