"""How long the suite's own event loop could not run: a stall is the harness's time, never the target's.

Every wait on the target is a timeout on the loop's clock. When the loop is blocked (a synchronous computation
of the suite, a thread holding the GIL, a machine whose cores are busy with other work), the timer of a wait
that began before the stall expires during it, and fires in the same loop iteration that first sees the
target's answer, before the several iterations it takes to read it. An opening handshake in flight then
"timed out" although the target answered at once: a harness stall reported as the target's failure.

`LoopStalls` is a ticker that sleeps `PERIOD` and measures how late it wakes up; lateness beyond `THRESHOLD`
counts as a stall. `stalled()` is the running total in seconds, including a stall still in progress (the
ticker has not woken yet), so a timeout that fires right after a stall sees it. A wait on the target
(`Driver` opening a connection, `Client.wait_for`) extends its deadline by the stall that happened during it,
plus `CATCH_UP` (the lateness falls short of the stall by up to `PERIOD`, and after a stall the loop needs a
few iterations to read what arrived during it), up to `MAX_CREDIT` times its own length, and the transcript says
so. A target that does not answer within its time while the suite's loop ran is still a timeout: no stall,
no credit. A block the suite makes on purpose while no wait is in flight (the runner's `prepare` step) is
`deliberate()`: neither reported nor credited.

What the ticker cannot tell apart: anything sharing the suite's loop. A target served in that loop (the
suite's own tests, `in_process`) that blocks it is credited like the harness; an unknown target never is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

#: How often the ticker wakes up, and how late it must be for the lateness to count as a stall.
PERIOD = 0.05
THRESHOLD = 0.05
#: A wait is extended by at most this many times its own length (a harness stalled for good still ends).
MAX_CREDIT = 3.0
#: Added to the credit of a wait a stall extended at all (see the module docstring), within the same bound.
CATCH_UP = 0.25


class LoopStalls:
    """See the module docstring. `start()` on the loop to measure; until then `stalled()` is 0."""

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.longest = 0.0
        self.credited = 0  # waits whose deadline a stall extended (the run's facts report it)
        self._due: float | None = None
        self._excused = 0.0  # deliberate blocking since the ticker last woke (subtracted from its lateness)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start measuring on the running loop (idempotent)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._tick(), name="loop stall ticker")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._due = loop.time() + PERIOD
                await asyncio.sleep(PERIOD)
                self._record(loop.time() - self._due)
        finally:
            self._due, self._excused = None, 0.0

    def _record(self, late: float) -> None:
        late, self._excused = late - self._excused, 0.0
        if late > THRESHOLD:
            self.total += late
            self.count += 1
            self.longest = max(self.longest, late)

    def stalled(self) -> float:
        """Seconds the loop has been stalled since `start()`, a stall in progress included."""
        if self._due is None:
            return self.total
        late = asyncio.get_running_loop().time() - self._due - self._excused
        return self.total + (late if late > THRESHOLD else 0.0)

    @contextlib.contextmanager
    def deliberate(self) -> Iterator[None]:
        """Block the loop on purpose, while no wait on the target is in flight: not a stall of a busy machine
        to report, and no wait to credit. Waits in flight would lose their credit for it, hence the condition."""
        if self._due is None:  # not measuring: nothing to excuse
            yield
            return
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            yield
        finally:
            self._excused += loop.time() - began

    def deadline(self, started: float, within: float, stalled_at_start: float) -> float:
        """The loop time a wait of `within` seconds that began at `started` ends at, given the stalls since.

        A difference at or under `THRESHOLD` is no stall of the wait's own (a stall that ended just before it
        began, recorded a moment later), so it earns nothing, `CATCH_UP` included."""
        stalled = self.stalled() - stalled_at_start
        if stalled <= THRESHOLD:
            return started + within
        return started + within + min(stalled + CATCH_UP, within * MAX_CREDIT)

    def wait(self, within: float) -> StallWait:
        """A wait of `within` seconds on the target, beginning now."""
        return StallWait(self, within, asyncio.get_running_loop().time(), self.stalled())

    def summary(self) -> str | None:
        """For the run's facts: the stalls worth mentioning (half a second or more in all), else None."""
        if self.total < 0.5:
            return None
        credited = f"; {self.credited} wait(s) on the target were given that time back" if self.credited else ""
        return (
            f"the suite's own event loop stalled {self.count} time(s), {self.total:.1f} s in all (longest "
            f"{self.longest:.1f} s: a busy machine or the suite's own computation){credited}"
        )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass(frozen=True)
class StallWait:
    """One wait on the target (`LoopStalls.wait`): its deadline with the credit for stalls since it began."""

    stalls: LoopStalls
    within: float
    started: float
    stalled_at_start: float

    @property
    def deadline(self) -> float:
        return self.stalls.deadline(self.started, self.within, self.stalled_at_start)

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()

    def overdue(self) -> float | None:
        """When the wait ends now past its own time thanks to a stall's credit (not merely a timer's late tick):
        counts it in `credited` and returns the seconds stalled during it; else None. Ask once, as a wait ends."""
        if (
            asyncio.get_running_loop().time() <= self.started + self.within
            or self.deadline <= self.started + self.within
        ):
            return None
        self.stalls.credited += 1
        return self.stalls.stalled() - self.stalled_at_start
