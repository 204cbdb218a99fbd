"""A full garbage collection when the server goes quiet after churn, instead of in the middle of the next burst.

Everything one WebSocket connection allocates (its transport and streams, Hypercorn's task group and protocol
objects, wsproto's state, our `Connection` and `Outbox`: some 75 objects) is tied in reference cycles, so it is
freed by a full collection only, never by reference counting; and it lives long enough (the whole connection) to
reach the oldest generation. `roomwire serve` makes full collections rare (`cli.FULL_COLLECTION_EVERY`), which
is what keeps them from costing every reconnect storm CPU. The price was that a storm's closed connections
waited, as garbage, for the full collection that some later burst of connections triggered: on one process,
storms of 2,000 took the RSS to ~265 MB instead of ~170 MB, and each storm that met that collection cost 0.65-0.95
ms of CPU per admission instead of 0.4 (docs/benchmarks.md, "Memory across reconnect storms").

`QuietCollector` looks once per `INTERVAL` seconds (one timer, no task): if the process used at most `QUIET_SHARE`
of a core since the last look and young collections ran at least `MIN_YOUNG` times since the last full one (a
burst of allocation happened), it runs the full collection now, while nothing waits for it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Seconds between two looks.
INTERVAL = 1.0
#: At most this share of one core used since the last look counts as quiet.
QUIET_SHARE = 0.05
#: Generation-1 collections since the last full one that make a full collection worth it (a storm of 2,000
#: connections runs about 40; an idle server with chat traffic, a few per minute).
MIN_YOUNG = 20


def _young_and_full() -> tuple[int, int]:
    """(generation-1 collections, full collections) the interpreter has run so far."""
    stats = gc.get_stats()
    return stats[1]["collections"], stats[2]["collections"]


class QuietCollector:
    """See the module docstring. `cpu`, `counts` and `collect` are the process's own unless a test gives others."""

    def __init__(
        self,
        *,
        cpu: Callable[[], float] = time.process_time,
        counts: Callable[[], tuple[int, int]] = _young_and_full,
        collect: Callable[[], int] = gc.collect,
        interval: float = INTERVAL,
    ) -> None:
        self._cpu, self._counts, self._collect, self.interval = cpu, counts, collect, interval
        self._last_cpu = cpu()
        self._young_at_full, self._full = counts()
        self._timer: asyncio.TimerHandle | None = None
        self.collections = 0

    def start(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self.interval, self._look)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _look(self) -> None:
        try:
            self.look()
        finally:
            if self._timer is not None:
                self.start()

    def look(self) -> bool:
        """Collect if quiet after churn (module docstring); True when it did."""
        cpu = self._cpu()
        busy, self._last_cpu = cpu - self._last_cpu, cpu
        young, full = self._counts()
        if full != self._full:  # the interpreter ran one itself: count from there
            self._young_at_full, self._full = young, full
        if busy > QUIET_SHARE * self.interval or young - self._young_at_full < MIN_YOUNG:
            return False
        started = time.monotonic()
        freed = self._collect()
        self.collections += 1
        self._young_at_full, self._full = self._counts()
        self._last_cpu = self._cpu()  # the collection's own CPU is not the next interval's traffic
        log.debug("quiet full collection: %d unreachable objects in %.3f s", freed, time.monotonic() - started)
        return True
