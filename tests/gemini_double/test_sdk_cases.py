"""Issue 12: the real SDK reads each new case of the double exactly as it reads the recorded real body.

For every case, the double's own answer and the recording (sent verbatim by the `replay` fault) go through the
SDK over sockets; the exception type and its `code`, `status`, `message` and `details`, or the parsed chunks,
must be the same, and the SDK must neither warn nor log a warning. The tox env `sdk-oldest` runs this module with
google-genai 1.13.0 too (see the notes where 1.13 differs, all documented in docs/gemini-double.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors, types

from roomwire.gemini_double import FAKE_API_KEY, AsyncDoubleControl, canned
from roomwire.gemini_double.shapes import field_differences

from .helpers import SDK_RAISES_IN_STREAM_ERRORS, finish_reasons, stream, texts


@contextlib.contextmanager
def no_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing the SDK does inside may warn (any category) or log at WARNING or above."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        yield
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def _raised(sdk: genai.Client, text: str, model: str) -> BaseException:
    """What the SDK raises for one streamed call (the request goes out on `await` or on the first chunk)."""
    try:
        async for _ in await sdk.aio.models.generate_content_stream(model=model, contents=text):
            pass
    except Exception as exc:
        return exc
    raise AssertionError("the SDK raised nothing")


async def _both_raise(
    sdk: genai.Client, control: AsyncDoubleControl, kind: str, name: str, model: str, **params: Any
) -> tuple[Any, Any]:
    """(the exception for the double's own body, the exception for the recorded body)."""
    status = canned.recorded_index()[name]["status"]
    await control.queue_fault(kind, match=f"ours-{kind}", **params)
    await control.queue_fault("replay", match=f"theirs-{kind}", fixture=name, status=status)
    return await _raised(sdk, f"ours-{kind}", model), await _raised(sdk, f"theirs-{kind}", model)


@pytest.mark.parametrize(
    ("kind", "name", "model", "params", "varying"),
    [
        ("key_echo", "key_echo", "gemini-2.5-flash", {}, ()),
        ("invalid_key_debug", "invalid_key_debug", "gemini-2.5-flash", {}, ()),
        ("rate_limit_help_only", "rate_limit_help_only", "gemini-2.5-flash", {}, ()),
        ("rate_limit_per_day", "rate_limit_per_day", "gemini-2.5-flash", {"retry_delay_s": 38.2}, ()),
        (
            "rate_limit_several",
            "rate_limit_several",
            "gemini-2.0-flash",
            {"retry_delay_s": 7.967587226},
            ("error.details[2].retryDelay",),
        ),
        ("unavailable_high_demand", "unavailable_high_demand", "gemini-2.5-flash", {}, ()),
        ("server_error_encountered", "internal_encountered", "gemini-2.5-flash", {}, ()),
    ],
)
async def test_error_cases_raise_what_the_recorded_bodies_raise(
    sdk: genai.Client,
    control: AsyncDoubleControl,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    name: str,
    model: str,
    params: dict[str, Any],
    varying: tuple[str, ...],
) -> None:
    with no_warnings(caplog):
        ours, theirs = await _both_raise(sdk, control, kind, name, model, **params)
    assert isinstance(ours, errors.APIError) and type(ours) is type(theirs)
    assert (ours.code, ours.status, ours.message) == (theirs.code, theirs.status, theirs.message)
    assert field_differences(theirs.details, ours.details, varying=frozenset(varying)) == []
    assert isinstance(ours, errors.ServerError if ours.code >= 500 else errors.ClientError)


async def test_key_echo_carries_the_key_in_details_through_the_sdk(
    sdk: genai.Client, control: AsyncDoubleControl
) -> None:
    """Why a backend must drop `details` as well as `message`: the SDK hands both over with the key in them."""
    await control.queue_fault("invalid_key_debug", match="tok-debug")
    exc: Any = await _raised(sdk, "tok-debug", "gemini-2.5-flash")
    assert FAKE_API_KEY not in exc.message and FAKE_API_KEY in json.dumps(exc.details) and FAKE_API_KEY in str(exc)


async def test_help_only_429_has_no_retry_info(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    await control.queue_fault("rate_limit_help_only", match="tok-help")
    exc: Any = await _raised(sdk, "tok-help", "gemini-2.5-flash")
    types_seen = [item["@type"] for item in exc.details["error"]["details"]]
    assert exc.code == 429 and types_seen == ["type.googleapis.com/google.rpc.Help"]


async def test_prompt_blocked_parses_as_the_recorded_event(
    sdk: genai.Client, control: AsyncDoubleControl, caplog: pytest.LogCaptureFixture
) -> None:
    await control.queue_fault("prompt_blocked", match="ours-block")
    await control.queue_fault("replay", match="theirs-block", fixture="prompt_blocked")
    with no_warnings(caplog):
        ours, theirs = await stream(sdk, "ours-block"), await stream(sdk, "theirs-block")
    for chunks in (ours, theirs):
        [chunk] = chunks
        assert chunk.candidates is None and chunk.text is None
        assert chunk.prompt_feedback is not None
        assert chunk.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT
        assert chunk.usage_metadata is not None and chunk.usage_metadata.candidates_token_count is None


async def test_thinking_exhausted_parses_as_the_recorded_response(
    sdk: genai.Client, control: AsyncDoubleControl, caplog: pytest.LogCaptureFixture
) -> None:
    config = types.GenerateContentConfig(max_output_tokens=5)
    await control.queue_fault("thinking_exhausted", match="ours-think")
    await control.queue_fault("replay", match="theirs-think", fixture="model_max_tokens_thinking_empty")
    with no_warnings(caplog):
        ours = await sdk.aio.models.generate_content(model="gemini-2.5-pro", contents="ours-think", config=config)
        theirs = await sdk.aio.models.generate_content(model="gemini-2.5-pro", contents="theirs-think", config=config)
        streamed = await stream(sdk, "What now? [[thoughts=99]]", model="gemini-2.5-pro", max_output_tokens=5)
    for response in (ours, theirs, *streamed):
        assert response.text is None and response.candidates
        candidate = response.candidates[0]
        assert candidate.finish_reason == types.FinishReason.MAX_TOKENS
        assert candidate.content is not None and candidate.content.parts is None
        usage = response.usage_metadata
        assert usage is not None and usage.thoughts_token_count and usage.candidates_token_count is None
    assert texts(streamed) == [None] and finish_reasons(streamed) == ["MAX_TOKENS"]


async def test_stream_error_raw_raises_what_the_recorded_tail_raises(
    sdk: genai.Client, control: AsyncDoubleControl, caplog: pytest.LogCaptureFixture
) -> None:
    """3.x joins the raw lines and raises ServerError; 1.13 parses line by line and fails on `{` (JSONDecodeError)."""
    outcomes = []
    await control.queue_fault("stream_error_raw", match="ours-raw", code=500)
    await control.queue_fault("replay", match="theirs-raw", fixture="stream_error_raw")
    with no_warnings(caplog):
        for token in ("ours-raw", "theirs-raw"):
            chunks: list[types.GenerateContentResponse] = []
            with pytest.raises(Exception) as info:
                async for chunk in await sdk.aio.models.generate_content_stream(
                    model="gemini-2.5-flash", contents=token
                ):
                    chunks.append(chunk)
            outcomes.append(
                (len(chunks), type(info.value), getattr(info.value, "code", None), getattr(info.value, "status", None))
            )
    assert outcomes[0] == outcomes[1]
    if SDK_RAISES_IN_STREAM_ERRORS:
        assert outcomes[0] == (1, errors.ServerError, 500, "INTERNAL")
    else:  # pragma: no cover - SDK 1.x only
        assert outcomes[0][:2] == (1, json.JSONDecodeError)


async def test_a_non_json_error_body_reads_the_reason_phrase(sdk: genai.Client, control: AsyncDoubleControl) -> None:
    """For a body that is not JSON (a proxy's page) the SDK's `status` is the status line's reason phrase."""
    await control.queue_fault("replay", match="tok-html", status=503, body="<html>Service Unavailable</html>")
    exc: Any = await _raised(sdk, "tok-html", "gemini-2.5-flash")
    assert isinstance(exc, errors.ServerError) and exc.code == 503 and exc.status == "Service Unavailable"


async def test_default_answers_of_both_families_parse_without_warnings(
    sdk: genai.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The default shapes changed with issue 12 (thoughts, serviceTier; 2.0 chunks without index): still quiet."""
    with no_warnings(caplog):
        thinking = await stream(sdk, "Tell me about tide pools. [[sentences=3]]")
        older = await stream(sdk, "Tell me about tide pools. [[sentences=3]]", model="gemini-2.0-flash")
        whole = await sdk.aio.models.generate_content(model="gemini-2.0-flash", contents="one answer")
    assert finish_reasons(thinking)[-1] == finish_reasons(older)[-1] == "STOP" and whole.text
    last = thinking[-1].usage_metadata
    assert (
        last is not None
        and last.thoughts_token_count
        and last.total_token_count
        == ((last.prompt_token_count or 0) + (last.candidates_token_count or 0) + last.thoughts_token_count)
    )
    assert older[0].candidates and older[0].candidates[0].index is None
    assert older[-1].usage_metadata is not None and older[-1].usage_metadata.candidates_tokens_details
