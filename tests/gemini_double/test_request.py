from __future__ import annotations

import json

import pytest

from roomwire.gemini_double.request import (
    RequestError,
    camel,
    load_json,
    parse_count_tokens,
    parse_generate,
    unknown_names,
)

from .helpers import as_json


def _body(data: object) -> bytes:
    return json.dumps(data).encode()


def _error(body: bytes, count: bool = False) -> dict[str, object]:
    with pytest.raises(RequestError) as caught:
        (parse_count_tokens if count else parse_generate)(body, "v1beta")
    error = caught.value.reply.body["error"]
    assert isinstance(error, dict) and caught.value.reply.status == 400 and error["status"] == "INVALID_ARGUMENT"
    return error


def test_a_full_request_in_camel_or_snake_case() -> None:
    camel_body = {
        "contents": [
            {"role": "user", "parts": [{"text": "hi "}, {"text": "there"}]},
            {"role": "model", "parts": [{"text": "thinking", "thought": True}, {"text": "hello"}]},
            {"parts": [{"text": "again"}, {"inlineData": {"mimeType": "image/png", "data": ""}}]},
        ],
        "systemInstruction": {"role": "user", "parts": [{"text": "Be terse."}]},
        "generationConfig": {"maxOutputTokens": 64, "temperature": 0.2},
    }
    parsed = parse_generate(_body(camel_body))
    assert [(t.role, t.text) for t in parsed.turns] == [("user", "hi there"), ("model", "hello"), ("user", "again")]
    assert parsed.system_text == "Be terse." and parsed.max_output_tokens == 64 and parsed.last_user_text == "again"
    snake = parse_generate(
        _body(
            {
                "contents": camel_body["contents"],
                "system_instruction": {"parts": [{"text": "x"}]},
                "generation_config": {"max_output_tokens": 9},
            }
        )
    )
    assert snake.max_output_tokens == 9 and snake.system_text == "x"


def test_no_user_turn_and_no_system() -> None:
    parsed = parse_generate(_body({"contents": [{"role": "model", "parts": [{"text": "x"}]}]}))
    assert parsed.last_user_text == "" and parsed.system_text == "" and parsed.max_output_tokens is None


def test_camel() -> None:
    assert camel("max_output_tokens") == "maxOutputTokens" and camel("contents") == "contents"


def test_missing_or_empty_contents() -> None:
    assert _error(b"")["message"] == "* GenerateContentRequest.contents: contents is not specified\n"
    assert (
        _error(_body({"contents": []}))["message"] == "* GenerateContentRequest.contents: contents is not specified\n"
    )
    assert _error(b"{}", count=True)["message"] == "* CountTokensRequest.contents: contents is not specified\n"
    message = _error(_body({"contents": [{"role": "user", "parts": []}]}))["message"]
    assert message == "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n"


def test_unknown_field_bad_role_and_bad_values() -> None:
    error = _error(_body({"contents": [], "temprature": 1}))
    assert error["message"] == 'Invalid JSON payload received. Unknown name "temprature": Cannot find field.'
    assert error["details"] == [
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"description": error["message"]}]}
    ]
    assert _error(_body({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}))["message"] == (
        "Please use a valid role: user, model."
    )
    assert "Invalid value at 'contents'" in str(_error(_body({"contents": "hello"}))["message"])
    assert "Invalid value at 'contents[0]'" in str(_error(_body({"contents": ["hello"]}))["message"])
    ok = [{"parts": [{"text": "x"}]}]
    assert "system_instruction" in str(_error(_body({"contents": ok, "systemInstruction": "be terse"}))["message"])
    assert "GenerationConfig" in str(_error(_body({"contents": ok, "generationConfig": [1]}))["message"])
    max_tokens = _error(_body({"contents": ok, "generationConfig": {"maxOutputTokens": "9"}}))["message"]
    assert max_tokens == "Invalid value at 'generation_config.max_output_tokens', \"9\""


def test_unknown_nested_fields_are_refused_unless_not_strict() -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x", "cache": 1}], "name": "n"}],
        "systemInstruction": {"parts": [{"txt": "y"}]},
        "generationConfig": {"maxTokens": 3, "thinking_config": {"thinking_budget": 0, "depth": 1}},
    }
    error = as_json(_error(_body(body)))
    fields = [(v["field"], v["description"].split('"')[1]) for v in error["details"][0]["fieldViolations"]]
    assert fields == [
        ("contents[0]", "name"),
        ("contents[0].parts[0]", "cache"),
        ("system_instruction.parts[0]", "txt"),
        ("generation_config", "maxTokens"),
        ("generation_config.thinking_config", "depth"),
    ]
    assert parse_generate(_body(body), strict=False).last_user_text == "x"  # only the top level is checked
    with pytest.raises(RequestError):
        parse_generate(_body({**body, "extra": 1}), strict=False)
    assert unknown_names({"contents": "not a list", "systemInstruction": "text", "generationConfig": []}) == []


def test_bad_json_quotes_the_spot_with_a_caret() -> None:
    message = str(_error(b'{"contents": [}')["message"])
    head, snippet, caret = message.split("\n")
    assert head == "Invalid JSON payload received. Unexpected token."
    assert snippet[len(caret) - 1] == "}"
    assert "Unexpected token" in str(_error(b"[1, 2]")["message"])
    assert "Unexpected token" in str(_error(b'{"a": "\xff"}')["message"])


def test_load_json() -> None:
    assert load_json(b"  ") == {} and load_json(b'{"a": 1}') == {"a": 1}


def test_count_tokens_accepts_a_whole_generate_request() -> None:
    inner = {"generateContentRequest": {"model": "models/x", "contents": [{"parts": [{"text": "hey"}]}]}}
    assert parse_count_tokens(_body(inner)).last_user_text == "hey"
    assert parse_count_tokens(_body({"contents": [{"parts": [{"text": "yo"}]}]})).last_user_text == "yo"
