"""The target's AI budget as the suite spends it: LIMIT-005's `ai_budget_rpm` (SPEC.md §10's 10 when not advertised).

Theory of operation:
- Every `ai_msg` the target accepts counts against its server-wide budget for `WINDOW_S`. The suite keeps its own
  record of when it sent each question it let through (`admit`) and never sends one that would put more than the
  budget's worth of its own questions into any window, plus `MARGIN_S` for the two clocks and the time the target
  takes to read a frame. So a run on a target with the spec's defaults is paced, not refused.
- Someone else may have spent the budget (an earlier run a minute ago, other users of a staging server, a target
  that counts more strictly). A refusal `ai_quota` the suite provoked itself is never another requirement's failure:
  `refused` gives the slot back and holds every later admission until the advertised `retry_after` has passed
  (`DEFAULT_HOLD_S` without one, never more than `MAX_HOLD_S`); the asker then tries again, at most `MAX_TRIES`
  times, and otherwise SKIPs saying so (roomwire.conformance.checks.common.ask).
- Waiting for the budget is not work: while a check waits here it gives its concurrency slot back (`Gate`), so the
  checks that need no AI run meanwhile.
- LIMIT-005's drain is the only spender that wants refusals; it runs last and says what it spent.

The counts (`stats`) are the run's facts: AI requests the target accepted, those it refused for the budget, and
how long the suite waited.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

WINDOW_S = 60.0
MARGIN_S = 2.0
DEFAULT_HOLD_S = 60
MAX_HOLD_S = 65.0
MAX_TRIES = 3


@dataclass
class Slot:
    """One check's place under the gate: whether it holds a slot now, and how long it has waited idle."""

    holding: bool = False
    idle_s: float = 0.0
    idle_since: float | None = None

    def idle_total(self, now: float) -> float:
        """Time spent waiting (for the AI budget, for a shared answer), the current wait included."""
        return self.idle_s + (now - self.idle_since if self.idle_since is not None else 0.0)


class Gate:
    """The runner's bound on checks running at once. A check that only waits (for the AI budget, for an answer
    another check asked for) gives its slot back meanwhile (`idle`), and that time does not count against its own
    time budget (the runner reads `Slot.idle_total`)."""

    def __init__(self, concurrency: int) -> None:
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._slot: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("gate slot", default=None)

    @contextlib.asynccontextmanager
    async def slot(self, *, bounded: bool = True) -> AsyncIterator[Slot]:
        """A check's slot (`bounded` False: an exclusive check, which runs alone and only has its idle time kept)."""
        slot = Slot()
        token = self._slot.set(slot)
        try:
            if bounded:
                await self._semaphore.acquire()
                slot.holding = True
            yield slot
        finally:
            if slot.holding:
                self._semaphore.release()
            self._slot.reset(token)

    @contextlib.asynccontextmanager
    async def idle(self) -> AsyncIterator[None]:
        """Release the caller's slot (if it holds one) while the block waits; take one again afterwards."""
        slot = self._slot.get()
        if slot is None or slot.idle_since is not None:  # not a check, or already idle (a wait inside a wait)
            yield
            return
        released = slot.holding
        if released:
            self._semaphore.release()
            slot.holding = False
        slot.idle_since = time.monotonic()
        try:
            yield
        finally:
            if released:
                await self._semaphore.acquire()
                slot.holding = True
            slot.idle_s += time.monotonic() - slot.idle_since
            slot.idle_since = None


@dataclass
class Admission:
    """Questions let through together: when they were sent (the suite's clock) and how many still count."""

    at: float
    count: int = 1
    drain: bool = False  # LIMIT-005's, sent to be refused


@dataclass
class BudgetStats:
    accepted: int = 0
    refused: int = 0  # refusals of the suite's paced questions, each asked again
    drained: int = 0  # questions of LIMIT-005's drain the target accepted
    drain_refused: int = 0  # and those it refused, as the drain wants
    waited_s: float = 0.0


class AiBudget:
    """See the module docstring. `clock` and `sleep` are injectable for the suite's own tests."""

    def __init__(
        self,
        rpm: int,
        *,
        gate: Gate | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rpm = max(1, rpm)
        self.gate = gate
        self.clock = clock
        self.sleep = sleep
        self.stats = BudgetStats()
        self._sent: list[Admission] = []
        self._hold_until = 0.0
        self._lock = asyncio.Lock()

    def inherit(self, earlier: AiBudget) -> None:
        """What an earlier run spent on the same target, and its hold: the target still counts them."""
        self._sent = [a for a in earlier._sent if a.count > 0]
        self._hold_until = earlier._hold_until

    def in_window(self, now: float | None = None) -> int:
        """Questions of the suite's own that the target may still count (sent within the window and margin)."""
        now = self.clock() if now is None else now
        self._sent = [a for a in self._sent if a.count > 0 and a.at > now - WINDOW_S - MARGIN_S]
        return sum(a.count for a in self._sent)

    def _ready_at(self, count: int, now: float) -> float:
        """When `count` more questions fit: after the hold, and once enough of the oldest have left the window."""
        ready = max(now, self._hold_until)
        excess = self.in_window(now) + count - self.rpm
        for admission in sorted(self._sent, key=lambda a: a.at):
            if excess <= 0:
                break
            ready = max(ready, admission.at + WINDOW_S + MARGIN_S)
            excess -= admission.count
        return ready

    def _idle(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.gate.idle() if self.gate is not None else contextlib.nullcontext()

    async def admit(self, count: int = 1) -> Admission:
        """Wait until `count` questions (at most the budget) fit, then record them as sent now.

        The caller's concurrency slot is given back while it waits, and the time is taken once it has it again:
        that is when the question really goes out."""
        count = min(max(1, count), self.rpm)
        async with self._idle(), self._lock:
            while (ready := self._ready_at(count, now := self.clock())) > now:
                await self.sleep(ready - now)
                self.stats.waited_s += ready - now
            admission = Admission(self.clock(), count)
            self._sent.append(admission)
            self.stats.accepted += count
        admission.at = self.clock()
        return admission

    def spend(self, count: int = 1) -> Admission:
        """Record questions sent without waiting (LIMIT-005's drain, which wants the refusal)."""
        admission = Admission(self.clock(), count, drain=True)
        self._sent.append(admission)
        self.stats.accepted += count
        self.stats.drained += count
        return admission

    def refused(self, admission: Admission, retry_after: object) -> float:
        """The target answered `ai_quota`: that question does not count, and nothing is sent before `retry_after`
        (DEFAULT_HOLD_S without a usable one, at most MAX_HOLD_S). Returns the hold in seconds."""
        self.give_back(admission)
        if admission.drain:
            self.stats.drained -= 1
            self.stats.drain_refused += 1
        else:
            self.stats.refused += 1
        usable = isinstance(retry_after, int) and not isinstance(retry_after, bool) and retry_after >= 1
        wait = retry_after if usable and isinstance(retry_after, int) else DEFAULT_HOLD_S
        hold = min(MAX_HOLD_S, wait + MARGIN_S / 2)
        self._hold_until = max(self._hold_until, self.clock() + hold)
        return hold

    def give_back(self, admission: Admission, count: int = 1) -> None:
        """Questions admitted that the target did not accept (ai_quota, ai_busy, a refused frame)."""
        count = min(count, admission.count)
        admission.count -= count
        self.stats.accepted -= count

    def summary(self) -> str:
        stats = self.stats
        text = f"{stats.accepted} accepted (ai_budget_rpm {self.rpm})"
        if stats.drained or stats.drain_refused:
            text += (
                f", {stats.drained} of them by LIMIT-005's drain (refused {stats.drain_refused} time(s), as it wants)"
            )
        if stats.refused:
            text += f"; {stats.refused} of the paced questions refused for the budget (ai_quota) and asked again"
        if stats.waited_s >= 1:
            text += f", {stats.waited_s:.0f} s spent waiting for the budget"
        return text
