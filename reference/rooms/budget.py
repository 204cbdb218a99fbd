"""The server-wide AI budget (LIMIT-005) as the broker provides it: one process, or every instance on one Redis.

`on_ai_msg` asks `Budget.acquire` once per question and refuses with `ai_quota` when the answer names a wait.
The budget belongs to the broker because "server-wide" means every instance that shares rooms: with `memory://`
that is this process (`LocalBudget`, ratelimit.AiBudget's sliding window); with `redis://` it is every instance
on that Redis (redis/budget.py), since upstream's quota is per API key, not per process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from time import monotonic

from roomwire.reference.ratelimit import AiBudget


@dataclass(frozen=True, slots=True)
class Grant:
    """A budget decision: `wait` 0 means admitted (and counted), else the whole seconds to wait (ERR-001).

    `stamp` and `member` identify the admission, so that `release` gives back that one and no other.
    """

    wait: int
    stamp: float = 0.0  # when it was admitted, on this process's monotonic clock
    member: str = ""  # its unique name in a shared window ("" when local)


class Budget(ABC):
    """At most `per_minute` admitted AI requests in any 60-second window, wherever "server-wide" reaches."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute

    @abstractmethod
    async def acquire(self) -> Grant:
        """Admit one request now, or say how long to wait; bounded in time, never raises."""

    @abstractmethod
    async def release(self, grant: Grant) -> None:
        """Give back an admission whose request never reached upstream; never raises."""


class LocalBudget(Budget):
    """The budget of one process: `AiBudget`'s sliding window on the monotonic clock (never suspends)."""

    def __init__(self, per_minute: int) -> None:
        super().__init__(per_minute)
        self.window = AiBudget(per_minute)

    async def acquire(self) -> Grant:
        now = monotonic()
        return Grant(self.window.try_acquire(now), stamp=now)

    async def release(self, grant: Grant) -> None:
        if not grant.wait:
            self.window.release(grant.stamp)
