"""roomwire.spec.validate: the verdict (requirement, error code, close code) for every way a frame can be bad."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roomwire.spec.cases import LabelledPayload
from roomwire.spec.codes import CloseCode, ErrorCode
from roomwire.spec.fastcheck import over_length
from roomwire.spec.messages import ClientAiMsg, ClientPing, ClientUserMsg, HistoryItem, parse_client_frame
from roomwire.spec.strategies import client_frames, near_miss_client_payloads
from roomwire.spec.validate import (
    BadFrame,
    NotJsonObject,
    TooDeep,
    Verdict,
    Violation,
    classify_client_frame,
    load_json_object,
    nests_deeper,
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


@pytest.mark.parametrize(
    "text", ["", "hi", "[1]", '"x"', "1", "null", "NaN", '{"a":Infinity}', '{"a":1}{}', "\ufeff{}"]
)
def test_anything_but_one_json_object_is_bad_json(text: str) -> None:
    verdict = validate_client_payload(text)
    assert (verdict.requirement_id, verdict.error_code, verdict.frame) == ("INPUT-001", ErrorCode.BAD_JSON, None)


def test_load_json_object_says_why_not() -> None:
    assert load_json_object('{"a":1}') == {"a": 1}
    with pytest.raises(NotJsonObject, match="^JSON list, not an object$"):
        load_json_object("[]")
    with pytest.raises(NotJsonObject, match="-Infinity is not JSON"):
        load_json_object("-Infinity")


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


# --- classify_client_frame: the one way through a client text frame --------------------------------------------

LONG = "x" * 2001


@pytest.mark.parametrize(
    ("text", "max_chars", "code", "requirement"),
    [
        ("nope", 2000, ErrorCode.BAD_JSON, "INPUT-001"),
        ('{"content":"x"}', 2000, ErrorCode.BAD_FRAME, "INPUT-002"),
        ('{"type":"pong"}', 2000, ErrorCode.UNKNOWN_TYPE, "INPUT-002"),
        ('{"type":"user_msg","content":"\\ud800"}', 2000, ErrorCode.BAD_FRAME, "INPUT-003"),  # a lone surrogate
        ('{"type":"user_msg","content":"x","nickname":" lead"}', 2000, ErrorCode.BAD_FRAME, "IDENT-004"),
        (f'{{"type":"user_msg","content":"{LONG}"}}', 2000, ErrorCode.TOO_LONG, "LIMIT-002"),  # the schemas' cap
        ('{"type":"ai_msg","content":"q","history":[{"role":"user","content":"' + "y" * 201 + '"}]}', 200,
         ErrorCode.TOO_LONG, "LIMIT-002"),  # a configured limit below the schemas'
    ],
)  # fmt: skip
def test_a_bad_frame_is_classified_with_its_code_and_requirement(
    text: str, max_chars: int, code: ErrorCode, requirement: str
) -> None:
    bad = classify_client_frame(text, max_chars)
    assert isinstance(bad, BadFrame) and bad.code is code and bad.verdict.requirement_id == requirement
    assert bad.verdict.error_code is code and (bad.data is None) == (code is ErrorCode.BAD_JSON)


@pytest.mark.parametrize(
    ("text", "frame"),
    [
        ('{"type":"ping","id":"p"}', ClientPing(id="p")),
        ('{"type":"user_msg","content":"hi","nickname":"ann","x":1}', ClientUserMsg(content="hi", nickname="ann")),
        ('{"type":"user_msg","content":"\\ud83d\\ude00"}', ClientUserMsg(content="\U0001f600")),  # a pair: slow path
        ('{"type":"ai_msg","content":"q","history":[{"role":"model","content":"a"}]}',
         ClientAiMsg(content="q", history=(HistoryItem(role="model", content="a"),))),
    ],
)  # fmt: skip
def test_a_valid_frame_is_classified_as_its_message(text: str, frame: object) -> None:
    assert classify_client_frame(text, 200) == frame


def by_schema(text: str, max_chars: int) -> object:
    """The classification by its definition, without the fast path: what classify_client_frame must agree with."""
    try:
        data = load_json_object(text)
    except NotJsonObject:
        return ErrorCode.BAD_JSON
    verdict = validate_client_frame(data)
    if not verdict.valid:
        return verdict.error_code
    return ErrorCode.TOO_LONG if over_length(data, max_chars) else parse_client_frame(data)


CLASSIFY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CLASSIFY
@given(
    near_miss_client_payloads() | client_frames().map(lambda f: json.dumps(f, ensure_ascii=False)),
    st.booleans(),
    st.sampled_from([200, 2000]),
)
def test_the_classification_is_the_schemas_whichever_path_decides(
    case: LabelledPayload | str, ascii_only: bool, max_chars: int
) -> None:
    if isinstance(case, LabelledPayload):
        if case.binary or isinstance(case.payload, bytes):
            return
        text = case.payload
    else:  # the same frame escaped (every non-ASCII character a \\u escape, surrogate pairs included) or not
        text = json.dumps(json.loads(case), ensure_ascii=ascii_only)
    classified = classify_client_frame(text, max_chars)
    expected = by_schema(text, max_chars)
    assert (classified.code if isinstance(classified, BadFrame) else classified) == expected
    verdict = validate_client_payload(text, max_frame_bytes=2**30)  # the suite's verdict, at the schemas' limit
    assert verdict.valid == (not isinstance(classify_client_frame(text), BadFrame))


def nested(levels: int, *, kind: str = "[") -> str:
    """A value `levels` deep: arrays (`[[…]]`) or objects (`{"a":{"a":…1}}`)."""
    return "[" * levels + "]" * levels if kind == "[" else '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("kind", ["[", "{"])
def test_nesting_is_measured_to_the_level_without_recursion(kind: str) -> None:
    frame = '{"type":"user_msg","content":"hi","x":%s}'
    assert not nests_deeper(frame % nested(31, kind=kind))  # 32 levels with the frame itself
    assert nests_deeper(frame % nested(32, kind=kind))
    assert nests_deeper(nested(200_000, kind=kind))  # far past Python's recursion limit: no RecursionError


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"user_msg","content":"' + "[" * 100 + '"}',  # brackets in a string do not nest
        '{"type":"user_msg","content":"\\"' + "{[" * 50 + '"}',  # an escaped quote does not end the string
        '{"a":"\\\\","b":' + "[" * 20 + "]" * 20 + "}",  # an escaped backslash ends before the quote
    ],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    assert not nests_deeper(text)


def test_a_deep_client_frame_is_bad_json_under_input_009_before_any_parser_recurses() -> None:
    deep = '{"type":"user_msg","content":"hi","x":' + nested(978) + "}"
    with pytest.raises(TooDeep, match="32 levels"):
        load_json_object(deep)
    classified = classify_client_frame(deep)
    assert isinstance(classified, BadFrame) and classified.code is ErrorCode.BAD_JSON and classified.data is None
    assert classified.verdict.requirement_id == "INPUT-009"
    assert validate_client_payload(deep).requirement_id == "INPUT-009"
    assert validate_client_payload(nested(5000)).requirement_id == "INPUT-009"  # precedes INPUT-001


def test_a_deep_server_frame_breaks_frame_001_with_a_reason() -> None:
    verdict = validate_server_payload('{"type":"pong","x":' + nested(978) + "}")
    assert [(v.requirement_id, v.message) for v in verdict.violations] == [
        ("FRAME-001", "the server sent a frame that is nested deeper than 32 levels (SPEC.md §2, Nesting)")
    ]
