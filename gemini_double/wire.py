"""Gemini's success shapes and framing: chunks, whole responses, usage, models, SSE events. Pure.

The shapes copy the recorded real streams in `fixtures/gemini/recorded/` (pydantic-ai cassettes): every chunk
has `candidates[0].content.parts[].text` with `role: "model"`, a `usageMetadata`, the same `modelVersion` and
`responseId`; only the last one has `finishReason`. Two families differ in detail (`usage`, `candidate`): 2.5 and
3 models send `index: 0`, a running usage with `thoughtsTokenCount` and `serviceTier`; 2.0 models send no `index`
and count the answer's tokens only on the last chunk. Streams are `data: <one-line JSON>\\r\\n\\r\\n`
with Google's spacing (`": "` after keys, nothing after commas); whole responses and errors are pretty-printed with
a 2-space indent and a final newline.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping

from .answers import Answer

SSE_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "text/event-stream"),
    ("content-disposition", "attachment"),
    ("vary", "Origin"),
    ("vary", "X-Origin"),
    ("vary", "Referer"),
    ("x-content-type-options", "nosniff"),
)
JSON_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "application/json; charset=UTF-8"),
    ("vary", "Origin"),
    ("vary", "X-Origin"),
    ("vary", "Referer"),
    ("x-content-type-options", "nosniff"),
)

#: Line separators that old SDKs (httpx `aiter_lines`, str.splitlines) split on inside a JSON string.
_UNSAFE_SEPARATORS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}

SAFETY_RATINGS: tuple[dict[str, object], ...] = (
    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "HIGH", "blocked": True},
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
)


def google_json(obj: object) -> str:
    """One line of JSON with Google's spacing; U+2028/2029/0085 escaped so no client splits the line."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ": "))
    for raw, escaped in _UNSAFE_SEPARATORS.items():
        text = text.replace(raw, escaped)
    return text


def pretty_json(obj: object) -> bytes:
    """Whole responses and errors: 2-space indent, final newline, as Google's front end sends them."""
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def sse_event(obj: object) -> bytes:
    """One server-sent event as Google frames it (the SDK needs `data: ` with the space)."""
    return b"data: " + google_json(obj).encode("utf-8") + b"\r\n\r\n"


def response_id(seed: int, sequence: int) -> str:
    """A 23-character id like Google's ("ru1garvBEoOiqtsP2fznmQw"), unique per request of one double."""
    raw = hashlib.sha256(f"{seed}:{sequence}".encode()).digest()[:17]
    return base64.urlsafe_b64encode(raw).decode("ascii")[:23]


def is_thinking_model(model: str) -> bool:
    """2.5 and 3 models think by default and answer in the current chunk shape; 2.0 models in the older one."""
    return not model.startswith("gemini-2.0")


def usage(
    prompt: int, candidates: int, *, thoughts: int = 0, model: str = "gemini-2.5-flash", final: bool = True
) -> dict[str, object]:
    """usageMetadata as the model's family reports it; total = prompt + candidates + thoughts.

    Thinking models (recorded gemini-2.5-flash streams, 2026): a running `candidatesTokenCount` on every chunk,
    `thoughtsTokenCount` after `promptTokensDetails`, then `serviceTier`. 2.0 models (recorded gemini-2.0-flash
    streams): only prompt and total until the last chunk, which adds `candidatesTokenCount` and
    `candidatesTokensDetails`.
    """
    data: dict[str, object] = {"promptTokenCount": prompt}
    if not is_thinking_model(model):
        if final and candidates:
            data["candidatesTokenCount"] = candidates
        data["totalTokenCount"] = prompt + (candidates if final else 0)
        data["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        if final and candidates:
            data["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": candidates}]
        return data
    if candidates:
        data["candidatesTokenCount"] = candidates
    data["totalTokenCount"] = prompt + candidates + thoughts
    data["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    if thoughts:
        data["thoughtsTokenCount"] = thoughts
    data["serviceTier"] = "standard"
    return data


def candidate(text: str | None, finish_reason: str | None, *, model: str = "gemini-2.5-flash") -> dict[str, object]:
    """candidates[0]; `text=None` gives a content with no parts (what MAX_TOKENS with no output looks like).

    2.0 models send no `index` (recorded gemini-2.0-flash streams); 2.5 and 3 models send `index: 0`.
    """
    content: dict[str, object] = {"role": "model"} if text is None else {"parts": [{"text": text}], "role": "model"}
    data: dict[str, object] = {"content": content}
    if finish_reason is not None:
        data["finishReason"] = finish_reason
    if is_thinking_model(model):
        data["index"] = 0
    return data


def envelope(cand: Mapping[str, object], usage_data: Mapping[str, object], model: str, rid: str) -> dict[str, object]:
    """A GenerateContentResponse: one chunk of a stream, or a whole answer."""
    return {"candidates": [dict(cand)], "usageMetadata": dict(usage_data), "modelVersion": model, "responseId": rid}


def stream_chunks(answer: Answer, model: str, rid: str, *, finish: bool = True) -> list[dict[str, object]]:
    """The chunk objects of a streamed answer; `finish=False` leaves out the finishReason (the no_finish fault)."""
    chunks: list[dict[str, object]] = []
    last = len(answer.chunks) - 1
    for index, (text, tokens) in enumerate(zip(answer.chunks, answer.running_tokens(), strict=True)):
        reason = answer.finish_reason if finish and index == last else None
        shown = None if not answer.text and reason == "MAX_TOKENS" else text
        counts = usage(answer.prompt_tokens, tokens, thoughts=answer.thoughts_tokens, model=model, final=index == last)
        chunks.append(envelope(candidate(shown, reason, model=model), counts, model, rid))
    return chunks


def whole_response(answer: Answer, model: str, rid: str, *, finish: bool = True) -> dict[str, object]:
    """The non-streaming generateContent body."""
    shown = None if not answer.text and answer.finish_reason == "MAX_TOKENS" else answer.text
    reason = answer.finish_reason if finish else None
    tokens = answer.running_tokens()[-1]
    counts = usage(answer.prompt_tokens, tokens, thoughts=answer.thoughts_tokens, model=model)
    return envelope(candidate(shown, reason, model=model), counts, model, rid)


def blocked_response(prompt: int, model: str, rid: str) -> dict[str, object]:
    """finishReason SAFETY with no text, as the recorded real block (`content: {}` plus safetyRatings)."""
    cand: dict[str, object] = {"content": {}, "finishReason": "SAFETY", "index": 0}
    cand["safetyRatings"] = [dict(rating) for rating in SAFETY_RATINGS]
    return envelope(cand, usage(prompt, 0, model=model), model, rid)


def prompt_blocked_response(prompt: int, model: str, rid: str, reason: str) -> dict[str, object]:
    """The prompt refused before any answer: `promptFeedback.blockReason`, no `candidates`, no `finishReason`.

    The event vercel/ai#19758 recorded from streamGenerateContent (2026), usage prompt and total only, plus the
    `modelVersion` and `responseId` every response carries (vercel/ai#4236 shows the former on the same body).
    """
    counts = {"promptTokenCount": prompt, "totalTokenCount": prompt}
    return {
        "promptFeedback": {"blockReason": reason},
        "usageMetadata": counts,
        "modelVersion": model,
        "responseId": rid,
    }


def thoughts_only_response(prompt: int, thoughts: int, model: str, rid: str) -> dict[str, object]:
    """A thinking model that spent the whole `maxOutputTokens` on thoughts: MAX_TOKENS, a content without parts,
    `thoughtsTokenCount` and no `candidatesTokenCount` (pydantic-ai's cassette
    `test_google_model_max_tokens_thinking_model_empty_response.yaml`, gemini-2.5-pro, 2026)."""
    cand = {"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}
    return envelope(cand, usage(prompt, 0, thoughts=thoughts, model=model), model, rid)


def count_tokens_response(total: int) -> dict[str, object]:
    """countTokens' body (recorded: `{"totalTokens": 10, "promptTokensDetails": [...]}`)."""
    return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}


#: name -> (displayName, version, description, inputTokenLimit, outputTokenLimit, topK), copied from a real
#: `GET v1beta/models` body (fixtures/gemini/recorded/models_list.json, yuv-man/habeat-server `models.json`).
_MODEL_FACTS: Mapping[str, tuple[str, str, str, int, int, int]] = {
    "gemini-2.5-flash": (
        "Gemini 2.5 Flash",
        "001",
        "Stable version of Gemini 2.5 Flash, our mid-size multimodal model that supports up to 1 million tokens, "
        "released in June of 2025.",
        1048576,
        65536,
        64,
    ),
    "gemini-2.5-flash-lite": (
        "Gemini 2.5 Flash-Lite",
        "001",
        "Stable version of Gemini 2.5 Flash-Lite, released in July of 2025",
        1048576,
        65536,
        64,
    ),
    "gemini-2.5-pro": (
        "Gemini 2.5 Pro",
        "2.5",
        "Stable release (June 17th, 2025) of Gemini 2.5 Pro",
        1048576,
        65536,
        64,
    ),
    "gemini-2.0-flash": ("Gemini 2.0 Flash", "2.0", "Gemini 2.0 Flash", 1048576, 8192, 40),
    "gemini-2.0-flash-lite": ("Gemini 2.0 Flash-Lite", "2.0", "Gemini 2.0 Flash-Lite", 1048576, 8192, 40),
}


def _facts(name: str) -> tuple[str, str, str, int, int, int]:
    return _MODEL_FACTS.get(name, (name, "001", f"{name}, served by the roomwire Gemini double.", 1048576, 65536, 64))


def output_token_limit(name: str) -> int:
    """The model's `outputTokenLimit`: where an answer without `maxOutputTokens` stops."""
    return _facts(name)[4]


def model_resource(name: str) -> dict[str, object]:
    """A Model resource as `GET models/{name}` returns it; unknown names get generic limits.

    2.0 models have no `thinking` field at all (the real list omits it rather than saying false).
    """
    display, version, description, input_limit, output_limit, top_k = _facts(name)
    resource: dict[str, object] = {
        "name": f"models/{name}",
        "version": version,
        "displayName": display,
        "description": description,
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": top_k,
        "maxTemperature": 2,
    }
    if is_thinking_model(name):
        resource["thinking"] = True
    return resource
