"""Hypercorn's HTTP keep-alive idle timeout, started only for connections that stay idle.

Hypercorn's asyncio `TCPServer` restarts an `AsyncioSingleTask` running its `_idle_timeout` whenever a connection
becomes idle (when it is accepted, and between keep-alive requests) and stops it when a request begins. Each
restart creates a task, whose `asyncio.wait_for` creates a second one, and each stop cancels and awaits them.
A WebSocket client sends its upgrade request at once, so for every admitted connection that churn is pure cost:
0.1-0.25 ms of CPU per connection in a reconnect storm (docs/benchmarks.md, `storm`), a fifth of admission.

`DeferredSingleTask` arms a timer instead and starts the task only when the connection is still idle `DEFER`
seconds later. A connection that sends its request in time costs one timer armed and cancelled. One that stays
idle is closed `DEFER` seconds later than Hypercorn would (keep-alive timeout + `DEFER`), and at shutdown an idle
connection closes at most `DEFER` seconds later; nothing else changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hypercorn.asyncio import tcp_server
from hypercorn.asyncio.worker_context import AsyncioSingleTask

#: Seconds a connection must stay idle before the idle-timeout task starts.
DEFER = 0.5


class DeferredSingleTask(AsyncioSingleTask):
    """`AsyncioSingleTask` whose task starts `DEFER` seconds after `restart`, unless `stop` or `restart` came first."""

    def __init__(self) -> None:
        super().__init__()
        self._timer: asyncio.TimerHandle | None = None

    async def restart(self, task_group: Any, action: Callable[[], Any]) -> None:
        self._disarm()
        if self._handle is not None:
            await super().stop()
        self._timer = asyncio.get_running_loop().call_later(DEFER, self._start, task_group, action)

    async def stop(self) -> None:
        self._disarm()
        if self._handle is not None:
            await super().stop()

    def _start(self, task_group: Any, action: Callable[[], Any]) -> None:
        self._timer = None
        coroutine = action()
        try:
            self._handle = task_group._task_group.create_task(coroutine)
        except RuntimeError:  # the connection's task group is finishing: nothing left to time out
            coroutine.close()  # never to run: closed, not left to warn "never awaited" when collected
            self._handle = None

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def install() -> None:
    """Make Hypercorn's asyncio `TCPServer` use `DeferredSingleTask` (idempotent)."""
    setattr(tcp_server, "AsyncioSingleTask", DeferredSingleTask)  # noqa: B010 - its module-level name, replaced
