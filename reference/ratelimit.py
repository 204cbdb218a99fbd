"""Rate limits: client frames per connection (LIMIT-003/004), AI requests per server (LIMIT-005), and the plain
token bucket of control frames (LIMIT-007) and of joins per address and room (LIMIT-008).

Both take the time as an argument (`now`, seconds on a monotonic clock), so tests drive them without sleeping.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from dataclasses import dataclass

from roomwire.spec.limits import FLOOD_WINDOW_S


def ceil_seconds(seconds: float) -> int:
    """Whole seconds to wait, rounded up, at least 1 (ERR-001)."""
    return max(1, math.ceil(seconds - 1e-9))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one client frame: process it, or drop it (and whether to say so, and whether to close)."""

    allowed: bool
    notify: bool = False  # send a rate_limited notice (LIMIT-003: at most one per second)
    retry_after: int = 0
    flood: bool = False  # LIMIT-004: the connection keeps flooding; close it with 1008


ALLOWED = Verdict(allowed=True)


class TokenBucket:
    """`burst` tokens refilled at `rate_per_s`; `take` spends one, or says there is none (nothing else happens)."""

    __slots__ = ("_rate", "_burst", "_tokens", "_stamp")

    def __init__(self, rate_per_s: float, burst: float, now: float) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._tokens = burst
        self._stamp = now

    def take(self, now: float) -> bool:
        tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if tokens < 1.0:
            self._tokens = tokens
            return False
        self._tokens = tokens - 1.0
        return True

    def wait(self, now: float) -> float:
        """Seconds until `take` would succeed (0.0 when it would now)."""
        tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self._rate

    def full_at(self) -> float:
        """When the bucket is full again if nothing is taken: from then on it is as good as a new one."""
        return self._stamp + (self._burst - self._tokens) / self._rate


class FrameRateLimiter:
    """A token bucket of `burst` frames refilled at `rate_per_s`, with LIMIT-004's flood detection.

    A frame that finds no token is dropped. The first drop of each second is announced; more than `burst`
    drops within `FLOOD_WINDOW_S` seconds make the connection a flood (the server may then close it).
    """

    __slots__ = ("_rate", "_burst", "_tokens", "_stamp", "_last_notice", "_drops")

    def __init__(self, rate_per_s: float, burst: int, now: float) -> None:
        self._rate = float(rate_per_s)
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = now
        self._last_notice = -math.inf
        self._drops: deque[float] = deque()

    def check(self, now: float) -> Verdict:
        tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return ALLOWED
        self._tokens = tokens
        return self._drop(now, (1.0 - tokens) / self._rate)

    def _drop(self, now: float, wait: float) -> Verdict:
        drops = self._drops
        drops.append(now)
        while drops and drops[0] <= now - FLOOD_WINDOW_S:
            drops.popleft()
        flood = len(drops) > self._burst
        notify = now - self._last_notice >= 1.0  # LIMIT-003: at most one notice per second
        if notify:
            self._last_notice = now
        return Verdict(allowed=False, notify=notify, retry_after=ceil_seconds(wait), flood=flood)


class AiBudget:
    """At most `per_minute` accepted AI requests in any 60-second window, server-wide (LIMIT-005).

    A sliding window, not a plain token bucket: the upstream free tier counts requests per minute, and a bucket
    of `per_minute` tokens refilled continuously would admit up to twice that in one minute, which upstream
    answers with 429. `retry_after` is when the oldest request in the window leaves it.
    """

    WINDOW_S = 60.0

    def __init__(self, per_minute: int, window_s: float = WINDOW_S) -> None:
        self.per_minute = per_minute
        self.window_s = window_s  # shorter only in tests of a shared window (rooms/redis/budget.py)
        self._accepted: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._accepted and self._accepted[0] <= now - self.window_s:
            self._accepted.popleft()

    def try_acquire(self, now: float) -> int:
        """0 when a request is admitted (and counted); otherwise the whole seconds until one would be."""
        self._expire(now)
        accepted = self._accepted
        if len(accepted) < self.per_minute:
            accepted.append(now)
            return 0
        # the admission whose expiry brings the window below `per_minute` (the oldest, unless `record`ed
        # admissions or a lowered `per_minute` put more than that in the window)
        return ceil_seconds(accepted[len(accepted) - self.per_minute] + self.window_s - now)

    def record(self, now: float) -> None:
        """Count an admission decided elsewhere (a shared window), whatever this window holds."""
        self._accepted.append(now)

    def release(self, stamp: float | None = None) -> None:
        """Give back the admission made at `stamp` (default: the most recent): it never reached upstream."""
        if stamp is None:
            if self._accepted:
                self._accepted.pop()
            return
        with contextlib.suppress(ValueError):
            self._accepted.remove(stamp)

    def in_window(self, now: float) -> int:
        self._expire(now)
        return len(self._accepted)
