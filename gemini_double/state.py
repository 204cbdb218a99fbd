"""Everything one running double holds: its config, faults, quota counters, journal and live requests.

All of it is touched only from the double's event loop (the control API is served by the same loop), so no
locks. `stop_all` is how shutdown reaches requests that would otherwise wait forever (`stall`, slow latency).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping

from . import canned
from .answers import SentenceBank
from .config import DoubleConfig
from .faults import FaultQueue
from .journal import Journal
from .quota import QuotaTracker

#: How many `release` matches a double remembers for requests that have not come yet.
RELEASES_KEPT = 1_000


class DoubleState:
    """The mutable side of a double; the config itself is immutable and replaced whole."""

    def __init__(
        self,
        config: DoubleConfig,
        *,
        bank: SentenceBank | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.bank = bank if bank is not None else canned.sentence_bank()
        self.clock = clock
        self.faults = FaultQueue()
        self.quota = QuotaTracker()
        self.journal = Journal(config.journal_limit)
        self.stopping = False
        self._live: set[asyncio.Event] = set()
        self._held: dict[asyncio.Event, str] = {}
        self._released: deque[str] = deque(maxlen=RELEASES_KEPT)

    def configure(self, changes: Mapping[str, object]) -> DoubleConfig:
        """Apply control-API changes; raises `ConfigError` and changes nothing when one is bad."""
        self.config = self.config.updated(changes)
        self.journal.resize(self.config.journal_limit)
        return self.config

    def reset(self) -> None:
        """Forget faults, journal, quota counters and past releases; keep the config."""
        self.faults.clear()
        self.journal.clear()
        self.quota.clear()
        self._released.clear()

    def interrupt_event(self) -> asyncio.Event:
        """An event for one request, set at shutdown; give it back with `release`."""
        event = asyncio.Event()
        if self.stopping:
            event.set()
        self._live.add(event)
        return event

    def release(self, event: asyncio.Event) -> None:
        self._live.discard(event)

    def hold_for(self, last_user_text: str) -> asyncio.Event:
        """The release of one `hold`-faulted stream (set by `release_held`); give it back with `end_hold`. Made
        before the stream starts, and set at once for a request that a release already named (the last
        `RELEASES_KEPT`): a release that comes before the hold begins, or before the request, is not lost."""
        event = asyncio.Event()
        if any(match in last_user_text for match in self._released):
            event.set()
        self._held[event] = last_user_text
        return event

    def end_hold(self, event: asyncio.Event) -> None:
        self._held.pop(event, None)

    def release_held(self, match: str) -> int:
        """Release every held stream whose request's last user turn contains `match`; how many there were."""
        self._released.append(match)
        released = [event for event, text in self._held.items() if match in text and not event.is_set()]
        for event in released:
            event.set()
        return len(released)

    def stop_all(self) -> None:
        """Interrupt every live request, now and later: the double is shutting down."""
        self.stopping = True
        for event in self._live:
            event.set()

    def now_ms(self) -> float:
        return self.clock() * 1000.0
