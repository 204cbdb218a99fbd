"""The Hypercorn extension is installed only by our server, and the app still works on plain ASGI without it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from roomwire.reference import hypercorn_ext
from roomwire.reference.app import create_app, hub_of
from roomwire.reference.server import listen
from tests.reference.helpers import Client, double_server, settings


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
        while not hub_of(app).started:  # noqa: ASYNC110 - the app has no event for it
            await asyncio.sleep(0.01)
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
