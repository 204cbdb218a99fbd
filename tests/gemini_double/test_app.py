"""Routes, key checks and request validation, over a real socket with plain httpx (what any client sees)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from roomwire.gemini_double import FAKE_API_KEY, AsyncDoubleControl, RunningDouble
from roomwire.gemini_double.shapes import error_problems

BODY = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}


@pytest.fixture
async def http(double: RunningDouble) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-goog-api-key": FAKE_API_KEY}
    async with httpx.AsyncClient(base_url=double.base_url, headers=headers, timeout=10, trust_env=False) as client:
        yield client


def _error(response: httpx.Response, status: int, google_status: str) -> str:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    assert response.text.startswith('{\n  "error": {\n') and response.text.endswith("}\n")
    body = response.json()
    assert error_problems(body, status) == [] and body["error"]["status"] == google_status
    return str(body["error"]["message"])


async def test_both_api_versions_serve_generate_content(http: httpx.AsyncClient) -> None:
    for version in ("v1", "v1beta"):
        response = await http.post(f"/{version}/models/gemini-2.5-flash:generateContent", json=BODY)
        assert response.status_code == 200 and response.json()["candidates"][0]["finishReason"] == "STOP"
        assert response.text.startswith('{\n  "candidates"')


async def test_key_in_query_is_accepted_and_journaled_without_the_key(
    double: RunningDouble, control: AsyncDoubleControl
) -> None:
    async with httpx.AsyncClient(base_url=double.base_url, trust_env=False) as client:
        url = f"/v1beta/models/gemini-2.5-flash:generateContent?key={FAKE_API_KEY}"
        response = await client.post(url, json=BODY)
    assert response.status_code == 200
    [entry] = await control.journal()
    assert entry["key"]["location"] == "query" and entry["query"] == {}
    assert FAKE_API_KEY not in str(entry)


async def test_missing_and_malformed_keys(double: RunningDouble, control: AsyncDoubleControl) -> None:
    url = "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    async with httpx.AsyncClient(base_url=double.base_url, trust_env=False) as client:
        missing = await client.post(url, json=BODY)
        malformed = await client.post(url, json=BODY, headers={"x-goog-api-key": "sk-test-not-google"})
    assert "unregistered callers" in _error(missing, 403, "PERMISSION_DENIED")
    assert _error(malformed, 400, "INVALID_ARGUMENT") == "API key not valid. Please pass a valid API key."
    assert [e["outcome"] for e in await control.journal()] == ["missing_key", "invalid_key"]


async def test_only_configured_keys_when_set(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    await control.configure(valid_keys=["test-key-1"])
    refused = await http.post("/v1/models/gemini-2.5-flash:generateContent", json=BODY)
    _error(refused, 400, "INVALID_ARGUMENT")
    accepted = await http.post(
        "/v1/models/gemini-2.5-flash:generateContent", json=BODY, headers={"x-goog-api-key": "test-key-1"}
    )
    assert accepted.status_code == 200


async def test_unknown_paths_methods_and_models(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    assert _error(await http.get("/v2/models"), 404, "NOT_FOUND") == "Method not found."
    assert _error(await http.post("/v1/models/gemini-2.5-flash:embedContent", json=BODY), 404, "NOT_FOUND")
    assert _error(await http.get("/v1/models/gemini-2.5-flash:generateContent"), 404, "NOT_FOUND")
    assert _error(await http.post("/v1/models"), 404, "NOT_FOUND")
    message = _error(await http.post("/v1beta/models/gemini-9:generateContent", json=BODY), 404, "NOT_FOUND")
    assert message.startswith("models/gemini-9 is not found for API version v1beta, or is not supported for gen")
    assert _error(await http.get("/v1/models/gemini-9"), 404, "NOT_FOUND")
    assert {e["outcome"] for e in await control.journal()} == {"not_found"}


async def test_bad_bodies_get_the_real_400s(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    url = "/v1/models/gemini-2.5-flash:generateContent"
    assert "Unexpected token" in _error(await http.post(url, content=b"{nope"), 400, "INVALID_ARGUMENT")
    assert "contents is not specified" in _error(await http.post(url, json={}), 400, "INVALID_ARGUMENT")
    assert "Unknown name" in _error(await http.post(url, json={**BODY, "x": 1}), 400, "INVALID_ARGUMENT")
    await control.configure(max_body_bytes=64)
    too_big = await http.post(url, json={"contents": [{"parts": [{"text": "x" * 100}]}]})
    assert "exceeds the limit" in _error(too_big, 400, "INVALID_ARGUMENT")
    entries = await control.journal()
    assert [e["outcome"] for e in entries] == ["bad_request"] * 4
    assert entries[1]["error_message"] == "* GenerateContentRequest.contents: contents is not specified\n"


async def test_models_are_listed_in_pages(http: httpx.AsyncClient) -> None:
    first = (await http.get("/v1beta/models", params={"pageSize": "3"})).json()
    assert [m["name"] for m in first["models"]][:1] == ["models/gemini-2.5-flash"] and len(first["models"]) == 3
    second = (await http.get("/v1beta/models", params={"pageSize": "3", "pageToken": first["nextPageToken"]})).json()
    assert len(second["models"]) == 3 and "nextPageToken" in second
    everything = (await http.get("/v1/models", params={"pageSize": "x"})).json()
    assert "nextPageToken" not in everything and len(everything["models"]) == 7
    one = (await http.get("/v1/models/gemini-2.5-flash-lite")).json()
    assert one["name"] == "models/gemini-2.5-flash-lite" and one["outputTokenLimit"] == 65536


async def test_count_tokens(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    response = await http.post("/v1/models/gemini-2.5-flash:countTokens", json=BODY)
    assert response.json() == {"totalTokens": 2, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2}]}
    [entry] = await control.journal()
    assert entry["method"] == "countTokens" and entry["outcome"] == "ok"


async def test_journal_records_the_request_as_received(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    body = {
        **BODY,
        "systemInstruction": {"role": "user", "parts": [{"text": "Be terse."}]},
        "generationConfig": {"maxOutputTokens": 300},
    }
    headers = {"user-agent": "test-agent", "x-goog-api-client": "test-client", "x-server-timeout": "30"}
    await http.post("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse", json=body, headers=headers)
    [entry] = await control.journal()
    assert entry["system_instruction"] == body["systemInstruction"] and entry["contents"] == BODY["contents"]
    assert entry["generation_config"] == {"maxOutputTokens": 300} and entry["last_user_text"] == "hello"
    assert entry["headers"] == {**headers, "content-type": "application/json"}
    assert entry["key"]["fingerprint"] and entry["http_method"] == "POST" and entry["time"].endswith("+00:00")
    assert entry["finish_reason"] == "STOP" and entry["finished_ms"] >= entry["received_ms"]


async def test_non_http_scopes_are_ignored(double: RunningDouble) -> None:
    from roomwire.gemini_double.app import DoubleApp

    async def never() -> dict[str, object]:
        raise AssertionError("not called")

    async def nothing(message: object) -> None:
        raise AssertionError("not called")

    await DoubleApp(double.state)({"type": "websocket"}, never, nothing)
