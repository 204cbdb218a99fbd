from __future__ import annotations

import json

from roomwire.gemini_double import canned, wire
from roomwire.gemini_double.answers import Answer, plan_answer
from roomwire.gemini_double.request import parse_generate
from roomwire.gemini_double.shapes import check_response, check_stream_body

from .helpers import as_json


def _answer(text: str, **config: object) -> Answer:
    body = {"contents": [{"parts": [{"text": text}]}], "generationConfig": config}
    return plan_answer(parse_generate(json.dumps(body).encode()), seed=0, bank=canned.sentence_bank())


def test_google_json_spacing_and_unsafe_separators() -> None:
    assert wire.google_json({"a": [1, {"b": "x"}], "c": "é"}) == '{"a": [1,{"b": "x"}],"c": "é"}'
    assert wire.google_json({"t": "a\u2028b\u2029c\u0085"}) == '{"t": "a\\u2028b\\u2029c\\u0085"}'
    assert wire.pretty_json({"a": 1}) == b'{\n  "a": 1\n}\n'


def test_sse_events_are_one_line_data_frames() -> None:
    event = wire.sse_event({"text": "line\nbreak"})
    assert event.startswith(b"data: {") and event.endswith(b"}\r\n\r\n") and event.count(b"\n") == 2


def test_stream_chunks_pass_the_shape_checker() -> None:
    answer = _answer("Explain [[sentences=3]]")
    body = b"".join(wire.sse_event(c) for c in wire.stream_chunks(answer, "gemini-2.5-flash", "rid"))
    chunks = as_json(check_stream_body(body))
    assert len(chunks) == len(answer.chunks) >= 2
    last = chunks[-1]["candidates"][0]
    assert last["finishReason"] == "STOP" and last["index"] == 0 and last["content"]["role"] == "model"
    assert chunks[0]["usageMetadata"]["promptTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": answer.prompt_tokens}
    ]
    no_finish = as_json(wire.stream_chunks(answer, "m", "rid", finish=False))
    assert all("finishReason" not in c["candidates"][0] for c in no_finish)


def test_whole_and_blocked_and_empty_max_tokens() -> None:
    answer = _answer("Explain", maxOutputTokens=3)
    whole = as_json(wire.whole_response(answer, "gemini-2.5-flash", "rid"))
    check_response(whole)
    assert whole["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert "finishReason" not in as_json(wire.whole_response(answer, "m", "r", finish=False))["candidates"][0]
    blocked = as_json(wire.blocked_response(12, "m", "r"))
    check_response(blocked)
    assert blocked["candidates"][0]["content"] == {} and blocked["usageMetadata"]["totalTokenCount"] == 12
    empty = _answer("[[echo=prompt]]", maxOutputTokens=1)
    assert wire.candidate(None, "MAX_TOKENS")["content"] == {"role": "model"}
    assert empty.finish_reason == "STOP"
    assert as_json(wire.whole_response(empty, "m", "r"))["candidates"][0]["content"] == {
        "parts": [{"text": ""}],
        "role": "model",
    }


def test_cut_to_nothing_sends_content_without_parts() -> None:
    answer = _answer("[[echo]] 안녕하세요", maxOutputTokens=1)
    answer = type(answer)(
        language="ko", full_text="안녕", text="", chunks=("",), finish_reason="MAX_TOKENS", prompt_tokens=3
    )
    [chunk] = as_json(wire.stream_chunks(answer, "m", "r"))
    assert chunk["candidates"][0]["content"] == {"role": "model"}
    assert as_json(wire.whole_response(answer, "m", "r"))["candidates"][0]["content"] == {"role": "model"}


def test_ids_usage_models_and_count_tokens() -> None:
    rid = wire.response_id(0, 1)
    assert len(rid) == 23 and rid != wire.response_id(0, 2) and rid == wire.response_id(0, 1)
    assert wire.usage(5, 0, model="gemini-2.0-flash") == {
        "promptTokenCount": 5,
        "totalTokenCount": 5,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
    }
    assert wire.usage(5, 3, thoughts=7) == {
        "promptTokenCount": 5,
        "candidatesTokenCount": 3,
        "totalTokenCount": 15,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
        "thoughtsTokenCount": 7,
        "serviceTier": "standard",
    }
    assert wire.model_resource("gemini-2.5-flash")["displayName"] == "Gemini 2.5 Flash"
    assert wire.model_resource("custom-model")["name"] == "models/custom-model"
    assert wire.count_tokens_response(10) == {
        "totalTokens": 10,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 10}],
    }


def test_model_families_and_limits() -> None:
    assert wire.is_thinking_model("gemini-2.5-flash") and wire.is_thinking_model("gemini-3-pro-preview")
    assert not wire.is_thinking_model("gemini-2.0-flash-lite")
    assert wire.output_token_limit("gemini-2.0-flash") == 8192 and wire.output_token_limit("custom") == 65536
    assert "thinking" not in wire.model_resource("gemini-2.0-flash") and wire.model_resource("custom")["thinking"]
    assert "index" not in wire.candidate("x", None, model="gemini-2.0-flash")
    assert wire.usage(5, 3, model="gemini-2.0-flash", final=False) == {
        "promptTokenCount": 5,
        "totalTokenCount": 5,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 5}],
    }
    assert wire.usage(5, 3, model="gemini-2.0-flash")["candidatesTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": 3}
    ]
