"""The fast path never accepts what the spec's validator refuses (fastcheck.py's one promise)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roomwire.spec.fastcheck import (
    fast_client_frame,
    fast_valid,
    id_ok,
    may_hold_surrogate,
    nickname_ok,
    over_length,
)
from roomwire.spec.messages import parse_client_frame
from roomwire.spec.strategies import client_frames, near_miss_client_payloads
from roomwire.spec.validate import NotJsonObject, load_json_object, validate_client_frame

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(client_frames())
def test_valid_frames_are_valid_for_both(frame: dict[str, Any]) -> None:
    assert validate_client_frame(frame).valid
    if fast_valid(frame, 2000):
        assert not over_length(frame, 2000)


@FAST
@given(near_miss_client_payloads())
def test_a_near_miss_is_never_fast_valid(case: Any) -> None:
    if case.binary or isinstance(case.payload, bytes):
        return
    try:
        parsed = load_json_object(case.payload)
    except NotJsonObject:
        return
    accepted = fast_valid(parsed, 2000) and not may_hold_surrogate(case.payload)
    assert not accepted or validate_client_frame(parsed).valid


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
TYPES = st.sampled_from(["user_msg", "ai_msg", "ping", "other", 1, None])


@FAST
@given(st.dictionaries(st.sampled_from(["type", "content", "nickname", "id", "history", "x"]), JSONISH), TYPES)
def test_random_objects_fast_valid_implies_valid(frame: dict[str, Any], kind: Any) -> None:
    frame["type"] = kind
    if fast_valid(frame, 2000):
        assert validate_client_frame(frame).valid, frame


@FAST
@given(st.text(max_size=40))
def test_nickname_check_agrees_with_the_schema(text: str) -> None:
    verdict = validate_client_frame({"type": "user_msg", "content": "x", "nickname": text})
    assert nickname_ok(text) == verdict.valid


@FAST
@given(st.text(max_size=70))
def test_id_check_agrees_with_the_schema(text: str) -> None:
    assert id_ok(text) == validate_client_frame({"type": "ping", "id": text}).valid


def test_a_lower_limit_is_checked_by_over_length() -> None:
    frame = {"type": "ai_msg", "content": "x" * 10, "history": [{"role": "user", "content": "y" * 300}]}
    assert not fast_valid(frame, 200) and validate_client_frame(frame).valid and over_length(frame, 200)
    assert over_length({"content": "z" * 201}, 200) and not over_length({"content": 5, "history": "no"}, 200)


def test_only_an_escaped_surrogate_needs_the_full_check() -> None:
    assert may_hold_surrogate('{"type":"user_msg","content":"\\ud800"}')
    assert may_hold_surrogate('{"x":"\\uDFFF"}')
    assert not may_hold_surrogate('{"type":"user_msg","content":"\\u00e9 \\u4e00 plain"}')


@FAST
@given(
    st.dictionaries(st.sampled_from(["type", "content", "nickname", "id", "history", "x"]), JSONISH) | client_frames(),
    TYPES | st.just("keep"),
    st.sampled_from([200, 2000]),
)
def test_the_one_pass_fast_frame_is_fast_valid_then_parse(frame: dict[str, Any], kind: Any, max_chars: int) -> None:
    """`fast_client_frame` vouches for exactly the frames `fast_valid` does, and parses them as the spec does."""
    if kind != "keep":
        frame["type"] = kind
    parsed = fast_client_frame(frame, max_chars)
    assert (parsed is not None) == fast_valid(frame, max_chars)
    if parsed is not None:
        assert parsed == parse_client_frame(frame)
