"""Keepalive for every WebSocket of one event loop (PRES-004), driven by one timer instead of a task each.

`hypercorn_ext.RoomwireWSStream` enrols each stream at accept (`pinger().schedule`); the timer calls its
`_rw_keepalive_due(generation)` when a ping is due or a pong is overdue.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import weakref
from typing import Protocol

log = logging.getLogger(__name__)


class Pingable(Protocol):
    """A stream the timer drives (`hypercorn_ext.RoomwireWSStream`)."""

    def _rw_keepalive_due(self, generation: int) -> None: ...


class Pinger:
    """Keepalive for every `Pingable` of one event loop, driven by one timer instead of a task each.

    A stream is pinged `websocket_ping_interval` seconds after its accept and after each pong; a ping that has no
    pong `websocket_ping_timeout` seconds after it was sent ends the stream (PRES-004). Each due time is a heap
    entry (due, order, weak reference, generation); an entry whose generation is not the stream's current one
    (its ping was answered) or whose stream is gone is dropped when it comes up.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref[Pingable], int]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._running = False

    def schedule(self, stream: Pingable, delay: float, generation: int) -> None:
        due = asyncio.get_running_loop().time() + delay
        heapq.heappush(self._heap, (due, next(self._order), weakref.ref(stream), generation))
        if not self._running and (self._timer is None or due < self._timer.when()):
            self._arm()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._heap:
            self._timer = asyncio.get_running_loop().call_at(self._heap[0][0], self._run)

    def _run(self) -> None:
        self._timer = None
        self._running = True
        try:
            heap, now = self._heap, asyncio.get_running_loop().time()
            while heap and heap[0][0] <= now:
                _, _, ref, generation = heapq.heappop(heap)
                stream = ref()
                if stream is not None:
                    try:
                        stream._rw_keepalive_due(generation)
                    except Exception:  # one stream's failure must not stop the others' keepalive
                        log.exception("keepalive of one connection failed")
        finally:
            self._running = False
            self._arm()


_pingers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Pinger] = weakref.WeakKeyDictionary()


def pinger() -> Pinger:
    """The running loop's `Pinger` (made on first use)."""
    loop = asyncio.get_running_loop()
    found = _pingers.get(loop)
    if found is None:
        found = _pingers[loop] = Pinger()
    return found
