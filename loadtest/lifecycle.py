"""Graceful stop: users stop sending, in-flight answers and broadcasts land, and only then Locust stops users.

Without this, whatever is in flight when `--run-time` ends is lost: Locust kills user greenlets at once, and in
distributed mode the master quits 0.5 s after telling workers to, so samples fired later never reach it. A
missing ai_done or delivery must be a failure, never silently dropped, and one still on its way when the run
ends must not be called missing either. So on `test_stopping`:

    local / worker   set `draining` (users' tasks send nothing more), then wait until no client has anything
                     pending (each wait ends by arrival or by its own deadline), at most --drain-s
    master           send `roomwire_drain` to every worker and wait for each `roomwire_drained` reply, so the
                     workers' last samples are in their stats before the master's quit collects them

A run therefore lasts --run-time plus at most --drain-s (default: the longer deadline plus one second).
`test_start` clears the flag, so a web-UI user can start again.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import TYPE_CHECKING, Any

import gevent

if TYPE_CHECKING:
    from roomwire.loadtest.client import RoomwireClient

DRAIN_MESSAGE = "roomwire_drain"
DRAINED_MESSAGE = "roomwire_drained"

CLIENTS: weakref.WeakSet[RoomwireClient] = weakref.WeakSet()
_state = {"draining": False}
_replies: set[str] = set()
logger = logging.getLogger(__name__)


def draining() -> bool:
    return _state["draining"]


def reset() -> None:
    _state["draining"] = False


def pending() -> int:
    """What this process's clients still wait for (own echoes and AI answers)."""
    return sum(client.meter.pending for client in list(CLIENTS) if client.connected and client.meter is not None)


def drain_local(timeout_s: float) -> int:
    """Stop new sends and wait up to `timeout_s` for pending waits to end; returns how many are left."""
    _state["draining"] = True
    deadline = time.monotonic() + timeout_s
    while (left := pending()) and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if left:
        logger.warning("roomwire: %d waits still pending after draining %.1f s; they count as failed", left, timeout_s)
    return left


def drain_workers(runner: Any, timeout_s: float) -> None:
    """Master side: ask every worker to drain and wait (bounded) until each has answered."""
    workers = {client.id for client in runner.clients.all}
    if not workers:
        return
    _replies.clear()
    runner.send_message(DRAIN_MESSAGE, {"timeout_s": timeout_s})
    deadline = time.monotonic() + timeout_s + 5.0
    while not workers <= _replies and time.monotonic() < deadline:
        gevent.sleep(0.1)
    if not workers <= _replies:
        logger.warning("roomwire: %d workers did not confirm draining", len(workers - _replies))


def on_drain_request(environment: Any, msg: Any, **_: Any) -> None:
    """Worker side. The drain runs in a greenlet of its own: the worker's message loop must keep answering the
    master's heartbeats meanwhile."""
    gevent.spawn(_drain_and_reply, environment, float(msg.data["timeout_s"]))


def _drain_and_reply(environment: Any, timeout_s: float) -> None:
    drain_local(timeout_s)
    environment.runner.send_message(DRAINED_MESSAGE, {})


def on_drained(environment: Any, msg: Any, **_: Any) -> None:
    _replies.add(msg.node_id)
