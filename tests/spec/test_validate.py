"""roomwire.spec.validate: the verdict (requirement, error code, close code) for every way a frame can be bad."""

from __future__ import annotations

import json

import pytest

from roomwire.spec.codes import CloseCode, ErrorCode
from roomwire.spec.validate import (
    Verdict,
    Violation,
    parse_json_object,
    validate_client_frame,
    validate_client_payload,
    validate_server_payload,
)


def test_a_valid_client_frame_has_no_violation_and_keeps_the_parsed_frame() -> None:
    verdict = validate_client_payload('{"type":"user_msg","nickname":"철수","content":"안녕하세요!"}')
    assert verdict.valid and verdict.requirement_id is None
    assert verdict.frame == {"type": "user_msg", "nickname": "철수", "content": "안녕하세요!"}
    assert verdict.error_code is None and verdict.close_code is None


@pytest.mark.parametrize(
    ("payload", "binary", "requirement", "close"),
    [
        (b"\x00", True, "INPUT-004", CloseCode.UNSUPPORTED_DATA),
        ('{"type":"ping"}', True, "INPUT-004", CloseCode.UNSUPPORTED_DATA),
        (b'{"type":"ping","id":"\xff"}', False, "INPUT-005", CloseCode.INVALID_PAYLOAD),
    ],
)
def test_wire_level_faults_close_the_connection(
    payload: str | bytes, binary: bool, requirement: str, close: CloseCode
) -> None:
    verdict = validate_client_payload(payload, binary=binary)
    assert (verdict.requirement_id, verdict.close_code, verdict.error_code) == (requirement, close, None)


def test_size_is_counted_in_utf8_bytes_and_checked_before_decoding() -> None:
    at_limit = json.dumps({"type": "user_msg", "content": "가" * 10}, ensure_ascii=False)
    size = len(at_limit.encode())
    assert validate_client_payload(at_limit, max_frame_bytes=size).valid
    over = validate_client_payload(at_limit, max_frame_bytes=size - 1)
    assert (over.requirement_id, over.close_code) == ("LIMIT-001", CloseCode.MESSAGE_TOO_BIG)
    not_utf8_and_big = validate_client_payload(b"\xff" * 20, max_frame_bytes=10)
    assert not_utf8_and_big.requirement_id == "LIMIT-001"


@pytest.mark.parametrize("text", ["", "hi", "[1]", '"x"', "1", "null", "NaN", '{"a":Infinity}', '{"a":1}{}'])
def test_anything_but_one_json_object_is_bad_json(text: str) -> None:
    verdict = validate_client_payload(text)
    assert (verdict.requirement_id, verdict.error_code, verdict.frame) == ("INPUT-001", ErrorCode.BAD_JSON, None)


def test_parse_json_object_explains_why_not() -> None:
    assert parse_json_object('{"a":1}') == {"a": 1}
    assert parse_json_object("[]") == "JSON list, not an object"
    reason = parse_json_object("-Infinity")
    assert isinstance(reason, str) and "-Infinity is not JSON" in reason


@pytest.mark.parametrize(
    ("frame", "requirement", "code"),
    [
        ({"content": "x"}, "INPUT-002", ErrorCode.BAD_FRAME),
        ({"type": 3}, "INPUT-002", ErrorCode.BAD_FRAME),
        ({"type": None, "content": "x"}, "INPUT-002", ErrorCode.BAD_FRAME),
        ({"type": "pong"}, "INPUT-002", ErrorCode.UNKNOWN_TYPE),
        ({"type": "user_msg"}, "INPUT-003", ErrorCode.BAD_FRAME),
        ({"type": "user_msg", "content": ""}, "INPUT-003", ErrorCode.BAD_FRAME),
        (
            {"type": "ai_msg", "content": "x", "history": [{"role": "bot", "content": ""}]},
            "INPUT-003",
            ErrorCode.BAD_FRAME,
        ),
        ({"type": "ping", "id": "a b"}, "INPUT-003", ErrorCode.BAD_FRAME),
        ({"type": "user_msg", "content": "x", "nickname": "철수\n"}, "IDENT-004", ErrorCode.BAD_FRAME),
        ({"type": "user_msg", "nickname": ""}, "IDENT-004", ErrorCode.BAD_FRAME),
        ({"type": "user_msg", "content": "x" * 2001}, "LIMIT-002", ErrorCode.TOO_LONG),
        (
            {"type": "ai_msg", "content": "x", "history": [{"role": "user", "content": "y"}] * 51},
            "LIMIT-002",
            ErrorCode.TOO_LONG,
        ),
        ({"type": "ai_msg", "content": "x" * 2001, "history": 1}, "INPUT-003", ErrorCode.BAD_FRAME),
    ],
)
def test_schema_violations_name_their_requirement_and_code(
    frame: dict[str, object], requirement: str, code: ErrorCode
) -> None:
    verdict = validate_client_frame(frame)
    assert (verdict.requirement_id, verdict.error_code, verdict.close_code) == (requirement, code, None)
    assert verdict.frame == frame


def test_dollar_means_end_of_string_as_in_ecma_262() -> None:
    # Python's `$` also matches before a final newline; the spec's patterns must not let one through.
    for frame in ({"type": "ping", "id": "p-1\n"}, {"type": "user_msg", "content": "x", "nickname": "a\n"}):
        assert not validate_client_frame(frame).valid
    assert validate_client_frame({"type": "ping", "id": "p-1"}).valid


def test_violations_point_into_the_frame_and_stay_short() -> None:
    verdict = validate_client_frame(
        {"type": "ai_msg", "content": "x" * 5000, "history": [{"role": "x", "content": ""}]}
    )
    pointers = {v.path for v in verdict.violations}
    assert pointers == {"/content", "/history/0/role"}
    assert all(len(v.message) <= 200 for v in verdict.violations)
    assert any(v.message.endswith("(maxLength failed)") for v in verdict.violations)


def test_requirement_id_falls_back_to_the_first_violation_outside_the_precedence() -> None:
    verdict = Verdict(violations=(Violation("CHAT-002", "x"), Violation("FRAME-001", "y")))
    assert verdict.requirement_id == "CHAT-002"


def test_server_frames_break_frame_001_in_every_way() -> None:
    assert validate_server_payload('{"type":"ai_done"}').valid
    assert validate_server_payload(b'{"type":"ai_chunk","content":"\xec\x95\x88"}').valid
    cases: list[tuple[str | bytes, bool]] = [
        (b"{}", True),
        (b"\xff", False),
        ("[]", False),
        ('{"type":"welcome"}', False),
    ]
    for payload, binary in cases:
        verdict = validate_server_payload(payload, binary=binary)
        assert verdict.requirement_id == "FRAME-001" and verdict.error_code is None and verdict.close_code is None
    error = validate_server_payload('{"type":"system","event":"error","content":"x","code":"rate_limited"}')
    assert [v.path for v in error.violations] == [""]  # retry_after is required with rate_limited (ERR-001)


def test_unknown_fields_are_allowed_but_known_ones_are_typed() -> None:
    assert validate_client_frame({"type": "ping", "x-debug": [1, {"a": None}]}).valid
    assert not validate_server_payload('{"type":"pong","id":5}').valid
