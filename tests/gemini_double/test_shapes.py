"""The shape checker against reality: every recorded real body passes, and each kind of deviation is caught."""

from __future__ import annotations

import json

import pytest

from roomwire.gemini_double import canned
from roomwire.gemini_double.shapes import (
    ShapeError,
    check_response,
    check_stream_body,
    error_problems,
    field_differences,
    response_problems,
    split_sse,
    stream_problems,
)

RECORDED = canned.recorded_index()
GOOD = {"candidates": [{"content": {"parts": [{"text": "hi"}], "role": "model"}, "index": 0}], "responseId": "r"}


@pytest.mark.parametrize("name", [n for n, e in RECORDED.items() if e["kind"] == "stream"])
def test_recorded_real_streams_pass(name: str) -> None:
    chunks = check_stream_body(canned.recorded_body(name).encode("utf-8"))
    assert chunks


@pytest.mark.parametrize("name", [n for n, e in RECORDED.items() if e["kind"] == "response"])
def test_recorded_real_responses_pass(name: str) -> None:
    check_response(json.loads(canned.recorded_body(name)))


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\r\n\r\n"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty stream"),
        (_event(GOOD)[:-2], "does not end with"),
        (b"data:" + json.dumps(GOOD).encode() + b"\r\n\r\n", "does not start with 'data: '"),
        (b": keepalive\r\n\r\n" + _event(GOOD), "does not start with 'data: '"),
        (b'data: {"a":\n1}\r\n\r\n', "spans several lines"),
        (b"data: {nope\r\n\r\n", "is not JSON"),
    ],
)
def test_framing_problems(body: bytes, problem: str) -> None:
    with pytest.raises(ShapeError, match=problem):
        check_stream_body(body)


@pytest.mark.parametrize(
    ("obj", "problem"),
    [
        ([], "not a JSON object"),
        ({**GOOD, "extra": 1}, "unknown field 'extra'"),
        ({**GOOD, "modelVersion": 3}, "modelVersion is not a string"),
        ({"responseId": "r"}, "candidates missing"),
        ({"candidates": [1]}, "not an object"),
        ({"candidates": [{"finishReason": "DONE", "content": {}}]}, "unknown finishReason"),
        ({"candidates": [{"index": "0", "content": {}}]}, "index is not an integer"),
        ({"candidates": [{}]}, "no content and no finishReason"),
        ({"candidates": [{"content": []}]}, "content is not an object"),
        ({"candidates": [{"content": {"role": "user"}}]}, "content.role is 'user'"),
        ({"candidates": [{"content": {"parts": {}}}]}, "content.parts is not a list"),
        ({"candidates": [{"content": {"parts": [{}]}}]}, "parts[0] is not a non-empty object"),
        ({"candidates": [{"content": {"parts": [{"text": 1}]}}]}, "parts[0].text is not a string"),
        ({**GOOD, "usageMetadata": []}, "usageMetadata is not an object"),
        ({**GOOD, "usageMetadata": {"promptTokenCount": -1}}, "not a non-negative integer"),
        ({**GOOD, "usageMetadata": {"promptTokenCount": 2, "totalTokenCount": 3}}, "parts add up to 2"),
        ({**GOOD, "usageMetadata": {"promptTokensDetails": [{"tokenCount": 1}]}}, "list of {modality, tokenCount}"),
    ],
)
def test_response_problems(obj: object, problem: str) -> None:
    assert any(problem in p for p in response_problems(obj)), response_problems(obj)
    with pytest.raises(ShapeError):
        check_response(obj)


def test_a_blocked_prompt_without_candidates_is_fine() -> None:
    assert response_problems({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}}) == []
    assert response_problems({"candidates": [{"finishReason": "SAFETY"}]}) == []


def test_stream_rules() -> None:
    def chunk(rid: str, count: int, finish: str | None = None) -> dict[str, object]:
        cand: dict[str, object] = {"content": {"parts": [{"text": "x"}]}}
        if finish:
            cand["finishReason"] = finish
        return {"candidates": [cand], "responseId": rid, "usageMetadata": {"candidatesTokenCount": count}}

    assert stream_problems([]) == ["stream has no chunks"]
    assert stream_problems([chunk("a", 1), chunk("a", 2, "STOP")]) == []
    problems = stream_problems([chunk("a", 3, "STOP"), chunk("b", 2)])
    assert len(problems) == 3
    assert stream_problems([{"candidates": []}, {}]) == []
    with pytest.raises(ShapeError, match="changes within the stream"):
        check_stream_body(_event(chunk("a", 1)) + _event(chunk("b", 2)))


def test_split_sse() -> None:
    assert split_sse(_event({"a": 1}) + _event({"b": 2})) == ['{"a": 1}', '{"b": 2}']


def test_error_problems() -> None:
    assert error_problems({"error": {"code": 429, "message": "m", "status": "RESOURCE_EXHAUSTED"}}, 429) == []
    assert error_problems({"error": "x"}, 400) == ["not {'error': {...}}"]
    problems = error_problems({"error": {"code": 400, "message": 1, "status": "BAD", "details": [{}]}}, 500)
    assert len(problems) == 4


def test_field_differences_names_each_field() -> None:
    recorded = {"a": 1, "b": [{"x": "s", "n": 2}], "c": {"d": True}}
    assert field_differences(recorded, {"a": 1, "b": [{"x": "s", "n": 2}], "c": {"d": True}}) == []
    assert sorted(field_differences(recorded, {"a": 2, "b": [{"x": "s", "n": 2}], "c": {}, "e": 0})) == [
        "a: 2, recorded 1",
        "c.d: missing",
        "e: not in the recording",
    ]
    assert (
        field_differences(recorded, {**recorded, "a": 7, "e": 0}, varying=frozenset({"a"}), extra=frozenset({"e"}))
        == []
    )
    assert field_differences(recorded, {**recorded, "a": "7"}, varying=frozenset({"a"})) == [
        "a: string, recorded is number"
    ]
    assert field_differences(recorded, {**recorded, "b": [{"x": "t", "n": 5}]}, varying=frozenset({"b[*].n"})) == [
        "b[0].x: 't', recorded 's'"
    ]
    assert field_differences(recorded, {**recorded, "b": []}) == ["b: 0 items, recorded 1"]
    assert field_differences({"c": {"d": True}}, {"c": {"d": 1}}) == ["c.d: 1, recorded True"]
    assert field_differences([None], [None]) == [] and field_differences(1.5, 2.5, varying=frozenset({""})) == []
