"""Wire frames are RFC 6455 text frames, unmasked and final, built once (frames.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roomwire.reference.frames import WireFrame, encode_json, frame_header, welcome_frame
from roomwire.reference.rooms.broker import EventKind, RoomEvent
from roomwire.spec.codes import LeaveReason
from roomwire.spec.limits import Limits
from roomwire.spec.messages import Pong, Resume, System, encode
from roomwire.spec.strategies import server_frames
from roomwire.spec.texts import Lang


@pytest.mark.parametrize("length", [0, 125, 126, 65535, 65536, 1 << 20])
def test_header_lengths(length: int) -> None:
    header = frame_header(length)
    assert header[0] == 0x81 and not header[1] & 0x80
    if length < 126:
        assert header[1] == length
    elif length < 65536:
        assert header[1] == 126 and int.from_bytes(header[2:4], "big") == length
    else:
        assert header[1] == 127 and int.from_bytes(header[2:10], "big") == length


def test_a_wire_frame_carries_text_bytes_and_kind() -> None:
    frame = WireFrame.of(Pong(id="p"))
    assert frame.text == '{"type":"pong","id":"p"}' and frame.kind == "pong"
    assert frame.data == bytes((0x81, len(frame.text))) + frame.text.encode() and frame.size == len(frame.data)
    assert repr(frame).startswith("WireFrame(") and "…" in repr(WireFrame("x" * 100, "k"))


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(list(EventKind)),
    nickname=st.none() | st.text(min_size=1, max_size=40),
    content=st.text(max_size=300),  # any text, unpaired surrogates too: `encode` escapes those
    id=st.none() | st.text(max_size=20),
    seq=st.integers(1, 2**53),
    ts=st.integers(0, 2**53),
    count=st.integers(0, 1000),
)
def test_room_event_frames_are_the_spec_s_encoding_in_every_language(
    kind: EventKind, nickname: str | None, content: str, id: str | None, seq: int, ts: int, count: int
) -> None:
    """The fast encodings (one shared user_msg frame, module-level JSON encoders) give `encode`'s exact text."""
    presence = kind is not EventKind.USER_MSG
    event = RoomEvent(
        room="r", kind=kind, seq=seq, ts=ts, nickname=nickname, content=None if presence else content,
        id=None if presence else id, count=count if presence else None,
        reason=LeaveReason.CLOSE if kind is EventKind.LEAVE else None,
    )  # fmt: skip
    for lang in (Lang.KO, Lang.EN):
        frame = event.frame(lang)
        assert frame.text == encode(event._render(lang))
        assert frame.data.endswith(frame.text.encode("utf-8")) and frame.kind == kind_of(event)
        assert event.frame(lang) is frame  # built once per language
    if kind is EventKind.USER_MSG and nickname is not None:
        assert event.frame(Lang.KO) is event.frame(Lang.EN)  # the same bytes in both languages: built once


def kind_of(event: RoomEvent) -> str:
    return "user_msg" if event.kind is EventKind.USER_MSG else "system"


@given(frame=server_frames())
def test_wire_frames_of_generated_server_frames_match_encode(frame: dict[str, object]) -> None:
    text, payload = encode_json(frame)
    assert text == json.dumps(frame, ensure_ascii=False, separators=(",", ":")) and payload == text.encode()


@settings(max_examples=200, deadline=None)
@given(
    nickname=st.none() | st.text(min_size=1, max_size=40),
    room=st.text(min_size=1, max_size=40),
    members=st.lists(st.text(min_size=1, max_size=20), max_size=12),
    seq=st.integers(0, 2**53),
    resume=st.none() | st.tuples(st.integers(0, 2**53), st.integers(0, 500), st.booleans()),
)
def test_the_welcome_is_the_spec_s_encoding_in_every_language(
    nickname: str | None, room: str, members: list[str], seq: int, resume: tuple[int, int, bool] | None
) -> None:
    """`welcome_frame` builds no `System` dataclass, yet gives `encode`'s exact text (unbound nickname last, null)."""
    limits, capabilities = Limits(), ("ping", "resume")
    since = None if resume is None else Resume(since=resume[0], replayed=resume[1], complete=resume[2])
    for lang in (Lang.KO, Lang.EN):
        frame = welcome_frame(
            room=room, nickname=nickname, seq=seq, members=members, limits=limits, capabilities=capabilities,
            resume=since, lang=lang,
        )  # fmt: skip
        spec = System.welcome(
            room=room, nickname=nickname, seq=seq, members=tuple(members), limits=limits, capabilities=capabilities,
            resume=since, lang=lang,
        )  # fmt: skip
        assert frame.text == encode(spec)
        assert frame.data.endswith(frame.text.encode("utf-8")) and frame.kind == "system"


@pytest.mark.parametrize("nickname", [None, "ok"])
def test_a_welcome_with_an_unpaired_surrogate_is_escaped_whole_as_encode_does(nickname: str | None) -> None:
    limits, capabilities = Limits(), ("ping", "resume")
    since = Resume(since=3, replayed=1, complete=False)
    frame = welcome_frame(
        room="r", nickname=nickname, seq=4, members=["a\ud800b"], limits=limits, capabilities=capabilities,
        resume=since, lang=Lang.EN,
    )  # fmt: skip
    spec = System.welcome(
        room="r", nickname=nickname, seq=4, members=("a\ud800b",), limits=limits, capabilities=capabilities,
        resume=since, lang=Lang.EN,
    )  # fmt: skip
    assert frame.text == encode(spec) and "\\ud800" in frame.text
