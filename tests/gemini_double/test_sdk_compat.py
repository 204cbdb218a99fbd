"""The proof of issue 3: the real google-genai SDK, over real sockets, against the double. No mocks.

These are the "core" tests the tox env `sdk-oldest` also runs with the oldest SDK we support (see tox.ini), so
they only use what that SDK has too, and they expect its API version (`/v1beta/` before 3.x).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest
from google import genai
from google.genai import errors, types

from roomwire.gemini_double import AsyncDoubleControl, DoubleConfig, RunningDouble, serve_double

from .helpers import (
    EXPECTED_API_VERSION,
    MODEL,
    SDK_RAISES_IN_STREAM_ERRORS,
    SDK_READS_RESPONSE_ID,
    close_client,
    close_sync_client,
    finish_reasons,
    make_client,
    stream,
    stream_until_error,
    texts,
    timeout_errors,
    transport_errors,
)


async def test_an_interval_directive_spaces_one_answer_s_chunks(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    """`[[interval=MS]]`: this answer's chunks that far apart, whatever the latency preset (the tests' is zero)."""
    chunks = await stream(sdk, "Tell me about tide pools. [[chunks=3]] [[interval=300]]")
    assert len(chunks) == 3
    [entry] = await control.journal()
    times = entry["chunk_times_ms"]
    assert all(later - earlier >= 290 for earlier, later in itertools.pairwise(times)), times


async def test_streaming_yields_several_chunks_via_http_options(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    chunks = await stream(sdk, "Tell me about tide pools. [[sentences=3]]")
    assert len(chunks) >= 2
    assert finish_reasons(chunks)[:-1] == [None] * (len(chunks) - 1)
    assert finish_reasons(chunks)[-1] == "STOP"
    [entry] = await control.journal()
    assert "".join(t or "" for t in texts(chunks)) == entry["answer_text"] == entry["sent_text"]
    assert entry["api_version"] == EXPECTED_API_VERSION
    assert entry["path"] == f"/{EXPECTED_API_VERSION}/models/{MODEL}:streamGenerateContent"
    assert entry["query"] == {"alt": "sse"}
    assert len(entry["chunk_times_ms"]) == len(chunks)
    usage = [chunk.usage_metadata for chunk in chunks if chunk.usage_metadata is not None]
    assert len(usage) == len(chunks) and len({u.prompt_token_count for u in usage}) == 1
    counts = [u.candidates_token_count or 0 for u in usage]
    assert counts == sorted(counts) and 0 < counts[0] < counts[-1]


async def test_streaming_and_generate_content_via_env_base_url(
    double: RunningDouble, control: AsyncDoubleControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_ENTERPRISE", "GOOGLE_GENAI_API_VERSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", double.base_url)
    client = make_client(None)
    try:
        chunks = await stream(client, "hello from the environment")
        whole = await client.aio.models.generate_content(model=MODEL, contents="hello from the environment")
    finally:
        await close_client(client)
    assert whole.text == "".join(t or "" for t in texts(chunks))
    assert finish_reasons([whole]) == ["STOP"]
    entries = await control.journal()
    assert [e["method"] for e in entries] == ["streamGenerateContent", "generateContent"]
    assert all(e["key"]["location"] == "header" for e in entries)


def test_sync_client_streams_from_a_double_thread() -> None:
    from roomwire.gemini_double import DoubleThread

    with DoubleThread(DoubleConfig(latency="zero")) as double:
        client = make_client(double.base_url)
        chunks = list(client.models.generate_content_stream(model=MODEL, contents="sync hello"))
        whole = client.models.generate_content(model=MODEL, contents="sync hello")
        close_sync_client(client)
    assert len(chunks) >= 2 and whole.text == "".join(c.text or "" for c in chunks)


async def test_generate_content_honours_max_output_tokens(sdk: genai.Client) -> None:
    no_thinking = types.ThinkingConfig(thinking_budget=0)
    config = types.GenerateContentConfig(max_output_tokens=5, thinking_config=no_thinking)
    whole = await sdk.aio.models.generate_content(model=MODEL, contents="A long answer please", config=config)
    assert whole.candidates and whole.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert whole.usage_metadata and whole.usage_metadata.candidates_token_count == 5
    assert whole.usage_metadata.thoughts_token_count is None
    chunks = await stream(sdk, "A long answer please", max_output_tokens=5, thinking_config=no_thinking)
    assert finish_reasons(chunks)[-1] == "MAX_TOKENS"
    assert "".join(t or "" for t in texts(chunks)) == whole.text


async def test_thinking_models_report_thoughts_that_count_against_the_budget(sdk: genai.Client) -> None:
    chunks = await stream(sdk, "Think first. [[thoughts=30]] [[sentences=4]]")
    usage = [chunk.usage_metadata for chunk in chunks]
    assert all(u is not None and u.thoughts_token_count == 30 for u in usage)
    last = usage[-1]
    assert last is not None and last.total_token_count == (
        (last.prompt_token_count or 0) + (last.candidates_token_count or 0) + 30
    )
    cut = await stream(sdk, "Think first. [[thoughts=30]] [[sentences=4]]", max_output_tokens=40)
    cut_usage = cut[-1].usage_metadata
    assert finish_reasons(cut)[-1] == "MAX_TOKENS" and cut_usage is not None
    assert cut_usage.thoughts_token_count == 30 and 0 < (cut_usage.candidates_token_count or 0) <= 10
    empty = await stream(sdk, "Think first. [[thoughts=30]]", max_output_tokens=20)
    assert texts(empty) == [None] and finish_reasons(empty) == ["MAX_TOKENS"]
    plain = await stream(sdk, "No thinking on 2.0. [[thoughts=30]]", model="gemini-2.0-flash")
    assert all(chunk.usage_metadata is None or chunk.usage_metadata.thoughts_token_count is None for chunk in plain)


async def test_korean_in_korean_out_and_system_instruction_observed(sdk: genai.Client) -> None:
    korean = "".join(t or "" for t in texts(await stream(sdk, "오늘 날씨 어때요?")))
    assert sum("\uac00" <= c <= "\ud7a3" for c in korean) > len(korean) // 3
    forced = await stream(sdk, "오늘 날씨 어때요?", system_instruction="Always answer in English.")
    english = "".join(t or "" for t in texts(forced))
    assert english.isascii() and english
    echoed = await stream(sdk, "[[echo=system]]", system_instruction="You are a terse pirate.")
    assert "".join(t or "" for t in texts(echoed)) == "You are a terse pirate."


async def test_the_conversation_is_honoured(sdk: genai.Client) -> None:
    history = [
        types.Content(role="user", parts=[types.Part(text="first question")]),
        types.Content(role="model", parts=[types.Part(text="first answer")]),
        types.Content(role="user", parts=[types.Part(text="[[echo=history]]")]),
    ]
    chunks = await stream(sdk, history)
    assert "".join(t or "" for t in texts(chunks)) == "turns=3 roles=user,model,user"


@pytest.mark.parametrize(
    ("kind", "error", "code", "status"),
    [
        ("rate_limit", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
        ("server_error", errors.ServerError, 500, "INTERNAL"),
        ("unavailable", errors.ServerError, 503, "UNAVAILABLE"),
        ("invalid_key", errors.ClientError, 400, "INVALID_ARGUMENT"),
        ("key_echo", errors.ClientError, 403, "PERMISSION_DENIED"),
    ],
)
async def test_error_faults_raise_the_real_exception_without_retry(
    sdk: genai.Client, control: AsyncDoubleControl, kind: str, error: type[errors.APIError], code: int, status: str
) -> None:
    await control.queue_fault(kind, match=f"tok-{kind}", retry_delay_s=13.5)
    chunks, exc = await stream_until_error(sdk, f"question tok-{kind}")
    assert chunks == []
    assert type(exc) is error
    assert isinstance(exc, errors.APIError) and exc.code == code and exc.status == status
    assert exc.details["error"]["code"] == code
    [entry] = await control.journal(match=f"tok-{kind}")  # one request: nothing retried
    assert entry["outcome"] == kind and entry["status"] == code


async def test_rate_limit_details_carry_the_retry_delay(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    await control.queue_fault("rate_limit", match="tok-delay", retry_delay_s=13.5)
    _, exc = await stream_until_error(sdk, "tok-delay")
    assert isinstance(exc, errors.ClientError)
    details = exc.details["error"]["details"]
    assert [d["@type"].rsplit(".", 1)[-1] for d in details] == ["Help", "QuotaFailure", "RetryInfo"]
    assert details[2]["retryDelay"] == "13s"
    assert "Please retry in 13.5s." in (exc.message or "")


async def test_quota_past_the_free_tier_gives_429_with_retry_info(
    double: RunningDouble, control: AsyncDoubleControl
) -> None:
    await control.configure(quota_rpm={"gemini-2.5-flash-lite": 2})
    client = make_client(double.base_url)
    try:
        for _ in range(2):
            await client.aio.models.generate_content(model="gemini-2.5-flash-lite", contents="tok-quota")
        with pytest.raises(errors.ClientError) as caught:
            await client.aio.models.generate_content(model="gemini-2.5-flash-lite", contents="tok-quota")
    finally:
        await close_client(client)
    assert caught.value.code == 429
    delay = caught.value.details["error"]["details"][2]["retryDelay"]
    assert delay.endswith("s") and 55 <= int(delay[:-1]) <= 60
    outcomes = [e["outcome"] for e in await control.journal(match="tok-quota")]
    assert outcomes == ["ok", "ok", "quota_exceeded"]


async def test_abort_raises_the_transport_error_after_the_first_chunk(
    sdk: genai.Client, control: AsyncDoubleControl
) -> None:
    await control.queue_fault("abort", match="tok-abort")
    chunks, exc = await stream_until_error(sdk, "tok-abort [[sentences=4]]")
    assert len(chunks) == 1 and chunks[0].text
    assert isinstance(exc, transport_errors())
    assert "incomplete chunked read" in str(exc)
    [entry] = await control.journal(match="tok-abort")
    assert entry["outcome"] == "abort" and entry["sent_text"] == chunks[0].text
    assert entry["finish_reason"] is None


async def test_no_finish_is_a_clean_truncation(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    await control.queue_fault("no_finish", match="tok-nofinish")
    chunks = await stream(sdk, "tok-nofinish [[chunks=3]]")
    assert len(chunks) == 3 and finish_reasons(chunks) == [None, None, None]


async def test_safety_ends_with_finish_reason_safety_and_no_text(
    sdk: genai.Client, control: AsyncDoubleControl
) -> None:
    await control.queue_fault("safety", match="tok-safety")
    chunks = await stream(sdk, "tok-safety")
    assert texts(chunks) == [None] and finish_reasons(chunks) == ["SAFETY"]
    await control.queue_fault("safety", match="tok-late", after_chunks=2)
    late = await stream(sdk, "tok-late [[sentences=3]]")
    assert len(late) == 3 and late[0].text and late[1].text and late[2].text is None
    assert finish_reasons(late) == [None, None, "SAFETY"]


async def test_stream_error_raises_server_error_after_a_chunk(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    await control.queue_fault("stream_error", match="tok-inner", code=503)
    if SDK_RAISES_IN_STREAM_ERRORS:
        chunks, exc = await stream_until_error(sdk, "tok-inner")
        assert len(chunks) == 1 and isinstance(exc, errors.ServerError) and exc.code == 503
    else:  # pragma: no cover - SDK 1.x: the error event arrives as a chunk with no candidates
        chunks = await stream(sdk, "tok-inner")
        assert len(chunks) == 2 and chunks[0].text and chunks[1].candidates is None
    assert len(await control.journal(match="tok-inner")) == 1


async def test_stall_sends_headers_then_nothing_until_the_client_gives_up(
    double: RunningDouble, control: AsyncDoubleControl
) -> None:
    await control.queue_fault("stall", match="tok-stall")
    client = make_client(double.base_url, timeout=500)
    try:
        chunks, exc = await stream_until_error(client, "tok-stall")
    finally:
        await close_client(client)
    assert chunks == [] and isinstance(exc, timeout_errors())
    entries = await control.wait_for(lambda es: bool(es) and es[0]["disconnected"], match="tok-stall")
    assert entries[0]["status"] == 200 and entries[0]["outcome"] == "stall" and entries[0]["chunk_times_ms"] == []


async def test_leaving_mid_stream_is_journaled_as_a_disconnect(
    double: RunningDouble, control: AsyncDoubleControl
) -> None:
    await control.configure(latency="fast", chunk_interval_ms=200)
    client = make_client(double.base_url)
    try:
        response = await client.aio.models.generate_content_stream(model=MODEL, contents="tok-leave [[chunks=8]]")
        async for _ in response:
            break
        await response.aclose()  # type: ignore[attr-defined]
    finally:
        await close_client(client)
    entries = await control.wait_for(lambda es: bool(es) and es[0]["finished_ms"] is not None, match="tok-leave")
    assert entries[0]["disconnected"] is True and entries[0]["outcome"] == "client_disconnected"
    assert 1 <= len(entries[0]["chunk_times_ms"]) < 8


async def test_unknown_model_missing_and_bad_keys_get_the_real_errors(double: RunningDouble) -> None:
    good = make_client(double.base_url)
    bad = make_client(double.base_url, key="not-a-real-key")
    try:
        with pytest.raises(errors.ClientError) as unknown:
            await good.aio.models.generate_content(model="gemini-0.1-nope", contents="hi")
        with pytest.raises(errors.ClientError) as invalid:
            await bad.aio.models.generate_content(model=MODEL, contents="hi")
    finally:
        await close_client(good)
        await close_client(bad)
    assert unknown.value.code == 404 and unknown.value.status == "NOT_FOUND"
    assert "models/gemini-0.1-nope is not found" in (unknown.value.message or "")
    assert invalid.value.code == 400 and invalid.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


async def test_count_tokens_and_models_through_the_sdk(sdk: genai.Client) -> None:
    counted = await sdk.aio.models.count_tokens(model=MODEL, contents="The quick brown fox jumps")
    assert counted.total_tokens == 7  # ceil(25 ASCII characters / 4)
    model = await sdk.aio.models.get(model=MODEL)
    assert model.name == f"models/{MODEL}" and model.display_name == "Gemini 2.5 Flash"
    names = [m.name async for m in await sdk.aio.models.list()]
    assert f"models/{MODEL}" in names and "models/gemini-2.5-flash-lite" in names


async def test_recorded_real_stream_replayed_through_the_sdk(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    await control.queue_fault("replay", match="tok-replay", fixture="stream_usage_is_live_mid_stream")
    chunks = await stream(sdk, "tok-replay")
    assert "".join(t or "" for t in texts(chunks)) == "\n".join(str(n) for n in range(1, 31))
    assert [c.usage_metadata.candidates_token_count for c in chunks if c.usage_metadata] == [31, 79, 80]
    expected_id = "ru1garvBEoOiqtsP2fznmQw" if SDK_READS_RESPONSE_ID else None
    assert {c.response_id for c in chunks} == {expected_id}
    [entry] = await control.journal(match="tok-replay")
    assert entry["sent_text"] == "".join(t or "" for t in texts(chunks)) and len(entry["chunk_times_ms"]) == 3


async def test_shutdown_ends_a_stalled_stream_promptly() -> None:
    async with serve_double(DoubleConfig(latency="zero")) as double:
        async with AsyncDoubleControl(double.base_url) as control:
            await control.queue_fault("stall")
        client = make_client(double.base_url, timeout=30_000)
        task = asyncio.create_task(stream_until_error(client, "waiting forever"))
        await asyncio.sleep(0.2)
    chunks, exc = await asyncio.wait_for(task, 5)
    await close_client(client)
    assert chunks == [] and isinstance(exc, transport_errors())
