"""roomwire.spec.protocol: ClientProtocol records each broken invariant with its requirement, and nothing else."""

from __future__ import annotations

import json

import pytest

from roomwire.spec.codes import AiStatus, ErrorCode, SystemEvent
from roomwire.spec.errors import LocalProtocolError
from roomwire.spec.limits import DEFAULT_LIMITS
from roomwire.spec.messages import AiChunk, AiDone, Pong, Resume, ServerUserMsg, System, encode
from roomwire.spec.protocol import ClientProtocol


def welcome(seq: int = 0, resume: Resume | None = None) -> str:
    frame = System.welcome(
        room="lobby",
        nickname="철수",
        seq=seq,
        members=("철수",),
        limits=DEFAULT_LIMITS,
        capabilities=("ping", "resume"),
        resume=resume,
    )
    return encode(frame)


def chat(seq: int, content: str = "hi") -> str:
    return encode(ServerUserMsg(nickname="영희", content=content, seq=seq, ts=1764069600000 + seq))


def join(seq: int) -> str:
    return encode(System.presence(SystemEvent.JOIN, nickname="영희", seq=seq, ts=1, count=2))


def ids(protocol: ClientProtocol) -> list[str]:
    return [error.requirement_id for _, error in protocol.violations]


def test_a_clean_conversation_has_no_violation() -> None:
    protocol = ClientProtocol(nickname="철수")
    first = protocol.ai_msg("핀볼 팁?", id="a-1", now=1.0)
    assert json.loads(first) == {"type": "ai_msg", "content": "핀볼 팁?", "history": [], "id": "a-1"}
    frames = [
        welcome(41),
        join(42),
        chat(43),
        encode(AiChunk(content="안", id="a-1")),
        encode(System.error(ErrorCode.UPSTREAM_ERROR, id="a-1")),
        encode(AiChunk(content="녕", id="a-1")),
        encode(AiDone(status=AiStatus.ERROR, id="a-1")),
        encode(Pong(id="p-1")),
        encode(System.error(ErrorCode.BAD_JSON)),
        encode(System.presence(SystemEvent.LEAVE, nickname="영희", seq=44, ts=2, count=1)),
    ]
    for index, text in enumerate(frames):
        item = protocol.receive(text, now=2.0 + index)
        assert item.index == index and item.frame is not None and item.data is not None
    assert protocol.violations == []
    exchange = protocol.exchange("a-1")
    assert exchange.finished and exchange.text == "안녕" and exchange.status is AiStatus.ERROR
    assert exchange.chunk_times == [5.0, 7.0] and exchange.done_at == 8.0
    assert [e.code for e in exchange.errors] == ["upstream_error"]
    assert protocol.pending == [] and protocol.last_seq == 44
    assert [type(f).__name__ for f in protocol.room_events()] == ["System", "ServerUserMsg", "System"]
    assert len(protocol.frames()) == len(frames)


def test_sending_helpers_frame_what_they_are_given() -> None:
    protocol = ClientProtocol()
    assert protocol.next_id() == "c-1" and protocol.next_id("ai") == "ai-2"
    assert json.loads(protocol.user_msg("hi", nickname="철수", id="m-1")) == {
        "type": "user_msg",
        "nickname": "철수",
        "content": "hi",
        "id": "m-1",
    }
    assert json.loads(protocol.ping(id="p-1")) == {"type": "ping", "id": "p-1"}


def test_a_pending_id_cannot_be_reused_but_a_finished_one_can() -> None:
    protocol = ClientProtocol()
    protocol.ai_msg("q", id="a")
    with pytest.raises(LocalProtocolError, match="already pending"):
        protocol.ai_msg("q", id="a")
    protocol.receive(welcome())
    protocol.receive(encode(AiDone(id="a")))
    protocol.ai_msg("again", id="a")
    assert protocol.exchange("a").request.content == "again"
    with pytest.raises(LocalProtocolError, match="no ai_msg"):
        protocol.exchange("zzz")


def test_frame_001_invalid_and_binary_frames() -> None:
    protocol = ClientProtocol()
    bad = protocol.receive('{"type":"pong","id":5}')
    assert bad.frame is None and bad.data == {"type": "pong", "id": 5}
    not_json = protocol.receive("nope")
    assert not_json.frame is None and not_json.data is None
    binary = protocol.receive_binary(b"\x00\x01", now=3.0)
    assert binary.raw == "<binary frame, 2 bytes>" and binary.at == 3.0
    assert ids(protocol) == ["FRAME-001", "FRAME-001", "FRAME-001"]
    assert protocol.violations_of("FRAME-001")[0].detail.startswith("frame #0:")


def test_a_frame_nested_past_the_recursion_limit_is_a_frame_001_violation_not_a_crash() -> None:
    protocol = ClientProtocol()
    deep = protocol.receive('{"type":"pong","x":' + "[" * 5000 + "]" * 5000 + "}")
    assert deep.frame is None and deep.data is None
    assert ids(protocol) == ["FRAME-001"] and "nested deeper than 32 levels" in protocol.violations[0][1].detail


def test_conn_003_first_frame_must_be_the_welcome_and_only_one() -> None:
    protocol = ClientProtocol()
    protocol.receive(chat(1))
    protocol.receive(welcome(1))
    protocol.receive(welcome(1))
    assert ids(protocol) == ["CONN-003", "CONN-003"]
    assert "not the welcome" in str(protocol.violations[0][1]) and "second welcome" in str(protocol.violations[1][1])


def test_frame_004_system_without_event() -> None:
    protocol = ClientProtocol()
    protocol.receive(welcome())
    protocol.receive('{"type":"system","content":"철수가 퇴장했습니다."}')
    assert ids(protocol) == ["FRAME-004"]


def test_chat_002_broadcast_without_seq_and_ts() -> None:
    protocol = ClientProtocol()
    protocol.receive(welcome())
    protocol.receive('{"type":"user_msg","nickname":"철수","content":"hi"}')
    protocol.receive('{"type":"user_msg","nickname":"철수","content":"hi","seq":1}')
    assert ids(protocol) == ["CHAT-002", "CHAT-002"]
    assert "without seq, ts" in str(protocol.violations[0][1]) and protocol.violations[1][1].detail.endswith(
        "without ts"
    )


def test_chat_004_and_005_seq_order_and_gaps() -> None:
    protocol = ClientProtocol()
    for text in (welcome(10), chat(11), chat(11), chat(10), join(14), chat(15)):
        protocol.receive(text)
    assert ids(protocol) == ["CHAT-004", "CHAT-004", "CHAT-005"]
    assert "jumped from 11 to 14" in str(protocol.violations[2][1])


def test_a_replay_continues_from_since() -> None:
    protocol = ClientProtocol(since=8)
    for text in (welcome(10, Resume(since=8, replayed=2, complete=True)), chat(9), chat(10), chat(11)):
        protocol.receive(text)
    assert protocol.violations == []


def test_an_incomplete_replay_may_have_gaps_up_to_the_welcome_but_not_after() -> None:
    protocol = ClientProtocol(since=2)
    for text in (welcome(10, Resume(since=2, replayed=2, complete=False)), chat(5), chat(9), chat(11), chat(13)):
        protocol.receive(text)
    assert ids(protocol) == ["CHAT-005"]
    assert "from 11 to 13" in str(protocol.violations[0][1])


def test_without_resume_or_after_a_restart_live_events_continue_from_the_welcome() -> None:
    no_resume = ClientProtocol(since=5)
    for text in (welcome(10), chat(11)):
        no_resume.receive(text)
    restarted = ClientProtocol(since=100)  # the server restarted: its room counter started again
    for text in (welcome(3, Resume(since=100, replayed=0, complete=False)), chat(4)):
        restarted.receive(text)
    assert no_resume.violations == [] and restarted.violations == []


def test_events_before_the_welcome_are_not_gap_checked() -> None:
    protocol = ClientProtocol(since=5)
    protocol.receive(chat(9))
    assert ids(protocol) == ["CONN-003"] and protocol.last_seq == 9


def test_ai_001_an_answer_to_nothing_this_connection_asked() -> None:
    protocol = ClientProtocol()
    protocol.receive(welcome())
    protocol.receive(encode(AiChunk(content="x")))
    protocol.ai_msg("q", id="a")
    protocol.receive(encode(AiChunk(content="x", id="b")))
    assert ids(protocol) == ["AI-001", "AI-001"]


def test_ai_002_nothing_after_the_ai_done() -> None:
    protocol = ClientProtocol()
    protocol.receive(welcome())
    protocol.ai_msg("q", id="a")
    protocol.ai_msg("q2")
    protocol.receive(encode(AiDone(id="a")))
    protocol.receive(encode(AiChunk(content="late", id="a")))
    protocol.receive(encode(AiDone()))  # no id: the oldest pending exchange, the one without id
    protocol.receive(encode(AiChunk(content="late again")))
    assert ids(protocol) == ["AI-002", "AI-002"]
    assert "after its ai_done" in str(protocol.violations[0][1])


def test_answers_without_echoed_id_go_to_the_oldest_pending_exchange() -> None:
    protocol = ClientProtocol()
    protocol.receive(welcome())
    protocol.ai_msg("first", id="a")
    protocol.ai_msg("second", id="b")
    protocol.receive(encode(System.error(ErrorCode.AI_BUSY)))
    protocol.receive(encode(AiDone(status=AiStatus.REJECTED)))
    protocol.receive(encode(AiChunk(content="x")))  # no time given: no chunk time recorded
    assert protocol.exchange("a").status is AiStatus.REJECTED and protocol.exchange("a").errors[0].code == "ai_busy"
    assert protocol.exchange("b").chunks == ["x"] and protocol.exchange("b").chunk_times == []


def test_ai_errors_for_unknown_ids_or_without_pending_exchange_are_kept_out_of_exchanges() -> None:
    protocol = ClientProtocol()
    protocol.receive(welcome())
    protocol.receive(encode(System.error(ErrorCode.AI_QUOTA, retry_after=3)))
    protocol.ai_msg("q", id="a")
    protocol.receive(encode(System.error(ErrorCode.AI_QUOTA, retry_after=3, id="zz")))
    assert protocol.exchange("a").errors == [] and protocol.violations == []


def test_violations_of_filters_by_requirement() -> None:
    protocol = ClientProtocol()
    protocol.receive(chat(1))
    protocol.receive_binary(b"")
    assert [e.requirement_id for e in protocol.violations_of()] == ["CONN-003", "FRAME-001"]
    assert [e.requirement_id for e in protocol.violations_of("FRAME-001")] == ["FRAME-001"]
