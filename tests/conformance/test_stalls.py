"""Stalls of the suite's own event loop (roomwire.conformance.stalls): measured, given back to a wait on the target
that they overlapped, never more than `MAX_CREDIT` times the wait, and never to a target that just did not answer.

The target that answers during a stall runs in a thread (`toy_in_thread`): a stall made with `time.sleep` blocks
the test's loop, not the server's. Time bounds are generous (a busy machine stalls the loop too); what they
separate is "ended about on time" from "never ended" or "ended only after the blocking was over"."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.sync.client import connect as sync_connect

from roomwire.conformance import frames
from roomwire.conformance.driver import Driver
from roomwire.conformance.session import Session, Timeouts
from roomwire.conformance.stalls import CATCH_UP, MAX_CREDIT, PERIOD, THRESHOLD, LoopStalls
from roomwire.conformance.target import parse_target
from roomwire.spec.errors import TargetUnreachable
from tests.conformance.conftest import CtxFactory
from tests.conformance.toy import toy_in_thread

#: Messages the client reads in many loop iterations (the transport reads 256 KiB at a time): the last one is
#: still unread when the wait's timer fires and the wait first looks again.
BIG = ["x" * 600_000 + f"-{n}" for n in range(1, 4)] + ["during"]
#: What a busy machine may add to a wait beyond its own bound, before a test calls the wait unbounded.
SLACK = 1.5


@contextlib.asynccontextmanager
async def measured_driver(url: str, factor: float) -> AsyncIterator[Driver]:
    """A driver on a session whose stall ticker runs (as under `Runner.run`), armed before the test stalls."""
    session = Session(target=parse_target([url]), timeouts=Timeouts(factor))
    session.stalls.start()
    await asyncio.sleep(2 * PERIOD)
    driver = Driver(session, "stalls", "s")
    try:
        yield driver
    finally:
        await driver.aclose()
        await session.aclose()


def block(seconds: float) -> None:
    """The stall under test: the suite's loop cannot run for `seconds` (as during a synchronous computation)."""
    time.sleep(seconds)


def say_later(url: str, delay: float, contents: list[str]) -> None:
    """In a thread: after `delay`, Bob joins the room at `url`, says `contents`, and reads until his last message
    comes back (so that the toy's broadcast to him never waits)."""
    time.sleep(delay)
    with sync_connect(url, max_size=None) as bob:
        for content in contents:
            bob.send(json.dumps({"type": "user_msg", "nickname": "Bob", "content": content}))
        while json.loads(bob.recv(timeout=10)).get("content") != contents[-1]:
            pass


@contextlib.contextmanager
def silent_listener() -> Iterator[str]:
    """A URL whose port accepts TCP connections (the kernel's backlog) and never answers the upgrade."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/api/v1/ws/chat/{{room_id}}"


def test_the_credit_is_the_stall_plus_catch_up_and_at_most_max_credit_times_the_wait() -> None:
    stalls = LoopStalls()  # not started: `stalled()` is the recorded total
    assert stalls.deadline(10.0, 1.0, 0.0) == 11.0  # no stall: no extension
    stalls.total = THRESHOLD / 2  # a difference this small is a stall recorded late, not one of the wait's own
    assert stalls.deadline(10.0, 1.0, 0.0) == 11.0
    stalls.total = 0.5
    assert stalls.deadline(10.0, 1.0, 0.0) == pytest.approx(11.0 + 0.5 + CATCH_UP)
    assert stalls.deadline(10.0, 1.0, 0.5) == 11.0  # the stall was before the wait began
    stalls.total = 100.0
    assert stalls.deadline(10.0, 1.0, 0.0) == pytest.approx(11.0 + MAX_CREDIT)


async def test_a_loop_blocked_by_sleep_is_a_stall_in_progress_then_a_recorded_one() -> None:
    stalls = LoopStalls()
    stalls.start()
    try:
        await asyncio.sleep(2 * PERIOD)
        loop = asyncio.get_running_loop()
        started, at_start = loop.time(), stalls.stalled()
        block(0.5)
        in_progress = stalls.stalled() - at_start  # the ticker has not woken yet
        assert 0.5 - PERIOD - 0.01 <= in_progress <= 0.5 + SLACK
        assert started + 1.0 + in_progress + CATCH_UP <= stalls.deadline(started, 1.0, at_start)
        assert stalls.deadline(started, 1.0, at_start) <= started + 1.0 + MAX_CREDIT
        assert stalls.deadline(started, 0.1, at_start) == pytest.approx(started + 0.1 + 0.1 * MAX_CREDIT)
        await asyncio.sleep(2 * PERIOD)
        assert stalls.count >= 1 and stalls.longest >= in_progress - 0.01 and stalls.total >= stalls.longest
    finally:
        await stalls.stop()
    assert not stalls.running and stalls.stalled() == stalls.total


async def test_a_deliberate_block_is_neither_a_stall_nor_credit() -> None:
    stalls = LoopStalls()
    stalls.start()
    try:
        await asyncio.sleep(2 * PERIOD)
        before = stalls.stalled()
        with stalls.deliberate():
            block(0.5)
        assert stalls.stalled() - before < 0.25
        await asyncio.sleep(2 * PERIOD)
        assert stalls.total - before < 0.25  # the ticker's lateness, less the excused block
    finally:
        await stalls.stop()


async def test_a_frame_that_arrived_during_a_stall_is_read_after_the_deadline_passed() -> None:
    """Bob, outside the suite's loop, says much (read in many loop iterations) while the loop is blocked past
    Ann's deadline: the wait is extended by the stall and returns his last message."""
    with toy_in_thread() as url:
        async with measured_driver(url, 0.3) as driver:
            ann = await driver.join(driver.room(), "Ann", validate=False)
            bobs_url = driver.session.target.endpoint(0).url(driver.room(), {"nickname": "Bob"})
            waiting = asyncio.create_task(ann.wait_for(frames.user_msg("during"), 0.5))
            await asyncio.sleep(0)  # the wait has begun
            bob = threading.Thread(target=say_later, args=(bobs_url, 0.2, BIG), daemon=True)
            bob.start()
            block(1.0)  # Bob speaks at 0.2 s, Ann's 0.5 s pass: all while the suite's loop is blocked
            got = await waiting
            bob.join(5)
            assert got is not None and len(ann.find(frames.user_msg())) == len(BIG)
            assert any("extended" in e.text for e in ann.transcript.events)
            assert driver.session.stalls.credited == 1


async def test_a_wait_with_no_stall_and_no_frame_ends_on_time(toy_ctx: CtxFactory) -> None:
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        ctx.session.stalls.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await ann.wait_for(frames.user_msg("never"), 0.3) is None
        assert 0.3 - 0.02 <= loop.time() - started <= 0.3 + SLACK


async def test_a_wait_that_keeps_stalling_still_ends_within_its_bound(toy_ctx: CtxFactory) -> None:
    """A target that never answers gets at most MAX_CREDIT times the wait, however long the suite keeps stalling."""
    async with toy_ctx() as ctx:
        ann = await ctx.driver.join(ctx.room(), "Ann")
        ctx.session.stalls.start()
        stop = asyncio.Event()

        async def stall_often() -> None:
            while not stop.is_set():
                block(0.3)  # stalled nearly all the time: credit without a bound would outgrow the clock
                await asyncio.sleep(0.01)

        staller = asyncio.create_task(stall_often())
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            assert await ann.wait_for(frames.user_msg("never"), 0.3) is None
            took = loop.time() - started
        finally:
            stop.set()
            await staller
        assert 0.3 <= took <= 0.3 * (1 + MAX_CREDIT) + SLACK
        assert any("extended" in e.text for e in ann.transcript.events)


async def test_a_handshake_the_target_never_answers_times_out() -> None:
    with silent_listener() as url:
        async with measured_driver(url, 0.1) as driver:  # connect: 0.5 s
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(TargetUnreachable, match="timed out during opening handshake"):
                await driver.connect(driver.room())
            assert 0.5 - 0.02 <= loop.time() - started <= 0.5 + SLACK


async def test_a_handshake_a_stall_overlapped_is_given_the_stall_back() -> None:
    with toy_in_thread() as url:
        async with measured_driver(url, 0.1) as driver:  # connect: 0.5 s
            opening = asyncio.create_task(driver.connect(driver.room(), nickname="Ann"))
            await asyncio.sleep(0)  # the handshake has begun
            block(1.0)  # its 0.5 s pass while the suite's loop is blocked
            client = await opening
            assert any("not counted against the target's 0.5 s" in e.text for e in client.transcript.events)
            assert driver.session.stalls.credited == 1
