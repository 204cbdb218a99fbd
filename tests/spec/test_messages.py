"""roomwire.spec.messages: frames as dataclasses, their wire form, and parsing back."""

from __future__ import annotations

import json

import pytest

from roomwire.spec.codes import AiStatus, ErrorCode, LeaveReason, NoticeCode, SystemEvent
from roomwire.spec.errors import LocalProtocolError
from roomwire.spec.limits import DEFAULT_LIMITS, Limits
from roomwire.spec.messages import (
    AiChunk,
    AiDone,
    ClientAiMsg,
    ClientFrame,
    ClientPing,
    ClientUserMsg,
    HistoryItem,
    Pong,
    Resume,
    ServerFrame,
    ServerUserMsg,
    System,
    UnknownFrame,
    encode,
    parse_client_frame,
    parse_server_frame,
)
from roomwire.spec.texts import Lang
from roomwire.spec.validate import validate_client_payload, validate_server_payload


def test_encode_writes_what_the_seed_writes() -> None:
    # fixtures/frames/seed: the page's JSON.stringify and Starlette's send_json, byte for byte.
    assert encode(ClientUserMsg(nickname="철수", content="안녕하세요!")) == (
        '{"type":"user_msg","nickname":"철수","content":"안녕하세요!"}'
    )
    assert encode(ClientAiMsg(content="q")) == '{"type":"ai_msg","content":"q","history":[]}'
    assert encode(AiChunk(content="안")) == '{"type":"ai_chunk","content":"안"}'
    assert encode(AiDone()) == '{"type":"ai_done"}'
    assert encode(System(content="철수가 퇴장했습니다.")) == '{"type":"system","content":"철수가 퇴장했습니다."}'


def test_encode_escapes_a_string_that_utf8_cannot_carry() -> None:
    text = encode(ServerUserMsg(nickname="철수", content="a\ud800b"))
    assert text == '{"type":"user_msg","nickname":"\\ucca0\\uc218","content":"a\\ud800b"}'
    text.encode("utf-8")
    assert json.loads(text)["content"] == "a\ud800b"


def test_client_frames_round_trip() -> None:
    frames: list[ClientFrame] = [
        ClientUserMsg(content="hi", nickname="철수", id="m-1"),
        ClientAiMsg(
            content="q",
            history=(HistoryItem(role="user", content="a"), HistoryItem(role="model", content="")),
            id="a-1",
            nickname="n",
        ),
        ClientPing(id="p-1"),
        ClientPing(),
    ]
    for frame in frames:
        text = encode(frame)
        assert validate_client_payload(text).valid
        assert parse_client_frame(json.loads(text)) == frame


def test_parse_client_frame_ignores_unknown_fields_and_refuses_unknown_types() -> None:
    assert parse_client_frame({"type": "ping", "x": 1}) == ClientPing()
    assert parse_client_frame({"type": "ai_msg", "content": "q"}) == ClientAiMsg(content="q")
    with pytest.raises(LocalProtocolError, match="validate before parsing"):
        parse_client_frame({"type": "pong"})


def test_server_frames_round_trip() -> None:
    frames: list[ServerFrame] = [
        ServerUserMsg(nickname="철수", content="hi", seq=3, ts=5, id="m-1"),
        AiChunk(content="안", id="a"),
        AiDone(status=AiStatus.TRUNCATED, id="a"),
        AiDone(),
        Pong(id="p"),
        System.welcome(
            room="lobby", nickname=None, seq=0, members=("누군가",), limits=DEFAULT_LIMITS, capabilities=("ping",)
        ),
        System.welcome(
            room="r",
            nickname="철수",
            seq=4,
            members=("철수",),
            limits=Limits(max_frame_bytes=9000),
            capabilities=("ping", "resume"),
            resume=Resume(since=2, replayed=2, complete=True),
            lang=Lang.EN,
        ),
        System.presence(SystemEvent.JOIN, nickname="철수", seq=1, ts=2, count=1),
        System.presence(
            SystemEvent.LEAVE, nickname="Someone", seq=2, ts=3, count=0, reason=LeaveReason.DROP, lang=Lang.EN
        ),
        System.error(ErrorCode.RATE_LIMITED, retry_after=3, id="m-2"),
        System.error(ErrorCode.TOO_LONG, max_chars=2000, lang=Lang.EN),
        System.notice(NoticeCode.SERVER_RESTART),
        System(content="seed style"),
    ]
    for frame in frames:
        text = encode(frame)
        assert validate_server_payload(text).valid, text
        assert parse_server_frame(json.loads(text)) == frame


def test_constructors_use_the_spec_texts() -> None:
    assert System.welcome(room="lobby", nickname=None, seq=0, members=(), limits=Limits(), capabilities=()).content == (
        "lobby 방에 연결되었습니다."
    )
    assert System.presence(SystemEvent.LEAVE, nickname="철수", seq=1, ts=1).content == "철수가 퇴장했습니다."
    error = System.error(ErrorCode.UPSTREAM_RATE_LIMITED, retry_after=58)
    assert error.content == "AI 사용 한도를 초과했습니다. 58초 후에 다시 시도해 주세요."
    assert error.to_json()["code"] == "upstream_rate_limited" and error.to_json()["retry_after"] == 58
    assert (
        System.error(ErrorCode.TOO_LONG, lang=Lang.EN, max_chars=2000).content
        == "Message too long (at most 2000 characters)."
    )


def test_welcome_always_says_its_nickname_even_when_unbound() -> None:
    welcome = System.welcome(room="r", nickname=None, seq=0, members=(), limits=Limits(), capabilities=())
    assert welcome.to_json()["nickname"] is None
    assert "nickname" not in System(content="x").to_json()


def test_room_events_are_join_and_leave() -> None:
    assert System.presence(SystemEvent.JOIN, nickname="a", seq=1, ts=1).is_room_event
    assert not System.notice(NoticeCode.DEGRADED).is_room_event
    assert not System(content="seed").is_room_event


def test_parse_server_frame_keeps_unknown_fields_and_types_as_evidence() -> None:
    system = parse_server_frame(
        {"type": "system", "content": "x", "x-trace": 1, "limits": {"max_frame_bytes": 9000, "zz": 1}}
    )
    assert isinstance(system, System)
    assert system.extra == {"x-trace": 1}
    assert system.limits == Limits(max_frame_bytes=9000)
    unknown = parse_server_frame({"type": "typing", "nickname": "철수"})
    assert unknown == UnknownFrame(data={"type": "typing", "nickname": "철수"})
    assert unknown.to_json() == {"type": "typing", "nickname": "철수"}


def test_history_item_to_json() -> None:
    assert HistoryItem(role="model", content="안녕").to_json() == {"role": "model", "content": "안녕"}
