"""`stopping.stop`: the broker's close ends even when a background task swallows a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from roomwire.reference.rooms.redis import stopping


@contextlib.asynccontextmanager
async def stubborn_task() -> AsyncIterator[asyncio.Task[None]]:
    """A task named "stubborn" that ignores every cancellation until the block ends (then it is stopped)."""
    release = asyncio.Event()

    async def ignores_cancellation() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(60)

    task = asyncio.ensure_future(ignores_cancellation())
    task.set_name("stubborn")
    await asyncio.sleep(0)
    try:
        yield task
    finally:
        release.set()
        task.cancel()
        await asyncio.wait([task])


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again_and_stops() -> None:
    """Python 3.11's `wait_for` can swallow a cancel that meets its inner call's end: the task then loops on."""
    rounds = 0

    async def swallows_the_first() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                if rounds > 1:
                    raise  # the second cancel is taken

    task = asyncio.ensure_future(swallows_the_first())
    await asyncio.sleep(0)
    assert await asyncio.wait_for(stopping.stop([task], within=5.0), 10) == set()
    assert task.cancelled() and rounds == 2


async def test_a_task_that_never_stops_is_given_up_after_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    """The close goes on (and says so) instead of waiting forever."""
    async with stubborn_task() as stubborn:
        quick = asyncio.ensure_future(asyncio.sleep(60))
        await asyncio.sleep(0)
        left = await asyncio.wait_for(stopping.stop([stubborn, quick], within=0.3), 10)
        assert left == {stubborn} and quick.cancelled()
        assert "1 background task(s) did not stop within 0.3 s: stubborn" in caplog.text


async def test_the_callers_own_cancellation_is_raised() -> None:
    """A close cancelled while it waits stops there (the reconnect loop, see test_redis_codec)."""
    async with stubborn_task() as stubborn:
        waiting = asyncio.ensure_future(stopping.stop([stubborn], within=30.0))
        await asyncio.sleep(0.1)
        waiting.cancel()
        await asyncio.wait([waiting], timeout=10)
        assert waiting.cancelled()
