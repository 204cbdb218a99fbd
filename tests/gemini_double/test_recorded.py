"""Recorded real Gemini responses (fixtures/gemini/recorded) replayed by the double and parsed by the real SDK.

The double's `replay` fault sends a body verbatim, event by event; the SDK must make of it what it makes of
Google's own bytes. We compare what the SDK parsed with the JSON in the recording, so a framing mistake in the
replay (or a shape the SDK cannot read) shows up here.
"""

from __future__ import annotations

import json

import pytest
from google import genai

from roomwire.gemini_double import AsyncDoubleControl, canned
from roomwire.gemini_double.shapes import split_sse

from .helpers import MODEL, stream, texts

RECORDED = canned.recorded_index()


def _text_of(obj: dict[str, object]) -> str | None:
    candidates = obj.get("candidates")
    if not isinstance(candidates, list) or not candidates:
        return None
    parts = candidates[0].get("content", {}).get("parts")
    if not parts:
        return None
    found = [p["text"] for p in parts if "text" in p and not p.get("thought")]
    return "".join(found) if found else None


@pytest.mark.parametrize("name", [n for n, e in RECORDED.items() if e["kind"] == "stream"])
async def test_sdk_parses_recorded_streams_replayed_by_the_double(
    name: str, sdk: genai.Client, control: AsyncDoubleControl
) -> None:
    recorded = [json.loads(payload) for payload in split_sse(canned.recorded_body(name).encode("utf-8"))]
    await control.queue_fault("replay", match=f"tok-{name}", fixture=name)
    chunks = await stream(sdk, f"tok-{name}")
    assert len(chunks) == len(recorded)
    assert texts(chunks) == [_text_of(obj) for obj in recorded]
    for chunk, obj in zip(chunks, recorded, strict=True):
        usage = obj.get("usageMetadata", {})
        assert chunk.usage_metadata is not None
        assert chunk.usage_metadata.total_token_count == usage.get("totalTokenCount")
        assert chunk.model_version == obj.get("modelVersion")


@pytest.mark.parametrize("name", [n for n, e in RECORDED.items() if e["kind"] == "response"])
async def test_sdk_parses_recorded_responses_replayed_by_the_double(
    name: str, sdk: genai.Client, control: AsyncDoubleControl
) -> None:
    recorded = json.loads(canned.recorded_body(name))
    await control.queue_fault("replay", match=f"tok-{name}", fixture=name)
    response = await sdk.aio.models.generate_content(model=MODEL, contents=f"tok-{name}")
    assert response.text == _text_of(recorded)
    assert response.candidates is not None
    reason = response.candidates[0].finish_reason
    assert reason is not None and reason.value == recorded["candidates"][0]["finishReason"]
