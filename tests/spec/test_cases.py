"""roomwire.spec.cases: a labelled payload states exactly one expected answer and compares verdicts exactly."""

from __future__ import annotations

import pytest

from roomwire.spec.cases import LabelledPayload, describe
from roomwire.spec.codes import CloseCode, ErrorCode
from roomwire.spec.validate import validate_client_payload, validate_server_payload


def test_exactly_one_of_error_code_and_close_code() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        LabelledPayload(name="x", payload="", requirement_id="INPUT-001")
    with pytest.raises(ValueError, match="exactly one"):
        LabelledPayload(
            name="x", payload="", requirement_id="INPUT-001", error_code=ErrorCode.BAD_JSON, close_code=CloseCode.NORMAL
        )


def test_a_matching_verdict_has_no_mismatch() -> None:
    case = LabelledPayload(name="nan", payload='{"a":NaN}', requirement_id="INPUT-001", error_code=ErrorCode.BAD_JSON)
    assert case.expected == "INPUT-001, error bad_json" and case.data == b'{"a":NaN}'
    assert case.mismatch(case.verdict()) is None


def test_a_close_verdict_and_bytes_payloads() -> None:
    case = LabelledPayload(
        name="bin",
        payload='{"type":"ping"}',
        binary=True,
        requirement_id="INPUT-004",
        close_code=CloseCode.UNSUPPORTED_DATA,
    )
    assert case.expected == "INPUT-004, close 1003" and case.mismatch(case.verdict()) is None
    raw = LabelledPayload(name="utf", payload=b"\xff", requirement_id="INPUT-005", close_code=CloseCode.INVALID_PAYLOAD)
    assert raw.data == b"\xff" and raw.mismatch(raw.verdict()) is None
    surrogate = LabelledPayload(name="s", payload="\ud800", requirement_id="INPUT-001", error_code=ErrorCode.BAD_JSON)
    assert surrogate.data == b"\xed\xa0\x80"


def test_any_difference_is_reported_with_expected_and_actual() -> None:
    wrong_code = LabelledPayload(
        name="t", payload='{"type":"x"}', requirement_id="INPUT-002", error_code=ErrorCode.BAD_FRAME
    )
    assert (
        wrong_code.mismatch(wrong_code.verdict())
        == "t: expected INPUT-002, error bad_frame; got INPUT-002, error unknown_type"
    )
    valid = LabelledPayload(
        name="v", payload='{"type":"ping"}', requirement_id="INPUT-001", error_code=ErrorCode.BAD_JSON
    )
    assert valid.mismatch(valid.verdict()) == "v: expected INPUT-001, error bad_json; got valid"
    big = LabelledPayload(name="b", payload="x" * 20, requirement_id="LIMIT-001", close_code=CloseCode.MESSAGE_TOO_BIG)
    assert big.mismatch(big.verdict(max_frame_bytes=10)) is None and big.mismatch(big.verdict()) is not None


def test_describe() -> None:
    assert describe(validate_client_payload('{"type":"ping"}')) == "valid"
    assert describe(validate_client_payload(b"\xff")) == "INPUT-005, close 1007"
    assert describe(validate_server_payload("[]")) == "FRAME-001"
