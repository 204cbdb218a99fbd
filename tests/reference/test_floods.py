"""Control-frame floods over real sockets (LIMIT-007): pings, pongs and empty fragments spend a budget, the flooder
is closed with 1008, the others notice nothing, and asyncio logs no warning per write to a lost socket."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.reference.helpers import Client, masked_frame, raw_upgrade, read_close, read_frame, serving
from tests.support.timing import UNIT

PATH = "/api/v1/ws/chat/r?nickname=flood"
PING, PONG, TEXT, CONTINUATION = 0x9, 0xA, 0x1, 0x0


async def pongs_until_close(reader: asyncio.StreamReader) -> tuple[int, int | None]:
    """Read server frames until the close frame: (pongs received, close code; None when TCP ended first)."""
    pongs = 0
    while True:
        try:
            opcode, payload = await read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return pongs, None
        if opcode == PONG:
            pongs += 1
        elif opcode == 0x8:
            return pongs, int.from_bytes(payload[:2], "big")


@pytest.mark.parametrize(
    "frame",
    [
        masked_frame(PING, b"p"),
        masked_frame(PONG, b"unsolicited"),
        masked_frame(CONTINUATION, b"", fin=False),  # after the first, non-final, text fragment below
    ],
    ids=["pings", "pongs", "empty-fragments"],
)
async def test_a_control_frame_flood_is_closed_with_1008_and_the_room_does_not_notice(frame: bytes) -> None:
    async with serving() as server, Client.connect(server.ws("r", "nickname=bob")) as bob:
        await bob.joined()
        status, _, reader, writer = await raw_upgrade(server, PATH)
        assert status == 101
        try:
            if frame[0] & 0x0F == CONTINUATION:
                writer.write(masked_frame(TEXT, b"", fin=False))
            writer.write(frame * 5000)
            pongs, code = await pongs_until_close(reader)
        finally:
            writer.close()
        assert code == 1008  # LIMIT-007
        assert pongs <= server.hub.limits.control_burst + 2  # answered within the budget, never after the close
        leave = await bob.event("leave")
        assert leave["nickname"] == "flood" and leave["reason"] == "server"
        await bob.say("still here")
        await bob.expect(lambda f: f["type"] == "user_msg" and f["content"] == "still here")


async def test_pings_within_the_budget_are_all_answered() -> None:
    async with serving() as server:
        status, _, reader, writer = await raw_upgrade(server, PATH)
        try:
            burst = server.hub.limits.control_burst
            writer.write(masked_frame(PING, b"ok") * burst)
            pongs = 0
            while pongs < burst:
                opcode, _ = await read_frame(reader)
                assert opcode != 0x8, f"closed after {pongs} pongs, within the advertised control_burst {burst}"
                pongs += opcode == PONG
        finally:
            writer.close()


async def test_a_flood_then_a_reset_logs_no_warning_per_lost_write(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 13 counted 10,746 'socket.send() raised exception.' warnings: a pong (or anything) written to a socket
    asyncio already knows is gone. Here the peer floods pings and resets at once, many times."""
    caplog.set_level(logging.WARNING, logger="asyncio")
    async with serving() as server:
        for _ in range(20):
            status, _, _, writer = await raw_upgrade(server, PATH)
            assert status == 101
            writer.write(masked_frame(PING, b"x") * 2000)
            writer.transport.abort()  # RST: every later write of the server's goes nowhere
        async with Client.connect(server.ws("r")) as probe:
            await probe.joined()
        await asyncio.sleep(0.2)
    lost = [r for r in caplog.records if "socket.send() raised exception" in r.getMessage()]
    assert not lost, f"{len(lost)} warnings for writes to lost sockets"


async def test_the_budget_is_advertised_and_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(control_per_s=1, control_burst=10) as server, Client.connect(server.ws("r")) as a:
        limits = (await a.welcome())["limits"]
        assert (limits["control_per_s"], limits["control_burst"]) == (1, 10)
        status, _, reader, writer = await raw_upgrade(server, PATH)
        try:
            writer.write(masked_frame(PING, b"") * 11)
            assert await asyncio.wait_for(read_close(reader), UNIT) == 1008
        finally:
            writer.close()
