"""Requests-per-minute quota per (model, key), as the free tier enforces it. Pure: the caller passes the time.

A sliding window: a request is admitted when fewer than `limit` admitted requests of the same model and key
fall in the last `window` seconds; otherwise the caller gets the delay until the oldest of them leaves the
window (that is the `retryDelay` of the 429). Rejected requests do not count, so a client that waits the
announced delay gets through.
"""

from __future__ import annotations

from collections import deque


class QuotaTracker:
    """Admitted request times per (model, key fingerprint)."""

    def __init__(self) -> None:
        self._admitted: dict[tuple[str, str], deque[float]] = {}

    def admit(self, model: str, key: str, limit: int | None, now: float, window: float = 60.0) -> float | None:
        """Admit a request, or return the seconds until it would be admitted.

        Args:
            model: the model asked for.
            key: the key's fingerprint.
            limit: requests allowed per window; None admits everything (and records nothing).
            now: the current time in seconds (monotonic).
            window: the window's length in seconds.
        """
        if limit is None:
            return None
        times = self._admitted.setdefault((model, key), deque())
        while times and times[0] <= now - window:
            times.popleft()
        if len(times) >= limit:
            return times[len(times) - limit] + window - now
        times.append(now)
        return None

    def clear(self) -> None:
        self._admitted.clear()
