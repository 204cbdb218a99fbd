"""roomwire.reference.server: the listening socket and the graceful stop, in process."""

from __future__ import annotations

import asyncio
import socket

import pytest

from roomwire.reference.server import listen
from roomwire.spec.errors import ConfigError
from tests.reference.helpers import Client, raw_upgrade, read_close, serving
from tests.support.timing import UNIT


def test_a_port_in_use_is_a_config_error_naming_the_address() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}: Address already in use"):
            listen("127.0.0.1", port)


async def test_an_upgrade_during_the_stop_gets_503_not_connection_refused() -> None:
    """docs/reference.md: while the server closes its connections, new upgrades are answered 503 (issue 13: refused)."""
    async with serving(close_timeout_s=2.0) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        status, _, reader, stuck = await raw_upgrade(server, "/api/v1/ws/chat/r?nickname=stuck")
        assert status == 101  # it will never answer the server's close frame: the stop waits for it
        try:
            server.stop.set()
            assert (await a.closed())[0] == 1012
            assert await read_close(reader) == 1012
            late, _, _, writer = await raw_upgrade(server, "/api/v1/ws/chat/r")  # the stop is still under way
            writer.close()
            assert late == 503
            await asyncio.wait_for(server.hub.begin_shutdown(), UNIT)
        finally:
            stuck.close()
