"""Everything one running double holds: its config, faults, quota counters, journal and live requests.

All of it is touched only from the double's event loop (the control API is served by the same loop), so no
locks. `stop_all` is how shutdown reaches requests that would otherwise wait forever (`stall`, slow latency).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from . import canned
from .answers import SentenceBank
from .config import DoubleConfig
from .faults import FaultQueue
from .journal import Journal
from .quota import QuotaTracker


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

    def configure(self, changes: Mapping[str, object]) -> DoubleConfig:
        """Apply control-API changes; raises `ConfigError` and changes nothing when one is bad."""
        self.config = self.config.updated(changes)
        self.journal.resize(self.config.journal_limit)
        return self.config

    def reset(self) -> None:
        """Forget faults, journal and quota counters; keep the config."""
        self.faults.clear()
        self.journal.clear()
        self.quota.clear()

    def interrupt_event(self) -> asyncio.Event:
        """An event for one request, set at shutdown; give it back with `release`."""
        event = asyncio.Event()
        if self.stopping:
            event.set()
        self._live.add(event)
        return event

    def release(self, event: asyncio.Event) -> None:
        self._live.discard(event)

    def stop_all(self) -> None:
        """Interrupt every live request, now and later: the double is shutting down."""
        self.stopping = True
        for event in self._live:
            event.set()

    def now_ms(self) -> float:
        return self.clock() * 1000.0
