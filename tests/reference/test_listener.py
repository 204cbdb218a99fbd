"""roomwire.reference.listener: connections of one address before their upgrade are bounded, a request must be
complete in time, and /healthz answers other addresses meanwhile (LIMIT-009; issue 13, finding 3)."""

from __future__ import annotations

import asyncio
import logging
import resource

import httpx
import pytest

from roomwire.reference import listener
from roomwire.reference.listener import Gate, max_open_connections, quiet_accept_errors, raise_fd_limit
from tests.reference.helpers import Client, host_port, serving
from tests.support.timing import UNIT

HALF_REQUEST = b"GET /api/v1/ws/chat/r HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: web"


async def half_open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection that sends half a request head and then nothing (keep the writer: dropping it closes)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(HALF_REQUEST)
    return reader, writer


async def ended(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the server ended the connection (EOF or reset) within `within` seconds."""
    try:
        await asyncio.wait_for(reader.read(), within)
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


async def test_an_address_holds_at_most_its_pending_connections_and_others_are_served() -> None:
    async with serving(max_pending_per_address=4, request_timeout_s=30) as server:
        host, port = host_port(server)
        opened = [await half_open(host, port) for _ in range(6)]
        try:
            cut = [await ended(reader, 0.5 if i < 4 else UNIT) for i, (reader, _) in enumerate(opened)]
            assert cut == [False] * 4 + [True] * 2  # LIMIT-009: the fifth and sixth reset at once
            async with httpx.AsyncClient(
                base_url=server.http, transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2")
            ) as other:
                assert (await other.get("/healthz")).status_code == 200  # another address is served meanwhile
        finally:
            for _, writer in opened:
                writer.close()
        await asyncio.sleep(0.2)
        async with Client.connect(server.ws("r")) as a:  # the pending ones closed: the address may connect again
            await a.joined()


async def test_an_upgraded_connection_no_longer_counts_as_pending() -> None:
    async with serving(max_pending_per_address=2) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.joined()
            await b.joined()
            async with Client.connect(server.ws("r")) as c:  # two WebSockets are not two pending requests
                await c.joined()


async def test_a_request_not_complete_in_time_is_closed() -> None:
    async with serving(request_timeout_s=0.5) as server:
        reader, writer = await half_open(*host_port(server))
        try:
            assert await ended(reader, UNIT)  # LIMIT-009: the deadline, not the client, ends it
        finally:
            writer.close()


def test_the_gate_counts_per_address_and_in_total() -> None:
    gate = Gate(per_address=2, max_open=3, exempt=lambda address: address == "proxy")
    assert gate.enter("a") and gate.enter("a") and not gate.enter("a")
    gate.upgraded("a")
    assert gate.pending("a") == 1 and gate.enter("a")  # an upgrade frees its pending place
    assert not gate.enter("proxy")  # exempt from the per-address count, not from the total
    gate.leave("a", pending=True)
    assert gate.enter("proxy") and gate.refused == 2 and gate.open == 3


def test_the_fd_limit_is_raised_to_the_hard_one_and_leaves_a_reserve() -> None:
    soft = raise_fd_limit()
    assert soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert max_open_connections(soft) == max(64, soft - listener.FD_RESERVE)
    assert max_open_connections(100) == 64


async def test_accept_errors_are_folded_into_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """asyncio reports 'socket.accept() out of system resource' per queued connection (issue 13: ~10,000/s)."""
    loop = asyncio.get_running_loop()
    others: list[str] = []
    loop.set_exception_handler(lambda _, context: others.append(context["message"]))
    restore = quiet_accept_errors(loop)
    try:
        with caplog.at_level(logging.WARNING, logger=listener.__name__):
            for _ in range(2048):
                loop.call_exception_handler(
                    {"message": "socket.accept() out of system resource", "exception": OSError(24, "Too many files")}
                )
            loop.call_exception_handler({"message": "something else"})
    finally:
        restore()
    warnings = [r.getMessage() for r in caplog.records if r.name == listener.__name__]
    assert len(warnings) == 1 and "Too many files" in warnings[0]
    assert others == ["something else"]  # every other report goes where it went before
    loop.call_exception_handler({"message": "after"})
    assert others[-1] == "after"
