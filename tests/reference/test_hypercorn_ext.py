"""The Hypercorn extension is installed only by our server, and the app still works on plain ASGI without it."""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config
from websockets.speedups import apply_mask

from roomwire.reference import hypercorn_ext
from roomwire.reference.app import create_app, hub_of
from roomwire.reference.connection import Connection as Connection_
from roomwire.reference.server import listen
from roomwire.spec.codes import CloseCode
from tests.reference.helpers import Client, double_server, host_port, masked_frame, raw_upgrade, serving, settings
from tests.scaleout.members import eventually
from tests.support.timing import UNIT


@asynccontextmanager
async def plain_hypercorn(**changes: object) -> AsyncIterator[tuple[str, object]]:
    """The app under Hypercorn's own config: `RoomwireWSStream` then behaves exactly like Hypercorn's WSStream."""
    hypercorn_ext.install()
    app = create_app(settings(**changes))
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.accesslog = None
    config.graceful_timeout = 2.0
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait, mode="asgi"))
    try:
        await asyncio.wait_for(hub_of(app).serving.wait(), UNIT)
        yield f"ws://127.0.0.1:{port}/api/v1/ws/chat/", app
    finally:
        stop.set()
        await task


async def test_plain_asgi_chat_ai_and_errors() -> None:
    async with double_server() as double, plain_hypercorn(gemini_base_url=double.base_url) as (base, _):
        async with Client.connect(base + "r") as a, Client.connect(base + "r") as b:
            await a.joined()
            await b.joined()
            for i in range(15):
                await a.say(f"m{i}")
            for client in (a, b):
                got = [await client.expect(lambda f: f["type"] == "user_msg") for _ in range(15)]
                assert got[-1]["content"] == "m14"
                client.check()
            await a.send("no json")
            await a.error("bad_json")
            await a.ask("question", id="q")
            assert (await a.answer("q"))["status"] == "ok"
            await b.ws.send(b"binary")
            assert (await b.closed())[0] == 1003
            assert (await a.event("leave"))["reason"] in ("server", "drop")


async def test_plain_asgi_restart_closes_1012() -> None:
    async with plain_hypercorn() as (base, app):
        async with Client.connect(base + "r") as a:
            await a.joined()
            hub_of(app).begin_shutdown()  # type: ignore[arg-type]
            assert (await a.event("notice"))["code"] == "server_restart"
            assert (await a.closed())[0] == 1012


def test_only_known_hypercorn_versions_are_patched(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert hypercorn_ext.supported("0.18.0") and hypercorn_ext.supported("0.17.3")
    assert not hypercorn_ext.supported("0.19.0") and not hypercorn_ext.supported("1.0.0")
    monkeypatch.setattr(hypercorn_ext, "_installed", False)
    monkeypatch.setattr(hypercorn_ext, "supported", lambda version=None: False)
    assert hypercorn_ext.install() is False
    assert any(r.levelno == logging.ERROR and "not one" in r.getMessage() for r in caplog.records)


async def test_a_masked_frame_split_across_tcp_writes_arrives_intact() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        status, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r?nickname=raw")
        try:
            assert status == 101
            content = "조각난 프레임 " * 20 + "end"
            payload = json.dumps({"type": "user_msg", "content": content}).encode()
            key = b"\x9c\x05\xe1\x42"
            frame = bytes((0x81, 0x80 | 126)) + len(payload).to_bytes(2, "big") + key + apply_mask(payload, key)
            for start, end in itertools.pairwise((0, 9, 14, 101, len(frame))):  # header, key, payload in pieces
                writer.write(frame[start:end])
                await writer.drain()
                await asyncio.sleep(0.05)
            got = await a.expect(lambda f: f.get("type") == "user_msg")
            assert got["content"] == content and got["nickname"] == "raw"
        finally:
            writer.close()


async def test_a_close_after_the_connection_ended_spawns_nothing_into_its_finished_task_group() -> None:
    """Regression: the close watchdog was spawned into Hypercorn's finished task group (RuntimeError, and
    "coroutine '_rw_watchdog' was never awaited").

    The race `Hub._drain` runs into, most often with the Redis broker (whose leave takes a round trip): it lists the
    connections, and one of them ends before its `end_for_restart` runs. Here that order is forced.
    """
    gone = asyncio.Event()
    late: list[Connection_] = []

    class LateRestart(Connection_):
        async def end_for_restart(self, code: CloseCode = CloseCode.SERVICE_RESTART) -> None:
            late.append(self)
            await gone.wait()  # until its socket is gone and Hypercorn's task for it has ended
            await super().end_for_restart(code)

    async with serving(connection_class=LateRestart) as server:
        before = asyncio.all_tasks()
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            (task,) = [t for t in asyncio.all_tasks() - before if "_server_callback" in repr(t.get_coro())]
            drain = server.hub.begin_shutdown()  # lists the connection; its end_for_restart then waits
            await eventually(lambda: bool(late))
        await asyncio.wait_for(asyncio.wait([task]), UNIT)  # Hypercorn's task (and task group) for it ended
        (connection,) = late
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gone.set()
            await asyncio.wait_for(drain, UNIT)
            closer = connection.outbox._closer
            assert closer is not None
            await closer
            # the outbox's close, straight: an app may send after its connection ended, and hears nothing of it
            await connection._send({"type": "websocket.close", "code": 1012, "reason": "server restarting"})
            gc.collect()
        assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


async def test_nothing_is_spawned_into_a_task_group_that_has_ended() -> None:
    """Keepalive, watchdog and abort tasks of a stream whose connection ended are not started, and leak nothing."""
    from hypercorn.asyncio.task_group import TaskGroup

    group = TaskGroup(asyncio.get_running_loop())
    async with group:
        pass
    stream = object.__new__(hypercorn_ext.RoomwireWSStream)
    stream.task_group = group
    stream.closed = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stream._rw_spawn(stream._rw_timed_out)
        gc.collect()
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("then", ["fin", "nothing"])
async def test_a_close_frame_sent_with_the_request_is_a_close_not_a_drop(then: str) -> None:
    """Issue 13: a close frame right behind the upgrade request, then FIN, was announced as `drop` (Hypercorn
    answered the early frame 400 behind the app's back). Early frames are now read after the accept."""
    async with serving() as server, Client.connect(server.ws("r", "nickname=watch")) as watcher:
        await watcher.joined()
        host, port = host_port(server)
        head = (
            f"GET /api/v1/ws/chat/r?nickname=early HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        say = masked_frame(0x1, b'{"type":"user_msg","content":"early bird"}')
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(head + say + masked_frame(0x8, (1000).to_bytes(2, "big")))
            if then == "fin":
                writer.write_eof()
            leave = await watcher.event("leave")
        finally:
            writer.close()
        assert leave["nickname"] == "early" and leave["reason"] == "close"  # PRES-007
        if then == "nothing":  # the connection lived on to read them: the message was broadcast first
            assert [f["content"] for f in watcher.frames if f["type"] == "user_msg"] == ["early bird"]
