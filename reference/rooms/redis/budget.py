"""The AI budget of every instance on one Redis (LIMIT-005): `RedisBudget`.

Upstream's quota is per API key, so "server-wide" means every instance: with a budget per process, N instances
would admit N × `ai_budget_rpm` and upstream would answer the excess with 429. Healthy, each decision is one
script (scripts.BUDGET): a sliding window of admissions in a sorted set, each a unique member scored with
Redis's clock, so instance clocks do not matter; the key expires a window after the last admission.

While Redis is lost, or a call does not answer within `timeout_s` (so a client never waits long for the
answer), the instance decides alone, from a local window sized to its fair share: `ai_budget_rpm` divided by
the instances holding a lease when it last counted (at least 1). That window also holds the instance's own
shared admissions of the last minute, so an outage does not give it its share on top of what it just used.
What it admits alone is added to the shared window with its age at the next call that reaches Redis, so the
other instances count it too. Nothing here raises into the connection: any failure means "decide locally".
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from time import monotonic

from roomwire.reference.ratelimit import AiBudget
from roomwire.reference.rooms.budget import Budget, Grant
from roomwire.reference.rooms.redis.link import LOST
from roomwire.reference.rooms.redis.state import Instance
from roomwire.reference.rooms.redis.store import Store

log = logging.getLogger(__name__)

#: Longest wait, in seconds, for Redis's answer before deciding locally (less when the broker's timeout is less).
MAX_WAIT_S = 1.0


class RedisBudget(Budget):
    """LIMIT-005 shared by every instance on the broker's Redis (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        instance: Instance,
        per_minute: int,
        *,
        window_s: float = AiBudget.WINDOW_S,
        timeout_s: float = MAX_WAIT_S,
    ) -> None:
        super().__init__(per_minute)
        self.store = store
        self.instance = instance
        self.window_s = window_s
        self.timeout_s = min(timeout_s, store.options.timeout_s)
        self.local = AiBudget(per_minute, window_s)  # this instance's admissions, shared or not; the fallback's window
        self.pending: dict[str, float] = {}  # admitted while Redis was lost, not yet in the shared window
        self.alone = False  # the last decision was local (logged once per change)
        self._prefix = secrets.token_hex(6)
        self._numbers = itertools.count(1)

    async def acquire(self) -> Grant:
        now = monotonic()
        member = f"{self._prefix}.{next(self._numbers)}"
        try:
            wait = await self._shared(member, now)
        except Exception as exc:  # a bug or a Redis refusal (OOM, say): never the connection's problem
            log.warning("the shared AI budget failed (%s); deciding locally", type(exc).__name__)
            wait = None
        if wait is None:
            return self._alone(member, now)
        if self.alone:
            self.alone = False
            log.info("the AI budget is shared across instances again")
        if wait == 0:
            self.local.record(now)
        return Grant(wait, stamp=now, member=member)

    async def release(self, grant: Grant) -> None:
        """Take the admission out of both windows; if Redis cannot be told, it stays counted (the safe side)."""
        if grant.wait:
            return
        self.local.release(grant.stamp)
        if self.pending.pop(grant.member, None) is not None:
            return  # Redis never heard of it
        if not self.store.reachable:
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.store.withdraw(grant.member)
        except Exception as exc:
            log.debug("could not release an AI budget admission (%s)", type(exc).__name__)

    @property
    def share(self) -> int:
        """This instance's part of the budget while it decides alone."""
        return max(1, self.per_minute // self.instance.live_instances)

    async def _shared(self, member: str, now: float) -> int | None:
        """The BUDGET script's answer, or None when Redis is lost or slow (a lost link is reported as such)."""
        if not self.store.reachable:
            return None
        told = dict(self.pending)
        ages = [(name, max(0, round((now - stamp) * 1000))) for name, stamp in told.items()]
        scope = asyncio.timeout(self.timeout_s)
        try:
            async with scope:
                wait = await self.store.admit(round(self.window_s * 1000), self.per_minute, member, ages)
        except LOST as exc:
            if not scope.expired():  # our own deadline alone is no outage (a burst may fill the pool)
                self.store.lost(exc)
            return None
        for name in told:
            self.pending.pop(name, None)
        return wait

    def _alone(self, member: str, now: float) -> Grant:
        if not self.alone:
            self.alone = True
            log.warning("the shared AI budget is out of reach; this instance admits its share (%d/min)", self.share)
        for name, stamp in list(self.pending.items()):
            if now - stamp >= self.window_s:
                del self.pending[name]
        self.local.per_minute = self.share
        wait = self.local.try_acquire(now)
        if wait == 0:
            self.pending[member] = now
        return Grant(wait, stamp=now, member=member)
