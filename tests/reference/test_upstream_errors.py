"""The mapping from upstream failures to notices, without upstream text (UP-001..006, UP-008)."""

from __future__ import annotations

import httpx
import pytest

from roomwire.reference.upstream_errors import (
    UpstreamHttpError,
    UpstreamTimeout,
    classify,
    empty_answer,
    from_finish,
    parse_duration,
    retry_after_from,
)
from roomwire.spec.codes import AiStatus, ErrorCode


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("58s", 58),
        ("1.5s", 2),
        ("0.2s", 1),
        (".5s", 1),
        ("0s", 1),
        (" 3s ", 3),
        ({"seconds": 2, "nanos": 5e8}, 3),
        ({"seconds": "4"}, 4),
        ("58", None),
        ("-1s", None),
        ("abc", None),
        (58, None),
        ({"seconds": "x"}, None),
        ({"seconds": None}, None),
        ({"seconds": 1, "nanos": -2e9}, None),
    ],  # fmt: skip
)
def test_parse_duration(value: object, expected: int | None) -> None:
    assert parse_duration(value) == expected


def test_retry_after_from_the_body() -> None:
    info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"}
    help_ = {"@type": "type.googleapis.com/google.rpc.Help", "links": []}
    assert retry_after_from({"error": {"details": [help_, info]}}) == 26
    assert retry_after_from({"error": {"details": [{**info, "retryDelay": "soon"}]}}) == 60
    assert retry_after_from({"error": {"message": "no details"}}) == 60
    assert retry_after_from("not a body") == 60 and retry_after_from({"error": "x"}) == 60


def test_http_errors() -> None:
    rate = classify(UpstreamHttpError(429, "RESOURCE_EXHAUSTED", {}))
    assert (rate.code, rate.status, rate.retry_after) == (ErrorCode.UPSTREAM_RATE_LIMITED, AiStatus.ERROR, 60)
    assert classify(UpstreamHttpError(None, "RESOURCE_EXHAUSTED", {})).code is ErrorCode.UPSTREAM_RATE_LIMITED
    other = classify(UpstreamHttpError(403, "PERMISSION_DENIED", {"error": {"message": "api_key:AIza…"}}))
    assert other.code is ErrorCode.UPSTREAM_ERROR and other.summary == "upstream HTTP 403 PERMISSION_DENIED"
    odd = classify(UpstreamHttpError(500, "Internal Server Error: key AIzaSomething", {}))
    assert odd.summary == "upstream HTTP 500 -"  # a status that is not an enum word is not logged


def test_transport_and_timeouts() -> None:
    cut = classify(httpx.RemoteProtocolError("peer closed connection AIzaLeak"))
    assert cut.code is ErrorCode.UPSTREAM_ERROR and cut.summary == "upstream failed: httpx.RemoteProtocolError"
    assert classify(UpstreamTimeout()).code is ErrorCode.UPSTREAM_TIMEOUT
    assert classify(TimeoutError()).code is ErrorCode.UPSTREAM_TIMEOUT
    assert classify(ValueError("unparsable chunk")).outcome == "transport"


@pytest.mark.parametrize(
    ("finish", "block", "code", "status"),
    [
        ("STOP", None, None, None),
        ("MAX_TOKENS", None, None, None),
        (None, None, ErrorCode.AI_INCOMPLETE, AiStatus.ERROR),
        ("SAFETY", None, ErrorCode.AI_BLOCKED, AiStatus.BLOCKED),
        ("RECITATION", None, ErrorCode.AI_BLOCKED, AiStatus.BLOCKED),
        (None, "PROHIBITED_CONTENT", ErrorCode.AI_BLOCKED, AiStatus.BLOCKED),
        (None, "OTHER", ErrorCode.AI_BLOCKED, AiStatus.BLOCKED),
        (None, "BLOCKED_REASON_UNSPECIFIED", ErrorCode.AI_INCOMPLETE, AiStatus.ERROR),
        ("STOP", "BLOCKED_REASON_UNSPECIFIED", None, None),
        ("MALFORMED_FUNCTION_CALL", None, ErrorCode.UPSTREAM_ERROR, AiStatus.ERROR),
        ("weird text", None, ErrorCode.UPSTREAM_ERROR, AiStatus.ERROR),
    ],
)
def test_finish_reasons(finish: str | None, block: str | None, code: ErrorCode | None, status: AiStatus | None) -> None:
    failure = from_finish(finish, block)
    assert (failure.code if failure else None, failure.status if failure else None) == (code, status)
    if failure is not None:
        assert "weird" not in failure.summary


def test_an_empty_truncated_answer() -> None:
    empty = empty_answer()
    assert (empty.code, empty.status, empty.outcome) == (ErrorCode.AI_EMPTY, AiStatus.TRUNCATED, "empty")
