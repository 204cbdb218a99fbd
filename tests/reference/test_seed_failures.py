"""Issue 4's six failures of the seed design, each as a regression test against the reference.

`tests/targets/test_seed_fastapi.py` shows the seed copy failing each of these; here the reference must not.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from roomwire.gemini_double import AsyncDoubleControl
from roomwire.reference.settings import Secret
from tests.reference.helpers import Client, double_server, host_port, serving
from tests.support.timing import UNIT

CANARY = "AIzaCANARY-roomwire-FAKE-test-key-00002"  # FAKE test key, a canary


async def test_failure_1_an_upstream_429_leaves_the_room_working() -> None:
    async with double_server() as double, serving(double) as server:
        async with Client.connect(server.ws("r", "nickname=asker")) as asker, Client.connect(server.ws("r")) as b:
            await asker.joined()
            await b.joined()
            async with AsyncDoubleControl(double.base_url) as control:
                await control.queue_fault("rate_limit", match="quota", retry_delay_s=30)
            await asker.ask("over quota", id="q")
            assert (await asker.error("upstream_rate_limited"))["retry_after"] == 30
            await asker.answer("q")
            for speaker, listener in ((b, asker), (asker, b), (b, asker)):  # every later speaker stays connected
                await speaker.say("after the 429")
                await listener.expect(lambda f: f["type"] == "user_msg")
            async with Client.connect(server.ws("r")) as late:  # and new members join a healthy room
                await late.welcome()
                await late.say("late")
                await asker.expect(lambda f: f.get("content") == "late")


async def test_failure_2_leaving_before_any_message_is_announced() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r")) as silent:
            await silent.welcome()
            await a.event("join")
        leave = await a.event("leave")
        assert leave["nickname"] == "누군가" and leave["content"] == "누군가가 퇴장했습니다."


async def test_failure_3_two_leaving_at_once_crash_nothing() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        b_cm, c_cm = Client.connect(server.ws("r", "nickname=b")), Client.connect(server.ws("r", "nickname=c"))
        b, c = await b_cm.__aenter__(), await c_cm.__aenter__()
        await b.welcome()
        await c.welcome()
        await a.event("join")
        await a.event("join")
        await asyncio.gather(b_cm.__aexit__(None, None, None), c_cm.__aexit__(None, None, None))
        names = {(await a.event("leave"))["nickname"], (await a.event("leave"))["nickname"]}
        assert names == {"b", "c"}
        await a.say("alone now")
        assert (await a.expect(lambda f: f["type"] == "user_msg"))["content"] == "alone now"
        a.check()


@pytest.mark.parametrize("frame", ["this is not json", '{"content": "no type"}'])
async def test_failure_4_a_frame_without_json_or_type_kills_nothing(frame: str) -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
        await a.joined()
        await b.joined()
        await b.send(frame)
        await b.expect(lambda f: f.get("event") == "error")
        await a.say("broadcast still works")
        for client in (a, b):
            await client.expect(lambda f: f.get("content") == "broadcast still works")


async def test_failure_5_an_upstream_body_echoing_the_key_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with double_server() as double:
        async with serving(double, gemini="real", gemini_api_key=Secret(CANARY)) as server:
            async with Client.connect(server.ws("r")) as a:
                await a.joined()
                async with AsyncDoubleControl(double.base_url) as control:
                    await control.queue_fault("key_echo", match="echo")
                await a.ask("echo please", id="q")
                await a.error("upstream_error")
                await a.answer("q")
    assert [r for r in caplog.records if CANARY in r.getMessage() or CANARY in (r.exc_text or "")] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # an upstream failure is no server error
    assert CANARY not in caplog.text


async def test_failure_6_a_client_that_stops_reading_is_dropped_and_stalls_no_one() -> None:
    """FLOW-001/002: the others get every message; the non-reader is dropped with 1013, announced `server`.

    The non-reader pauses its transport (and has a small receive buffer), so the server's queue for it fills.
    The others read with plain `recv()` (no per-frame schema check), so that they keep up on a busy test machine.
    """
    size, after, limit = 1500, 200, 50000
    async with serving(no_limits=True, close_timeout_s=60) as server:
        async with Client.connect(server.ws("r", "nickname=sender")) as sender:
            async with Client.connect(server.ws("r", "nickname=reader")) as reader:
                await sender.joined()
                await reader.joined()
                slow = await _stalled_client(server.ws("r", "nickname=stalled"), host_port(server))
                try:
                    dropped = asyncio.Event()
                    received: dict[str, list[str]] = {"sender": [], "reader": []}
                    tasks = [asyncio.create_task(_collect(c.ws, received[n], dropped)) for n, c in
                             (("sender", sender), ("reader", reader))]  # fmt: skip
                    sent, dropped_at = 0, None
                    while sent < limit and (dropped_at is None or sent < dropped_at + after):
                        await sender.say(f"{sent:05d}" + "x" * size)
                        sent += 1
                        if dropped_at is None and dropped.is_set():
                            dropped_at = sent
                        if sent % 100 == 0:
                            await asyncio.sleep(0)
                    assert dropped_at is not None, f"not dropped after {sent} messages"
                    async with asyncio.timeout(UNIT * 6):
                        while any(len(got) < sent for got in received.values()):  # noqa: ASYNC110 - two lists
                            await asyncio.sleep(0.05)
                    for task in tasks:
                        task.cancel()
                    expected = [f"{i:05d}" + "x" * size for i in range(sent)]
                    assert received["sender"] == received["reader"] == expected  # every message, in order
                    slow.transport.resume_reading()
                    assert await _drain_until_closed(slow) == 1013  # FLOW-002
                finally:
                    slow.transport.abort()


async def _stalled_client(url: str, address: tuple[str, int]) -> ClientConnection:
    """A client with a 4 KB receive buffer that reads its welcome and then nothing."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, address)
    slow = await connect(url, sock=sock, ping_interval=None, max_size=None)
    await asyncio.wait_for(slow.recv(), UNIT)
    slow.transport.pause_reading()
    return slow


async def _collect(ws: ClientConnection, contents: list[str], dropped: asyncio.Event) -> None:
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "user_msg":
            contents.append(frame["content"])
        elif frame.get("event") == "leave" and frame.get("nickname") == "stalled":
            assert frame["reason"] == "server"
            dropped.set()


async def _drain_until_closed(ws: ClientConnection) -> int | None:
    """Read what was queued before the drop, then the close frame."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), UNIT)
    except ConnectionClosed:
        pass
    received = ws.protocol.close_rcvd
    return received.code if received is not None else None
