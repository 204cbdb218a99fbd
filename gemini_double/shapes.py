"""A shape checker for Gemini responses, run on recorded real bodies and on the double's own output. Pure.

The point is to check the double against reality, not against itself: the same function must accept the
recorded real streams in `fixtures/gemini/recorded/` and everything the double sends. It checks the framing
(`data: <one-line JSON>\\r\\n\\r\\n`, nothing else), the chunk fields and their types, the usage arithmetic
(total = prompt + candidates + thoughts + tool-use prompt), and the stream rules (same responseId and
modelVersion throughout, finishReason only on the last chunk, candidatesTokenCount never shrinking).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import cast

from roomwire.spec.errors import RoomwireError

#: google.genai.types.FinishReason, minus nothing: the checker must not reject a reason Google really sends.
FINISH_REASONS = frozenset(
    {
        "FINISH_REASON_UNSPECIFIED",
        "STOP",
        "MAX_TOKENS",
        "SAFETY",
        "RECITATION",
        "LANGUAGE",
        "OTHER",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "MALFORMED_FUNCTION_CALL",
        "IMAGE_SAFETY",
        "UNEXPECTED_TOOL_CALL",
        "TOO_MANY_TOOL_CALLS",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
        "NO_IMAGE",
        "MISSING_THOUGHT_SIGNATURE",
        "MALFORMED_RESPONSE",
    }
)
RESPONSE_FIELDS = frozenset(
    {"candidates", "usageMetadata", "modelVersion", "responseId", "promptFeedback", "createTime"}
)
USAGE_SUMMANDS = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount")
RPC_CODES = frozenset(
    {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    }
)


class ShapeError(RoomwireError, AssertionError):
    """A body does not have Gemini's shape; `problems` lists every deviation found."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def split_sse(body: bytes) -> list[str]:
    """The JSON texts of an SSE body framed exactly as Google frames it.

    Raises:
        ShapeError: any line that is not `data: ` + JSON, a missing `\\r\\n\\r\\n`, or trailing bytes.
    """
    text = body.decode("utf-8")
    if not text:
        raise ShapeError(["empty stream"])
    events = text.split("\r\n\r\n")
    if events[-1] != "":
        raise ShapeError([f"stream does not end with \\r\\n\\r\\n: {events[-1][-40:]!r}"])
    problems: list[str] = []
    payloads: list[str] = []
    for number, event in enumerate(events[:-1]):
        if not event.startswith("data: "):
            problems.append(f"event {number} does not start with 'data: ': {event[:40]!r}")
        elif any(sep in event for sep in ("\r", "\n")):
            problems.append(f"event {number} spans several lines")
        else:
            payloads.append(event[len("data: ") :])
    if problems:
        raise ShapeError(problems)
    return payloads


def check_stream_body(body: bytes) -> list[dict[str, object]]:
    """Parse and check a whole `streamGenerateContent?alt=sse` body; returns the chunk objects.

    Raises:
        ShapeError: bad framing, a bad chunk, or a broken stream rule.
    """
    chunks: list[dict[str, object]] = []
    problems: list[str] = []
    for number, payload in enumerate(split_sse(body)):
        try:
            obj = json.loads(payload)
        except json.JSONDecodeError as exc:
            problems.append(f"event {number} is not JSON: {exc}")
            continue
        problems += [f"chunk {number}: {p}" for p in response_problems(obj)]
        if isinstance(obj, dict):
            chunks.append(cast(dict[str, object], obj))
    problems += stream_problems(chunks)
    if problems:
        raise ShapeError(problems)
    return chunks


def check_response(obj: object) -> None:
    """Check one GenerateContentResponse (a stream chunk or a whole answer).

    Raises:
        ShapeError: listing every problem.
    """
    problems = response_problems(obj)
    if problems:
        raise ShapeError(problems)


def response_problems(obj: object) -> list[str]:
    """Every way `obj` differs from a GenerateContentResponse."""
    if not isinstance(obj, dict):
        return ["not a JSON object"]
    problems = [f"unknown field {name!r}" for name in obj if name not in RESPONSE_FIELDS]
    for name in ("modelVersion", "responseId"):
        if name in obj and not isinstance(obj[name], str):
            problems.append(f"{name} is not a string")
    candidates = obj.get("candidates", [])
    if not isinstance(candidates, list) or ("candidates" not in obj and "promptFeedback" not in obj):
        problems.append("candidates missing or not a list")
    else:
        for index, cand in enumerate(candidates):
            problems += [f"candidates[{index}]: {p}" for p in _candidate_problems(cand)]
    if "usageMetadata" in obj:
        problems += _usage_problems(obj["usageMetadata"])
    return problems


def _candidate_problems(cand: object) -> list[str]:
    if not isinstance(cand, dict):
        return ["not an object"]
    problems: list[str] = []
    reason = cand.get("finishReason")
    if reason is not None and reason not in FINISH_REASONS:
        problems.append(f"unknown finishReason {reason!r}")
    if "index" in cand and not isinstance(cand["index"], int):
        problems.append("index is not an integer")
    content = cand.get("content")
    if content is None:
        return problems if reason is not None else [*problems, "no content and no finishReason"]
    if not isinstance(content, dict):
        return [*problems, "content is not an object"]
    if "role" in content and content["role"] != "model":
        problems.append(f"content.role is {content['role']!r}, not 'model'")
    parts = content.get("parts", [])
    if not isinstance(parts, list):
        return [*problems, "content.parts is not a list"]
    for number, part in enumerate(parts):
        if not isinstance(part, dict) or not part:
            problems.append(f"parts[{number}] is not a non-empty object")
        elif "text" in part and not isinstance(part["text"], str):
            problems.append(f"parts[{number}].text is not a string")
    return problems


def _usage_problems(usage: object) -> list[str]:
    if not isinstance(usage, dict):
        return ["usageMetadata is not an object"]
    problems = [
        f"usageMetadata.{name} is not a non-negative integer"
        for name, value in usage.items()
        if name.endswith("Count") and (not isinstance(value, int) or isinstance(value, bool) or value < 0)
    ]
    if problems:
        return problems
    if "totalTokenCount" in usage:
        expected = sum(cast(int, usage.get(name, 0)) for name in USAGE_SUMMANDS)
        if usage["totalTokenCount"] != expected:
            problems.append(f"usageMetadata.totalTokenCount is {usage['totalTokenCount']}, parts add up to {expected}")
    for name, value in usage.items():
        if name.endswith("TokensDetails"):
            problems += _details_problems(name, value)
    return problems


def _details_problems(name: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("modality"), str) and isinstance(item.get("tokenCount", 0), int)
        for item in value
    ):
        return [f"usageMetadata.{name} is not a list of {{modality, tokenCount}}"]
    return []


def stream_problems(chunks: Sequence[Mapping[str, object]]) -> list[str]:
    """The rules that hold across a stream's chunks."""
    if not chunks:
        return ["stream has no chunks"]
    problems: list[str] = []
    for name in ("responseId", "modelVersion"):
        values = {chunk.get(name) for chunk in chunks}
        if len(values) > 1:
            problems.append(f"{name} changes within the stream: {sorted(map(str, values))}")
    for number, chunk in enumerate(chunks[:-1]):
        if _finish_reason(chunk) is not None:
            problems.append(f"chunk {number} has a finishReason but is not the last chunk")
    counts = [_candidates_tokens(chunk) for chunk in chunks]
    known = [count for count in counts if count is not None]
    if known != sorted(known):
        problems.append(f"candidatesTokenCount shrinks: {known}")
    return problems


def _finish_reason(chunk: Mapping[str, object]) -> object:
    candidates = chunk.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0].get("finishReason")
    return None


def _candidates_tokens(chunk: Mapping[str, object]) -> int | None:
    usage = chunk.get("usageMetadata")
    if isinstance(usage, dict) and isinstance(usage.get("candidatesTokenCount"), int):
        return cast(int, usage["candidatesTokenCount"])
    return None


def error_problems(obj: object, status: int) -> list[str]:
    """Every way `obj` differs from Google's error envelope for HTTP `status`."""
    if not isinstance(obj, dict) or set(obj) != {"error"} or not isinstance(obj["error"], dict):
        return ["not {'error': {...}}"]
    error = obj["error"]
    problems: list[str] = []
    if error.get("code") != status:
        problems.append(f"error.code is {error.get('code')!r}, HTTP status is {status}")
    if not isinstance(error.get("message"), str):
        problems.append("error.message is not a string")
    if error.get("status") not in RPC_CODES:
        problems.append(f"error.status {error.get('status')!r} is not a google.rpc.Code name")
    details = error.get("details", [])
    if not isinstance(details, list) or not all(isinstance(d, dict) and "@type" in d for d in details):
        problems.append("error.details is not a list of objects with @type")
    return problems


def field_differences(
    recorded: object,
    ours: object,
    *,
    varying: frozenset[str] = frozenset(),
    extra: frozenset[str] = frozenset(),
    path: str = "",
) -> list[str]:
    """Every field in which `ours` differs from the `recorded` real body, compared one by one.

    Objects must have the same keys (order aside), lists the same length, and every value must be equal, except:
    at a path in `varying` (per-request values: token counts, ids, delays) only the JSON type must match; a path in
    `extra` may be present in `ours` only (a field the double adds, documented with the case). Paths read
    `error.details[2].retryDelay`; a `*` in place of an index matches every index.
    """
    where = path or "<body>"
    if _matches(path, varying):
        return (
            []
            if _json_type(recorded) == _json_type(ours)
            else [f"{where}: {_json_type(ours)}, recorded is {_json_type(recorded)}"]
        )
    if isinstance(recorded, dict) and isinstance(ours, dict):
        problems = [f"{_join(path, k)}: missing" for k in recorded if k not in ours]
        problems += [
            f"{_join(path, k)}: not in the recording"
            for k in ours
            if k not in recorded and not _matches(_join(path, k), extra)
        ]
        for key in recorded:
            if key in ours:
                problems += field_differences(
                    recorded[key], ours[key], varying=varying, extra=extra, path=_join(path, key)
                )
        return problems
    if isinstance(recorded, list) and isinstance(ours, list):
        if len(recorded) != len(ours):
            return [f"{where}: {len(ours)} items, recorded {len(recorded)}"]
        problems = []
        for index, (mine, theirs) in enumerate(zip(recorded, ours, strict=True)):
            problems += field_differences(mine, theirs, varying=varying, extra=extra, path=f"{path}[{index}]")
        return problems
    return [] if recorded == ours and type(recorded) is type(ours) else [f"{where}: {ours!r}, recorded {recorded!r}"]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _matches(path: str, patterns: frozenset[str]) -> bool:
    return any(_pattern_matches(pattern, path) for pattern in patterns)


def _pattern_matches(pattern: str, path: str) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\[\*\]", r"\[\d+\]") + "$"
    return re.match(regex, path) is not None


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    return {int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "null")
