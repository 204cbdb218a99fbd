"""Gemini's success shapes and framing: chunks, whole responses, usage, models, SSE events. Pure.

The shapes copy the recorded real streams in `fixtures/gemini/recorded/` (pydantic-ai cassettes): every chunk
has `candidates[0].content.parts[].text` with `role: "model"` and `index: 0`, a running `usageMetadata`, the same
`modelVersion` and `responseId`; only the last one has `finishReason`. Streams are `data: <one-line JSON>\\r\\n\\r\\n`
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


def usage(prompt: int, candidates: int) -> dict[str, object]:
    """usageMetadata: total = prompt + candidates (the double does not simulate thinking tokens)."""
    data: dict[str, object] = {"promptTokenCount": prompt}
    if candidates:
        data["candidatesTokenCount"] = candidates
    data["totalTokenCount"] = prompt + candidates
    data["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    return data


def candidate(text: str | None, finish_reason: str | None) -> dict[str, object]:
    """candidates[0]; `text=None` gives a content with no parts (what MAX_TOKENS with no output looks like)."""
    content: dict[str, object] = {"role": "model"} if text is None else {"parts": [{"text": text}], "role": "model"}
    data: dict[str, object] = {"content": content}
    if finish_reason is not None:
        data["finishReason"] = finish_reason
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
        chunks.append(envelope(candidate(shown, reason), usage(answer.prompt_tokens, tokens), model, rid))
    return chunks


def whole_response(answer: Answer, model: str, rid: str, *, finish: bool = True) -> dict[str, object]:
    """The non-streaming generateContent body."""
    shown = None if not answer.text and answer.finish_reason == "MAX_TOKENS" else answer.text
    reason = answer.finish_reason if finish else None
    tokens = answer.running_tokens()[-1]
    return envelope(candidate(shown, reason), usage(answer.prompt_tokens, tokens), model, rid)


def blocked_response(prompt: int, model: str, rid: str) -> dict[str, object]:
    """finishReason SAFETY with no text, as the recorded real block (`content: {}` plus safetyRatings)."""
    cand: dict[str, object] = {"content": {}, "finishReason": "SAFETY", "index": 0}
    cand["safetyRatings"] = [dict(rating) for rating in SAFETY_RATINGS]
    return envelope(cand, usage(prompt, 0), model, rid)


def count_tokens_response(total: int) -> dict[str, object]:
    """countTokens' body (recorded: `{"totalTokens": 10, "promptTokensDetails": [...]}`)."""
    return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}


_MODEL_FACTS: Mapping[str, tuple[str, str, int, int]] = {
    "gemini-2.5-flash": ("Gemini 2.5 Flash", "001", 1048576, 65536),
    "gemini-2.5-flash-lite": ("Gemini 2.5 Flash-Lite", "001", 1048576, 65536),
    "gemini-2.5-pro": ("Gemini 2.5 Pro", "2.5", 1048576, 65536),
    "gemini-2.0-flash": ("Gemini 2.0 Flash", "2.0", 1048576, 8192),
    "gemini-2.0-flash-lite": ("Gemini 2.0 Flash-Lite", "2.0", 1048576, 8192),
}


def model_resource(name: str) -> dict[str, object]:
    """A Model resource as `GET models/{name}` returns it; unknown names get generic limits."""
    display, version, input_limit, output_limit = _MODEL_FACTS.get(name, (name, "001", 1048576, 65536))
    return {
        "name": f"models/{name}",
        "version": version,
        "displayName": display,
        "description": f"{display}, served by the roomwire Gemini double.",
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "supportedGenerationMethods": ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
        "temperature": 1,
        "topP": 0.95,
        "topK": 64,
        "maxTemperature": 2,
        "thinking": name.startswith(("gemini-2.5", "gemini-3")),
    }
