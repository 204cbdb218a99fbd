"""Stopping the broker's background tasks without trusting each of them to stop at the first cancellation.

On Python 3.11 `asyncio.wait_for` can swallow a cancellation that arrives as its inner call completes (fixed in
3.12, where it is built on `asyncio.timeout`), and redis-py or a future change may do the same; a task that
swallowed the broker's one `cancel()` would loop on, and a close that waited for it would wait forever. `stop`
cancels again until every task has ended, within a bound, and then gives up on the rest (logged), so a close
always ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

#: How often a task that is still running is cancelled again.
RECANCEL_S = 0.05


async def stop(tasks: Iterable[asyncio.Task[object]], within: float) -> set[asyncio.Task[object]]:
    """Cancel `tasks` (again every `RECANCEL_S`) until they have ended or `within` seconds have passed; returns
    those still running. Their outcomes are not raised; the caller's own cancellation is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = {task for task in tasks if not task.done()}
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            names = ", ".join(sorted(task.get_name() for task in pending))
            log.warning("%d background task(s) did not stop within %.1f s: %s", len(pending), within, names)
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_S, left))
    return pending
