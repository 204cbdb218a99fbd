"""Bad input over real sockets: every frame gets its error and nothing else happens (INPUT, IDENT-004, LIMIT-002)."""

from __future__ import annotations

import json

import pytest

from tests.reference.helpers import Client, serving

BAD_FRAMES = [
    ("not json at all", "bad_json"),
    ("[1, 2, 3]", "bad_json"),
    ('{"type": "user_msg", "content": NaN}', "bad_json"),
    ("{}", "bad_frame"),
    ('{"type": 7, "content": "x"}', "bad_frame"),
    ('{"type": "hello"}', "unknown_type"),
    ('{"type": "user_msg"}', "bad_frame"),
    ('{"type": "user_msg", "content": ""}', "bad_frame"),
    ('{"type": "user_msg", "content": 5}', "bad_frame"),
    ('{"type": "user_msg", "content": "x", "nickname": " padded "}', "bad_frame"),
    ('{"type": "user_msg", "content": "x", "nickname": null}', "bad_frame"),
    ('{"type": "user_msg", "content": "x", "id": "has space"}', "bad_frame"),
    ('{"type": "user_msg", "content": "\\ud800 lone surrogate"}', "bad_frame"),
    ('{"type": "user_msg", "content": "ok", "x-note": "\\udc00"}', "bad_frame"),
    (json.dumps({"type": "user_msg", "content": "가" * 2001}), "too_long"),
    ('{"type": "ping", "id": 5}', "bad_frame"),
    ('{"type": "user_msg", "content": "x", "x": ' + "[" * 978 + "]" * 978 + "}", "bad_json"),  # INPUT-009
    ('{"type": "ping", "x": ' + '{"a":' * 490 + "1" + "}" * 490 + "}", "bad_json"),
    ("[" * 5000, "bad_json"),  # deep and not even JSON
]


@pytest.mark.parametrize(("text", "code"), BAD_FRAMES)
async def test_a_bad_frame_gets_its_error_and_the_connection_lives_on(text: str, code: str) -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a, Client.connect(server.ws("r")) as b:
        await a.joined()
        await b.joined()
        await a.send(text)
        error = await a.error(code)  # INPUT-001..003, IDENT-004, LIMIT-002
        assert "id" not in error and error["content"]
        if code == "too_long":
            assert "2000" in error["content"]
        await a.say("still here")  # the connection stays open
        assert (await a.expect(lambda f: f["type"] == "user_msg"))["content"] == "still here"
        received = [f for f in await b.quiet(0.2) if f["type"] != "system" or f["event"] == "error"]
        assert received == [] or [f["type"] for f in received] == ["user_msg"]  # INPUT-007: b saw only the chat
        a.check()


async def test_the_error_echoes_a_valid_id_but_never_the_content() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        await a.send({"type": "user_msg", "content": "<script>secret</script>" * 100, "id": "m-1", "nickname": 5})
        error = await a.error("bad_frame")
        assert error["id"] == "m-1" and "script" not in json.dumps(error)  # INPUT-006


async def test_an_invalid_frame_binds_no_nickname() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        await a.send({"type": "user_msg", "content": "", "nickname": "early"})  # invalid: binds nothing
        await a.error("bad_frame")
        await a.say("hi", nickname="late")
        assert (await a.expect(lambda f: f["type"] == "user_msg"))["nickname"] == "late"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "ai_msg", "id": "q-1"}, "bad_frame"),
        ({"type": "ai_msg", "id": "q-1", "content": "x", "history": [{"role": "system", "content": "x"}]}, "bad_frame"),
        (
            {"type": "ai_msg", "id": "q-1", "content": "x", "history": [{"role": "user", "content": ""}] * 51},
            "too_long",
        ),
        ({"type": "ai_msg", "id": "q-1", "content": "가" * 2001}, "too_long"),
    ],
)
async def test_a_refused_ai_msg_gets_exactly_one_rejected_ai_done(frame: dict[str, object], code: str) -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        await a.send(frame)
        error = await a.error(code)
        done = await a.answer()
        assert error["id"] == "q-1" and done == {"type": "ai_done", "status": "rejected", "id": "q-1"}  # INPUT-008
        assert await a.quiet(0.2) == []


async def test_history_may_hold_empty_turns_and_fifty_items() -> None:
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        history = [{"role": "user" if i % 2 else "model", "content": ""} for i in range(50)]
        await a.send({"type": "ai_msg", "content": "q", "history": history, "id": "q"})
        assert (await a.answer("q"))["status"] == "ok"


async def test_a_lower_content_limit_is_enforced_and_advertised() -> None:
    async with serving(max_content_chars=200) as server, Client.connect(server.ws("r")) as a:
        welcome = await a.joined()
        assert welcome["limits"]["max_content_chars"] == 200
        await a.say("x" * 201)
        assert "200" in (await a.error("too_long"))["content"]
        await a.send({"type": "ai_msg", "content": "q", "history": [{"role": "user", "content": "x" * 201}]})
        await a.error("too_long")
        await a.answer()
        await a.say("x" * 200)
        await a.expect(lambda f: f["type"] == "user_msg")


async def test_a_frame_nested_32_deep_is_read_and_33_is_refused_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """INPUT-009 at its edge: 32 levels are a valid user_msg (FRAME-002 ignores the deep field), 33 are bad_json."""
    async with serving() as server, Client.connect(server.ws("r")) as a:
        await a.joined()
        at_limit = {"type": "user_msg", "content": "deep but fine", "x": json.loads("[" * 31 + "]" * 31)}
        await a.send(at_limit)
        assert (await a.expect(lambda f: f["type"] == "user_msg"))["content"] == "deep but fine"
        await a.send({"type": "user_msg", "content": "too deep", "x": json.loads("[" * 32 + "]" * 32)})
        await a.error("bad_json")
        for _ in range(8):  # the storm of issue 13: each once cost ~272 KiB of traceback
            await a.send('{"type":"user_msg","content":"x","x":' + "[" * 3000 + "]" * 3000 + "}")
            await a.error("bad_json")
        a.check()
    assert not [r for r in caplog.records if r.exc_info], "a client's frame produced a traceback"
