"""One generation call, seen as raw bytes on the wire: framing, timing, and every fault on both RPCs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from roomwire.gemini_double import FAKE_API_KEY, AsyncDoubleControl, DoubleConfig, RunningDouble, serve_double
from roomwire.gemini_double.shapes import check_response, check_stream_body

from .helpers import as_json

STREAM = "/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
WHOLE = "/v1/models/gemini-2.5-flash:generateContent"


def _body(text: str) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


@pytest.fixture
async def http(double: RunningDouble) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-goog-api-key": FAKE_API_KEY}
    async with httpx.AsyncClient(base_url=double.base_url, headers=headers, timeout=10, trust_env=False) as client:
        yield client


async def test_the_doubles_own_stream_passes_the_shape_checker(http: httpx.AsyncClient) -> None:
    for text in ("Hello [[sentences=5]]", "안녕하세요 [[chunks=7]]", "cut me", "[[echo]] a\u2028b"):
        response = await http.post(STREAM, json={**_body(text), "generationConfig": {"maxOutputTokens": 4}})
        assert response.headers["content-type"] == "text/event-stream"
        assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
        assert response.headers.get_list("vary") == ["Origin", "X-Origin", "Referer"]
        assert response.headers["server-timing"].startswith("gfet4t7; dur=")
        chunks = as_json(check_stream_body(response.content))
        assert chunks[-1]["candidates"][0]["finishReason"] in ("STOP", "MAX_TOKENS")
    check_response((await http.post(WHOLE, json=_body("Hello"))).json())


async def test_streams_without_alt_sse_are_one_json_array(http: httpx.AsyncClient) -> None:
    response = await http.post(STREAM.split("?")[0], json=_body("x [[chunks=3]]"))
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) == 3 and response.text.startswith("[{\n")
    for chunk in chunks:
        check_response(chunk)


async def test_seed_latency_waits_before_the_first_chunk() -> None:
    async with serve_double(DoubleConfig(latency="seed", chunk_interval_ms=10)) as double:
        async with httpx.AsyncClient(base_url=double.base_url, trust_env=False) as client:
            await client.post(STREAM, json=_body("hi [[chunks=3]]"), headers={"x-goog-api-key": FAKE_API_KEY})
        [entry] = as_json(double.state.journal.entries())
    first = entry["chunk_times_ms"][0] - entry["received_ms"]
    assert 200 <= first <= 2000
    gaps = [b - a for a, b in zip(entry["chunk_times_ms"], entry["chunk_times_ms"][1:], strict=False)]
    assert all(gap >= 9 for gap in gaps)


async def test_whole_response_faults(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    await control.queue_fault("no_finish", match="tok-1")
    assert "finishReason" not in (await http.post(WHOLE, json=_body("tok-1"))).json()["candidates"][0]
    await control.queue_fault("safety", match="tok-2")
    assert (await http.post(WHOLE, json=_body("tok-2"))).json()["candidates"][0]["finishReason"] == "SAFETY"
    await control.queue_fault("stream_error", match="tok-3", code=500)
    assert (await http.post(WHOLE, json=_body("tok-3"))).status_code == 500
    await control.queue_fault("replay", match="tok-4", body='{"error": {"code": 504}}', status=504)
    replayed = await http.post(WHOLE, json=_body("tok-4"))
    assert replayed.status_code == 504 and replayed.text == '{"error": {"code": 504}}'
    await control.queue_fault("abort", match="tok-5")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(WHOLE, json=_body("tok-5"))
    await control.queue_fault("stall", match="tok-6")
    with pytest.raises(httpx.ReadTimeout):
        await http.post(WHOLE, json=_body("tok-6"), timeout=0.3)
    entries = await control.wait_for(lambda es: len(es) == 6 and es[-1]["disconnected"], match="tok-")
    assert [e["outcome"] for e in entries] == ["no_finish", "safety", "stream_error", "replay", "abort", "stall"]
    assert [e["status"] for e in entries] == [200, 200, 500, 504, 200, 200]


async def test_replay_with_an_error_status_on_a_stream(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    body = '{\n  "error": {\n    "code": 503,\n    "message": "x",\n    "status": "UNAVAILABLE"\n  }\n}\n'
    await control.queue_fault("replay", match="tok-r", body=body, status=503)
    response = await http.post(STREAM, json=_body("tok-r"))
    assert response.status_code == 503 and response.text == body
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    [entry] = await control.journal(match="tok-r")
    assert entry["sent_text"] == ""  # an error body carries no answer text


async def test_stream_error_event_is_sse_framed(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    await control.queue_fault("stream_error", match="tok-e", after_chunks=2, code=429)
    response = await http.post(STREAM, json=_body("tok-e"))
    events = response.content.split(b"\r\n\r\n")
    assert len(events) == 4 and events[-1] == b""
    error = json.loads(events[2].removeprefix(b"data: "))
    assert error["error"]["code"] == 429 and error["error"]["status"] == "RESOURCE_EXHAUSTED"


async def test_quota_429_with_optional_retry_after(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    await control.configure(quota_rpm=1, retry_after_header=True)
    assert (await http.post(WHOLE, json=_body("q"))).status_code == 200
    refused = await http.post(WHOLE, json=_body("q"))
    assert refused.status_code == 429 and 55 <= int(refused.headers["retry-after"]) <= 60
    await control.reset()
    assert (await http.post(WHOLE, json=_body("q"))).status_code == 200
    assert (await http.post("/v1/models/gemini-2.5-pro:generateContent", json=_body("q"))).status_code == 200


async def test_rate_limit_fault_uses_a_default_limit_for_unlimited_models(
    http: httpx.AsyncClient, control: AsyncDoubleControl
) -> None:
    await control.queue_fault("rate_limit", model="gemini-2.5-pro")
    refused = await http.post("/v1/models/gemini-2.5-pro:generateContent", json=_body("q"))
    assert "limit: 10, model: gemini-2.5-pro" in refused.json()["error"]["message"]


async def test_journal_redacts_an_echoed_key(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    await control.queue_fault("key_echo")
    refused = await http.post(WHOLE, json=_body("q"))
    assert FAKE_API_KEY in refused.text
    [entry] = await control.journal()
    assert FAKE_API_KEY not in json.dumps(entry) and "[REDACTED]" in entry["error_message"]


async def test_shutdown_interrupts_slow_answers() -> None:
    async with serve_double(DoubleConfig(latency="fast", chunk_interval_ms=5000)) as double:
        client = httpx.AsyncClient(base_url=double.base_url, trust_env=False)
        headers = {"x-goog-api-key": FAKE_API_KEY}
        streaming = asyncio.create_task(client.post(STREAM, json=_body("slow [[chunks=4]]"), headers=headers))
        whole = asyncio.create_task(client.post(WHOLE, json=_body("slow [[chunks=4]]"), headers=headers))
        await asyncio.sleep(0.3)
        state = double.state
    with pytest.raises(httpx.RemoteProtocolError):  # cut mid-body
        await asyncio.wait_for(streaming, 5)
    assert (await asyncio.wait_for(whole, 5)).status_code == 503  # not started yet: UNAVAILABLE
    await client.aclose()
    outcomes = sorted(str(e["outcome"]) for e in state.journal.entries())
    assert outcomes == ["shutdown", "shutdown"]


async def test_client_gone_before_the_body_is_read(double: RunningDouble, control: AsyncDoubleControl) -> None:
    head = (
        f"POST {WHOLE} HTTP/1.1\r\nhost: x\r\nx-goog-api-key: {FAKE_API_KEY}\r\n"
        "content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"
    )
    reader, writer = await asyncio.open_connection(double.host, double.port)
    writer.write(head.encode())
    await writer.drain()
    await asyncio.sleep(0.1)
    writer.close()
    await writer.wait_closed()
    del reader
    entries = await control.wait_for(lambda es: bool(es) and es[0]["outcome"] is not None)
    assert entries[0]["outcome"] == "client_disconnected" and entries[0]["disconnected"] is True


async def test_a_hold_sends_its_first_chunks_then_waits_for_the_release(
    http: httpx.AsyncClient, control: AsyncDoubleControl
) -> None:
    """`hold`: after_chunks chunks, then nothing until POST /_double/release names the request; then the rest,
    ending normally (a whole answer, outcome ok), and the journal says how long it was held and why it ended."""
    await control.queue_fault("hold", match="tok-h", after_chunks=2)
    got: list[bytes] = []
    async with http.stream("POST", STREAM, json=_body("tok-h [[chunks=5]]")) as response:
        events = response.aiter_bytes()
        while b"".join(got).count(b"\r\n\r\n") < 2:
            got.append(await anext(events))
        third = asyncio.ensure_future(anext(events))
        done, _ = await asyncio.wait([third], timeout=0.3)
        assert not done  # held: no third chunk comes by itself
        assert await control.release("tok-other") == 0
        assert await control.release("tok-h") == 1
        got.append(await third)
        got += [part async for part in events]
    chunks = as_json(check_stream_body(b"".join(got)))
    assert len(chunks) == 5 and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    [entry] = await control.wait_for(lambda es: bool(es) and es[0]["finished_ms"] is not None, match="tok-h")
    assert entry["outcome"] == "ok" and entry["hold_end"] == "released" and entry["held_ms"] >= 250
    assert entry["finish_reason"] == "STOP" and len(entry["sent_chunks"]) == 5
    times = entry["chunk_times_ms"]
    assert times[2] - times[1] >= 250  # the gap is the hold


async def test_a_hold_goes_on_by_itself_after_hold_s(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    await control.queue_fault("hold", match="tok-t", hold_s=0.2)
    response = await http.post(STREAM, json=_body("tok-t [[chunks=3]]"))
    assert len(as_json(check_stream_body(response.content))) == 3
    [entry] = await control.journal(match="tok-t")
    assert entry["hold_end"] == "timeout" and entry["held_ms"] >= 150


async def test_a_release_before_the_request_still_counts(http: httpx.AsyncClient, control: AsyncDoubleControl) -> None:
    """A release that reaches the double before the request (or before its hold begins) is remembered; a reset
    forgets it."""
    await control.queue_fault("hold", match="tok-early", hold_s=30)
    assert await control.release("tok-early") == 0  # no request yet: remembered
    response = await asyncio.wait_for(http.post(STREAM, json=_body("tok-early [[chunks=3]]")), 10)
    assert len(as_json(check_stream_body(response.content))) == 3
    [entry] = await control.journal(match="tok-early")
    assert entry["hold_end"] == "released" and entry["held_ms"] < 5_000
    await control.reset()
    await control.queue_fault("hold", match="tok-early", hold_s=0.3)
    await http.post(STREAM, json=_body("tok-early [[chunks=3]]"))
    [entry] = await control.journal(match="tok-early")
    assert entry["hold_end"] == "timeout"  # the release before the reset no longer counts
