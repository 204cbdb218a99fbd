"""Rooms over real sockets: welcome, broadcast, presence, identity (CONN, CHAT, PRES, IDENT)."""

from __future__ import annotations

import asyncio
import json

from tests.reference.helpers import Client, serving


async def test_welcome_comes_first_without_waiting_and_advertises_limits() -> None:
    async with serving() as server, Client.connect(server.ws("lobby", "nickname=철수")) as a:
        welcome = await a.welcome()  # CONN-003: sent without the client saying anything
        assert welcome["room"] == "lobby" and welcome["nickname"] == "철수" and welcome["seq"] == 0
        assert welcome["members"] == ["철수"]
        assert welcome["limits"] == server.hub.limits.to_json()  # CONN-006
        assert set(welcome["capabilities"]) == {"ping", "resume"}
        join = await a.event("join")  # PRES-001: the new member too
        assert join["nickname"] == "철수" and join["seq"] == 1 and join["count"] == 1
        a.check()


async def test_broadcast_reaches_everyone_including_the_sender_in_order() -> None:
    async with serving() as server:
        async with Client.connect(server.ws("r1", "nickname=a")) as a, Client.connect(server.ws("r1")) as b:
            await a.joined()
            await b.joined()
            await a.event("join")  # b's join
            for i in range(5):
                await a.say(f"<b>{i}</b> ", id=f"m{i}")  # CHAT-002: sent as is, never escaped or trimmed
            for client in (a, b):
                got = [await client.expect(lambda f: f["type"] == "user_msg") for _ in range(5)]
                assert [f["content"] for f in got] == [f"<b>{i}</b> " for i in range(5)]
                assert [f["id"] for f in got] == [f"m{i}" for i in range(5)]
                assert all(f["nickname"] == "a" and isinstance(f["ts"], int) for f in got)
                client.check()  # CHAT-004/005: strictly increasing, no gaps


async def test_rooms_are_separate_and_case_sensitive() -> None:
    async with serving() as server:
        async with Client.connect(server.ws("Room")) as a, Client.connect(server.ws("room")) as b:
            await a.joined()
            await b.joined()
            await a.say("only in Room")
            assert (await a.expect(lambda f: f["type"] == "user_msg"))["content"] == "only in Room"
            assert await b.quiet() == []  # CHAT-003


async def test_leave_on_close_names_the_bound_nickname_with_count_and_reason() -> None:
    async with serving() as server, Client.connect(server.ws("r", "nickname=stay")) as a:
        await a.joined()
        async with Client.connect(server.ws("r")) as b:
            await b.joined()
            await b.say("hi", nickname="bob")  # IDENT-001: bound by the first frame that has one
            await a.expect(lambda f: f["type"] == "user_msg")
        leave = await a.event("leave")  # PRES-002
        assert leave["nickname"] == "bob" and leave["reason"] == "close" and leave["count"] == 1
        a.check()


async def test_a_nickname_cannot_change_or_be_impersonated() -> None:
    async with serving() as server, Client.connect(server.ws("r", "nickname=alice")) as a:
        await a.joined()
        await a.say("first", nickname="mallory")  # IDENT-002
        frame = await a.expect(lambda f: f["type"] == "user_msg")
        assert frame["nickname"] == "alice"
        async with Client.connect(server.ws("r")) as b:
            welcome = await b.welcome()
            assert welcome["members"] == ["alice", "누군가"]


async def test_neutral_name_follows_lang() -> None:
    async with serving() as server, Client.connect(server.ws("r", "lang=en")) as a:
        welcome = await a.welcome()
        assert welcome["content"] == "Connected to room r." and welcome["members"] == ["Someone"]
        join = await a.event("join")
        assert join["nickname"] == "Someone" and join["content"] == "Someone joined."  # IDENT-003, ERR-002
        async with Client.connect(server.ws("r")) as b:  # Korean reader: the same event in its language
            await b.welcome()
            await a.event("join")
            assert (await b.event("join"))["content"] == "누군가가 입장했습니다."


async def test_leave_of_a_connection_that_never_sent_anything_and_of_two_at_once() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r", "nickname=x")) as b, Client.connect(server.ws("r", "nickname=y")):
            await b.welcome()
            await a.event("join")
            await a.event("join")
        leaves = [await a.event("leave"), await a.event("leave")]  # PRES-006, seed failures 2 and 3
        assert sorted(f["nickname"] for f in leaves) == ["x", "y"]
        assert [f["count"] for f in leaves] == [2, 1]
        a.check()


async def test_abrupt_tcp_drop_is_announced_as_drop() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r", "nickname=gone")) as b:
            await b.welcome()
            await a.event("join")
            b.ws.transport.abort()  # RST, no close frame (PRES-003)
            leave = await a.event("leave")
        assert leave["nickname"] == "gone" and leave["reason"] == "drop"


async def test_ping_gets_pong_with_id_and_unknown_fields_are_ignored() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        await a.send({"type": "ping", "id": "p-1", "x-extra": [1, 2]})  # FRAME-002
        assert await a.expect(lambda f: f["type"] == "pong") == {"type": "pong", "id": "p-1"}
        await a.send({"type": "user_msg", "content": "c", "unknown": {"deep": True}})
        assert (await a.expect(lambda f: f["type"] == "user_msg"))["content"] == "c"


async def test_resume_replays_what_was_missed_before_live_events() -> None:
    async with serving() as server, Client.connect(server.ws("r", "nickname=a")) as a:
        await a.joined()
        for i in range(3):
            await a.say(f"m{i}")
        last = [await a.expect(lambda f: f["type"] == "user_msg") for _ in range(3)][-1]["seq"]
        async with Client.connect(server.ws("r", "since=1"), since=1) as b:  # RECON-004
            welcome = await b.welcome()
            assert welcome["resume"] == {"since": 1, "replayed": 3, "complete": True}
            replayed = [await b.recv() for _ in range(3)]
            assert [f["content"] for f in replayed] == ["m0", "m1", "m2"] and replayed[-1]["seq"] == last
            assert (await b.recv())["event"] == "join"  # then live events
            b.check()


async def test_resume_beyond_the_kept_history_is_marked_incomplete() -> None:
    async with serving(resume_history=2) as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        for i in range(4):
            await a.say(f"m{i}")
        await a.expect(lambda f: f.get("content") == "m3")
        async with Client.connect(server.ws("r", "since=0"), since=0) as b:
            welcome = await b.welcome()
            assert welcome["resume"] == {"since": 0, "replayed": 2, "complete": False}
        async with Client.connect(server.ws("r", "since=99"), since=99) as c:  # beyond the room's seq: an earlier
            welcome = await c.welcome()  # sequence of a forgotten room (SPEC.md RECON-004, clarified)
            assert welcome["resume"] == {"since": 99, "replayed": 0, "complete": False}


async def test_without_resume_history_the_capability_is_not_offered() -> None:
    async with serving(resume_history=0) as server, Client.connect(server.ws("r", "since=0")) as a:
        welcome = await a.welcome()
        assert welcome["capabilities"] == ["ping"] and "resume" not in welcome


async def test_reconnect_is_a_new_member_and_leaves_no_ghost() -> None:
    async with serving() as server, Client.connect(server.ws("r", "nickname=host")) as a:
        await a.joined()
        for _ in range(2):
            async with Client.connect(server.ws("r", "nickname=p")) as b:
                welcome = await b.welcome()
                assert welcome["members"].count("p") == 1  # RECON-003
                await b.say("back")  # RECON-001
                await b.expect(lambda f: f["type"] == "user_msg")
            await a.event("leave")
        async with Client.connect(server.ws("r")) as c:
            assert (await c.welcome())["members"] == ["host", "누군가"]


async def test_many_clients_in_many_rooms_see_consistent_sequences() -> None:
    async with serving() as server:
        rooms = ["a", "b", "c"]
        async with Client.connect(server.ws("a")) as c1, Client.connect(server.ws("b")) as c2:
            async with Client.connect(server.ws("c")) as c3, Client.connect(server.ws("a")) as c4:
                clients = [c1, c2, c3, c4]
                for client in clients:
                    await client.welcome()
                await asyncio.gather(*(c.say(f"{i}") for i, c in enumerate(clients) for _ in range(5)))
                for client, room in zip(clients, rooms + ["a"], strict=True):
                    expected = 10 if room == "a" else 5
                    got = [await client.expect(lambda f: f["type"] == "user_msg") for _ in range(expected)]
                    assert len(got) == expected
                    client.check()


async def test_seq_never_repeats_across_presence_and_chat() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        async with Client.connect(server.ws("r")) as b:
            await b.joined()
            await b.say(json.dumps({"nested": "json as text"}))
            await a.expect(lambda f: f["type"] == "user_msg")
        await a.event("leave")
        seqs = [f["seq"] for f in a.frames if "seq" in f and f.get("event") != "welcome"]
        assert seqs == sorted(set(seqs)) == list(range(1, len(seqs) + 1))
