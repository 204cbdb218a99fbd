"""Hypercorn's keep-alive idle timeout as a timer first (reference/idle_timer.py), and the server that uses it."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Coroutine
from typing import Any

import pytest
from hypercorn.asyncio import tcp_server

from roomwire.reference import hypercorn_ext, idle_timer
from roomwire.reference.idle_timer import DeferredSingleTask
from tests.reference.helpers import Client, serving


class Group:
    """What `DeferredSingleTask` uses of Hypercorn's task group: `_task_group.create_task`."""

    def __init__(self) -> None:
        self._task_group = self
        self.started: list[asyncio.Task[None]] = []

    def create_task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self.started.append(task)
        return task


@pytest.fixture(autouse=True)
def short_defer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idle_timer, "DEFER", 0.05)


async def test_a_connection_that_stops_being_idle_in_time_never_starts_the_task() -> None:
    ran: list[str] = []

    async def action() -> None:
        ran.append("idle timeout")

    single, group = DeferredSingleTask(), Group()
    await single.restart(group, action)
    await single.stop()  # the request came: nothing was started
    await asyncio.sleep(0.1)
    assert ran == [] and group.started == []


async def test_a_connection_still_idle_after_the_delay_runs_the_task_once() -> None:
    ran: list[str] = []

    async def action() -> None:
        ran.append("idle timeout")
        await asyncio.sleep(10)

    single, group = DeferredSingleTask(), Group()
    await single.restart(group, action)
    await single.restart(group, action)  # idle again: the first timer is replaced, not added to
    await asyncio.sleep(0.15)
    assert ran == ["idle timeout"] and len(group.started) == 1
    await single.stop()  # a started task is cancelled and awaited, as Hypercorn's own
    assert group.started[0].cancelled()


class FinishingGroup(Group):
    """A task group that is finishing (its connection closed meanwhile): it takes no new task."""

    def create_task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        raise RuntimeError("the task group is closing")


async def test_a_timer_firing_on_a_finishing_connection_closes_the_coroutine_it_made() -> None:
    made: list[Coroutine[Any, Any, None]] = []

    async def idle_timeout() -> None:  # pragma: no cover - never runs
        pass

    def action() -> Coroutine[Any, Any, None]:
        made.append(idle_timeout())
        return made[-1]

    single = DeferredSingleTask()
    await single.restart(FinishingGroup(), action)
    await asyncio.sleep(0.15)
    # closed, so it never warns "coroutine was never awaited" (an unraisable warning in whatever runs next)
    assert len(made) == 1 and inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED
    await single.stop()


async def test_the_server_installs_it_and_an_idle_http_connection_is_still_closed() -> None:
    assert hypercorn_ext.install() and getattr(tcp_server, "AsyncioSingleTask") is DeferredSingleTask  # noqa: B009
    async with serving() as server:
        host, port = server.http.split("//")[1].rstrip("/").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:  # sends nothing: Hypercorn's keep-alive timeout (5 s) plus DEFER closes it
            assert await asyncio.wait_for(reader.read(), 15) == b""
        finally:
            writer.close()
        async with Client.connect(server.ws("r")) as client:  # upgrades are unaffected
            await client.joined()
