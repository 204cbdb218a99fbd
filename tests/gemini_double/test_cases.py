"""Issue 12: each case the double sends, compared field by field with the real body it copies.

The recordings are in fixtures/gemini/recorded/ (sources and what was changed in its README and index.json). Each
test provokes the case (a fault, or the default) and compares the double's bytes on the wire with the recording:
error bodies byte for byte where the recording is Google's own text, success bodies with `field_differences`,
which allows only per-request values (token counts, ids, delays) to differ, and names the fields the double adds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from roomwire.gemini_double import FAKE_API_KEY, AsyncDoubleControl, RunningDouble, canned
from roomwire.gemini_double.shapes import check_response, check_stream_body, field_differences, split_sse

from .helpers import as_json


def _path(model: str, rpc: str = "streamGenerateContent") -> str:
    return f"/v1beta/models/{model}:{rpc}" + ("?alt=sse" if rpc == "streamGenerateContent" else "")


def _body(text: str, **config: object) -> dict[str, object]:
    body: dict[str, object] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if config:
        body["generationConfig"] = config
    return body


def _recorded_json(name: str) -> object:
    return json.loads(canned.recorded_body(name))


def _recorded_chunks(name: str) -> list[object]:
    return [json.loads(payload) for payload in split_sse(canned.recorded_body(name).encode("utf-8"))]


@pytest.fixture
async def http(double: RunningDouble) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-goog-api-key": FAKE_API_KEY}
    async with httpx.AsyncClient(base_url=double.base_url, headers=headers, timeout=10, trust_env=False) as client:
        yield client


async def _fault_reply(
    http: httpx.AsyncClient, control: AsyncDoubleControl, kind: str, *, model: str = "gemini-2.5-flash", **params: Any
) -> httpx.Response:
    token = f"tok-{kind}"
    await control.queue_fault(kind, match=token, model=model, **params)
    return await http.post(_path(model), json=_body(token))


@pytest.mark.parametrize(
    ("kind", "name", "params"),
    [
        ("key_echo", "key_echo", {}),
        ("invalid_key_debug", "invalid_key_debug", {}),
        ("rate_limit_help_only", "rate_limit_help_only", {}),
        ("rate_limit_per_day", "rate_limit_per_day", {"retry_delay_s": 38.2}),
        ("unavailable_high_demand", "unavailable_high_demand", {}),
        ("server_error_encountered", "internal_encountered", {}),
    ],
)
async def test_error_faults_send_the_recorded_body_byte_for_byte(
    http: httpx.AsyncClient, control: AsyncDoubleControl, kind: str, name: str, params: dict[str, Any]
) -> None:
    response = await _fault_reply(http, control, kind, **params)
    assert response.status_code == canned.recorded_index()[name]["status"]
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.text == canned.recorded_body(name)


async def test_key_echo_puts_the_key_in_message_metadata_and_localized_message(
    http: httpx.AsyncClient, control: AsyncDoubleControl
) -> None:
    error = as_json((await _fault_reply(http, control, "key_echo")).json())["error"]
    assert FAKE_API_KEY in error["message"]
    assert error["details"][0]["metadata"]["containerInfo"] == f"api_key:{FAKE_API_KEY}"
    assert FAKE_API_KEY in error["details"][1]["message"]
    legacy = as_json((await _fault_reply(http, control, "key_echo_2024")).json())["error"]
    assert FAKE_API_KEY in legacy["message"] and FAKE_API_KEY not in json.dumps(legacy["details"])
    debug = as_json((await _fault_reply(http, control, "invalid_key_debug")).json())["error"]
    assert FAKE_API_KEY not in debug["message"] and debug["details"][2]["detail"] == f"Invalid API key: {FAKE_API_KEY}"
    [*_, entry] = await control.journal()
    assert FAKE_API_KEY not in json.dumps(entry)  # the journal never holds the key


async def test_several_violations_match_the_recording(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    response = await _fault_reply(
        http, control, "rate_limit_several", model="gemini-2.0-flash", retry_delay_s=7.967587226
    )
    assert response.status_code == 429
    recorded = _recorded_json("rate_limit_several")
    # The recording's message and details come from two captures of this body (README): only the delay differs.
    assert field_differences(recorded, response.json(), varying=frozenset({"error.details[2].retryDelay"})) == []


async def test_unknown_fields_are_refused_as_google_refuses_them(
    http: httpx.AsyncClient, control: AsyncDoubleControl
) -> None:
    top = await http.post(_path("gemini-2.5-flash"), json={**_body("x"), "systemInstructions": {}})
    expected = canned.recorded_body("unknown_field_top").replace('"systemInstruction"', '"systemInstructions"')
    expected = expected.replace('\\"systemInstruction\\"', '\\"systemInstructions\\"')
    assert top.status_code == 400 and top.text == expected
    nested_body = {
        "contents": [{"role": "user", "parts": [{"text": "x", "cache": True}]}],
        "generationConfig": {"maxOutputTokens": 9, "max_tokens": 9},
    }
    nested = as_json((await http.post(_path("gemini-2.5-flash"), json=nested_body)).json())
    recorded = as_json(_recorded_json("unknown_field_nested"))
    lines = [  # in the order the request has them
        "Invalid JSON payload received. Unknown name \"cache\" at 'contents[0].parts[0]': Cannot find field.",
        "Invalid JSON payload received. Unknown name \"max_tokens\" at 'generation_config': Cannot find field.",
    ]
    assert nested["error"]["message"] == "\n".join(lines)
    assert nested["error"]["details"][0]["fieldViolations"] == [
        {"field": "contents[0].parts[0]", "description": lines[0]},
        {"field": "generation_config", "description": lines[1]},
    ]
    varying = frozenset(
        {
            "error.message",
            "error.details[0].fieldViolations[*].field",
            "error.details[0].fieldViolations[*].description",
        }
    )
    assert field_differences(recorded, nested, varying=varying) == []
    [*_, entry] = await control.journal()
    assert entry["outcome"] == "bad_request" and entry["status"] == 400


async def test_known_fields_of_every_message_pass(http: httpx.AsyncClient) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "x", "thought": False}]}],
        "systemInstruction": {"role": "user", "parts": [{"text": "be brief"}]},
        "generationConfig": {
            "temperature": 0.2,
            "max_output_tokens": 64,
            "thinkingConfig": {"thinking_budget": 0, "includeThoughts": False},
            "responseModalities": ["TEXT"],
        },
        "safetySettings": [],
    }
    assert (await http.post(_path("gemini-2.5-flash"), json=body)).status_code == 200
    body["generationConfig"] = {"thinkingConfig": {"budget": 1}}
    refused = as_json((await http.post(_path("gemini-2.5-flash"), json=body)).json())
    assert refused["error"]["details"][0]["fieldViolations"][0]["field"] == "generation_config.thinking_config"


async def test_prompt_blocked_matches_the_recorded_event(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    response = await _fault_reply(http, control, "prompt_blocked")
    [chunk] = check_stream_body(response.content)
    [recorded] = _recorded_chunks("prompt_blocked")
    varying = frozenset({"usageMetadata.promptTokenCount", "usageMetadata.totalTokenCount"})
    extra = frozenset({"modelVersion", "responseId"})  # in every response Google sends (README)
    assert field_differences(recorded, chunk, varying=varying, extra=extra) == []
    usage = as_json(chunk)["usageMetadata"]
    assert usage["promptTokenCount"] == usage["totalTokenCount"] > 0
    other = await _fault_reply(http, control, "prompt_blocked", block_reason="OTHER")
    assert as_json(check_stream_body(other.content))[0]["promptFeedback"] == {"blockReason": "OTHER"}
    [*_, entry] = await control.journal()
    assert entry["outcome"] == "prompt_blocked" and entry["sent_text"] == "" and entry["finish_reason"] is None


_EMPTY_VARYING = frozenset(
    {
        "responseId",
        "usageMetadata.promptTokenCount",
        "usageMetadata.thoughtsTokenCount",
        "usageMetadata.totalTokenCount",
    }
)
_EMPTY_VARYING |= {"usageMetadata.promptTokensDetails[0].tokenCount"}


async def test_a_thinking_model_out_of_budget_matches_the_recording(
    http: httpx.AsyncClient, control: AsyncDoubleControl
) -> None:
    recorded = _recorded_json("model_max_tokens_thinking_empty")
    request = _body("What is the capital of France?", maxOutputTokens=5)
    by_default = as_json((await http.post(_path("gemini-2.5-pro", "generateContent"), json=request)).json())
    await control.queue_fault("thinking_exhausted", match="France")
    by_fault = as_json((await http.post(_path("gemini-2.5-pro", "generateContent"), json=request)).json())
    for ours in (by_default, by_fault):
        check_response(ours)
        assert field_differences(recorded, ours, varying=_EMPTY_VARYING) == []
        usage = ours["usageMetadata"]
        assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["thoughtsTokenCount"]
    assert by_fault["usageMetadata"]["thoughtsTokenCount"] == 5
    streamed = await _fault_reply(http, control, "thinking_exhausted", thoughts=300)
    [chunk] = check_stream_body(streamed.content)
    assert as_json(chunk)["usageMetadata"]["thoughtsTokenCount"] == 300
    assert field_differences(recorded, chunk, varying=_EMPTY_VARYING | {"modelVersion"}) == []


#: What differs from one answer to the next: its text, its id and its token counts.
_PER_ANSWER = frozenset(
    {
        "candidates[0].content.parts[0].text",
        "responseId",
        "usageMetadata.promptTokenCount",
        "usageMetadata.candidatesTokenCount",
        "usageMetadata.totalTokenCount",
        "usageMetadata.promptTokensDetails[0].tokenCount",
    }
)


async def test_thinking_models_report_thoughts_as_the_recorded_25_flash_streams(http: httpx.AsyncClient) -> None:
    response = await http.post(_path("gemini-2.5-flash"), json=_body("Count to thirty [[chunks=3]]"))
    chunks = check_stream_body(response.content)
    recorded = _recorded_chunks("stream_usage_is_live_mid_stream")
    varying = _PER_ANSWER | {"usageMetadata.thoughtsTokenCount"}
    assert len(chunks) == len(recorded)
    for theirs, ours in zip(recorded, chunks, strict=True):
        assert field_differences(theirs, ours, varying=varying) == []
    thoughts = {as_json(chunk)["usageMetadata"]["thoughtsTokenCount"] for chunk in chunks}
    assert len(thoughts) == 1 and 8 <= thoughts.pop() <= 48  # constant through the stream, as recorded
    [one] = check_stream_body((await http.post(_path("gemini-2.5-flash"), json=_body("France? [[chunks=1]]"))).content)
    [earlier] = _recorded_chunks("model_stream_2_5_flash")  # Feb 2026: no serviceTier yet
    assert field_differences(earlier, one, varying=varying, extra=frozenset({"usageMetadata.serviceTier"})) == []


async def test_20_flash_chunks_have_the_recorded_20_shape(http: httpx.AsyncClient) -> None:
    response = await http.post(_path("gemini-2.0-flash"), json=_body("Weather in Paris? [[chunks=2]]"))
    chunks = check_stream_body(response.content)
    recorded = _recorded_chunks("model_iter_stream-2")
    varying = _PER_ANSWER | {"usageMetadata.candidatesTokensDetails[0].tokenCount"}
    assert [field_differences(r, c, varying=varying) for r, c in zip(recorded, chunks, strict=True)] == [[], []]


async def test_models_list_entries_are_the_recorded_ones(http: httpx.AsyncClient, double: RunningDouble) -> None:
    recorded = {m["name"]: m for m in as_json(_recorded_json("models_list"))["models"]}
    listed = as_json((await http.get("/v1beta/models")).json())["models"]
    served = [m for m in listed if m["name"] in recorded]
    assert {m["name"] for m in served} == {f"models/{n}" for n in double.config.models if not n.startswith("gemini-3")}
    for model in served:
        assert field_differences(recorded[model["name"]], model) == []
    one = as_json((await http.get("/v1beta/models/gemini-2.0-flash")).json())
    assert one == recorded["models/gemini-2.0-flash"] and "thinking" not in one


async def test_stream_error_raw_sends_the_error_as_raw_lines(
    http: httpx.AsyncClient, control: AsyncDoubleControl
) -> None:
    response = await _fault_reply(http, control, "stream_error_raw", code=500)
    assert response.status_code == 200
    first, _, tail = response.text.partition("\r\n\r\n")
    check_stream_body((first + "\r\n\r\n").encode())
    recorded_first, _, recorded_tail = canned.recorded_body("stream_error_raw").partition("\r\n\r\n")
    assert tail == recorded_tail and tail.startswith('{\n  "error": {\n') and "data:" not in tail
    [*_, entry] = await control.journal()
    assert entry["outcome"] == "stream_error_raw" and entry["finish_reason"] is None
    whole = await http.post(_path("gemini-2.5-flash", "generateContent"), json=_body("tok-x"))
    assert whole.status_code == 200  # the fault was used up
    await control.queue_fault("stream_error_raw", match="tok-w", code=503)
    assert (await http.post(_path("gemini-2.5-flash", "generateContent"), json=_body("tok-w"))).status_code == 503


async def test_status_lines_carry_the_recorded_reason_phrases(
    double: RunningDouble, control: AsyncDoubleControl
) -> None:
    phrases = as_json(_recorded_json("status_lines"))
    for code, phrase in phrases.items():
        await control.queue_fault("replay", match=f"tok-{code}", status=int(code), body="{}")
        request = json.dumps(_body(f"tok-{code}")).encode()
        reader, writer = await asyncio.open_connection(double.host, double.port)
        writer.write(
            b"POST /v1beta/models/gemini-2.5-flash:generateContent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + f"x-goog-api-key: {FAKE_API_KEY}\r\ncontent-length: {len(request)}\r\n\r\n".encode()
            + request
        )
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        await writer.wait_closed()
        assert status_line == f"HTTP/1.1 {code} {phrase}\r\n".encode()


async def test_strict_fields_can_be_turned_off(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    lenient = {**_body("x"), "generationConfig": {"max_tokens": 9}}
    assert (await http.post(_path("gemini-2.5-flash"), json=lenient)).status_code == 400
    assert (await control.configure(strict_fields=False))["strict_fields"] is False
    assert (await http.post(_path("gemini-2.5-flash"), json=lenient)).status_code == 200
    assert (await http.post(_path("gemini-2.5-flash"), json={**lenient, "extra": 1})).status_code == 400
