"""WebSocket-level limits and close codes over real sockets (INPUT-004/005, LIMIT-001/003/004/006, CONN-006)."""

from __future__ import annotations

import asyncio
import json

from tests.reference.helpers import Client, masked_frame, raw_upgrade, read_close, read_frame, serving

PATH = "/api/v1/ws/chat/r"


async def test_binary_frame_closes_with_1003_and_is_announced() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r", "nickname=bin")) as b:
            await b.joined()
            await b.ws.send(b"\x00\x01binary")
            assert (await b.closed())[0] == 1003  # INPUT-004
        leave = await a.event("leave")
        assert leave["nickname"] == "bin" and leave["reason"] == "server"


async def test_invalid_utf8_closes_with_1007() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        status, _, reader, writer = await raw_upgrade(server, PATH)
        assert status == 101
        try:
            writer.write(masked_frame(0x1, b'{"type":"ping","id":"\xff\xfe"}'))
            assert await read_close(reader) == 1007  # INPUT-005
        finally:
            writer.close()
        assert (await a.event("leave"))["reason"] == "server"
        await a.say("room still works")
        await a.expect(lambda f: f["type"] == "user_msg")


async def test_oversized_frame_closes_with_1009_before_it_is_all_sent() -> None:
    async with serving(max_frame_bytes=16384) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        status, _, reader, writer = await raw_upgrade(server, PATH)
        assert status == 101
        announced = 64 * 1024 * 1024
        header = bytes((0x81, 0x80 | 127)) + announced.to_bytes(8, "big") + b"\x00\x00\x00\x00"
        writer.write(header)
        close = asyncio.create_task(read_close(reader))
        sent = 0
        try:
            while not close.done() and sent < announced:
                writer.write(b"x" * 65536)
                sent += 65536
                try:
                    await writer.drain()
                except ConnectionError:  # the server gave up waiting for our close frame
                    break
                await asyncio.sleep(0)
            assert await close == 1009  # LIMIT-001
            assert sent < 8 * 1024 * 1024  # the server answered long before the frame was whole
        finally:
            writer.close()
        assert (await a.event("leave"))["reason"] == "server"  # other connections unaffected (INPUT-007)
        await a.say("fine")
        await a.expect(lambda f: f["type"] == "user_msg")


async def test_frame_size_counts_bytes_not_characters_and_the_limit_itself_passes() -> None:
    async with serving(max_frame_bytes=8192) as server:
        async with Client.connect(server.ws("r")) as a:
            await a.joined()
            frame = json.dumps({"type": "ping", "id": "p", "pad": "x" * 8192})
            exact = frame[: -(len(frame) - 8192) - 2] + '"}'
            assert len(exact.encode()) == 8192
            await a.send(exact)
            await a.expect(lambda f: f["type"] == "pong")
        async with Client.connect(server.ws("r")) as b:
            await b.joined()
            await b.send(json.dumps({"type": "ping", "pad": "가" * 3000}))  # 3000 characters, 9000+ bytes
            assert (await b.closed())[0] == 1009


async def test_a_fragmented_message_is_limited_as_a_whole() -> None:
    async with serving(max_frame_bytes=8192) as server:
        status, _, reader, writer = await raw_upgrade(server, PATH)
        try:
            await read_frame(reader)  # welcome
            writer.write(masked_frame(0x1, b'{"type":"ping","pad":"' + b"x" * 5000, fin=False))
            writer.write(masked_frame(0x0, b"x" * 5000 + b'"}'))
            assert await read_close(reader) == 1009
        finally:
            writer.close()


async def test_fragments_within_the_limit_make_one_message() -> None:
    async with serving() as server:
        status, _, reader, writer = await raw_upgrade(server, PATH)
        try:
            await read_frame(reader)  # welcome
            await read_frame(reader)  # join
            writer.write(masked_frame(0x1, b'{"type":"ping",', fin=False))
            writer.write(masked_frame(0x0, b'"id":"frag"}'))
            opcode, payload = await read_frame(reader)
            assert opcode == 0x1 and json.loads(payload) == {"type": "pong", "id": "frag"}
        finally:
            writer.close()


async def test_rate_limit_drops_with_one_notice_per_second_and_keeps_the_connection() -> None:
    async with serving(rate_per_s=2, burst=4) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        for i in range(8):  # 4 pass, 4 are dropped: not yet a flood (LIMIT-004 needs more than `burst`)
            await a.send({"type": "ping", "id": f"p{i}"})
        frames = await a.quiet(0.5)
        pongs = [f for f in frames if f["type"] == "pong"]
        notices = [f for f in frames if f.get("code") == "rate_limited"]
        assert len(pongs) == 4 and len(notices) == 1  # LIMIT-003
        assert isinstance(notices[0]["retry_after"], int) and notices[0]["retry_after"] >= 1  # ERR-001
        await asyncio.sleep(1.1)
        await a.send({"type": "ping", "id": "later"})
        assert (await a.expect(lambda f: f["type"] == "pong"))["id"] == "later"


async def test_a_rate_limited_ai_msg_still_gets_its_ai_done() -> None:
    async with serving(rate_per_s=1, burst=1) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        await a.send({"type": "ping"})
        await a.send({"type": "ai_msg", "content": "q", "id": "q-9"})
        await a.error("rate_limited")
        assert await a.answer("q-9") == {"type": "ai_done", "status": "rejected", "id": "q-9"}  # INPUT-008


async def test_a_persistent_flood_is_closed_with_1008() -> None:
    async with serving(rate_per_s=1, burst=2) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r", "nickname=flood")) as b:
            await b.joined()
            for _ in range(10):
                await b.send({"type": "ping"})
            assert (await b.closed())[0] == 1008  # LIMIT-004
        assert (await a.event("leave"))["reason"] == "server"


async def test_room_capacity_refuses_with_room_full_and_1013_unannounced() -> None:
    async with serving(room_capacity=2) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.joined()
            await b.joined()
            async with Client.connect(server.ws("r", "nickname=third")) as c:
                first = await c.recv()
                assert first["event"] == "error" and first["code"] == "room_full"  # LIMIT-006
                assert (await c.closed())[0] == 1013
            assert [f for f in await a.quiet() if f.get("nickname") == "third"] == []
            async with Client.connect(server.ws("other")) as d:  # another room is not full
                await d.welcome()


async def test_per_address_limit_refuses_with_too_many_connections() -> None:
    async with serving(max_connections_per_address=2) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("s")) as b:
            await a.welcome()
            await b.welcome()
            async with Client.connect(server.ws("t")) as c:
                assert (await c.recv())["code"] == "too_many_connections"
                assert (await c.closed())[0] == 1013
        async with Client.connect(server.ws("r")) as again:  # released when they left
            await again.welcome()


async def test_exempt_addresses_are_not_counted() -> None:
    async with serving(max_connections_per_address=1, address_limit_exempt=("127.0.0.1",)) as server:
        async with Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
            await a.welcome()
            await b.welcome()


async def test_no_limits_lifts_frame_size_and_rate_and_says_so() -> None:
    async with serving(no_limits=True, max_content_chars=2000) as server, Client.connect(server.ws("r")) as a:
        limits = (await a.joined())["limits"]
        assert limits["max_frame_bytes"] == 1048576 and limits["rate_per_s"] >= 1000  # CONN-006
        assert limits["send_queue_bytes"] == 1048576  # the slow-consumer policy stays
        for i in range(200):
            await a.send({"type": "ping", "id": f"p{i}"})
        pongs = [await a.expect(lambda f: f["type"] == "pong") for _ in range(200)]
        assert len(pongs) == 200
        await a.send(json.dumps({"type": "ping", "pad": "x" * 900_000}))
        await a.expect(lambda f: f["type"] == "pong")
