"""Faults queued through the control API, taken by the generation requests they apply to. Pure state.

A fault applies to a generateContent / streamGenerateContent request when its `model` (if given) is the request's
model and its `match` (if given) is a substring of the request's last user turn. Requests take the oldest
applicable fault first; a fault queued with `count: N` serves N requests. `match` lets checks that run
concurrently against one double each provoke their own fault without touching the others' requests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace

from roomwire.spec.errors import UsageError

#: Kinds answered with an HTTP error before any chunk (bodies and sources in `error_bodies`).
ERROR_KINDS = (
    "rate_limit",
    "rate_limit_help_only",
    "rate_limit_per_day",
    "rate_limit_several",
    "server_error",
    "server_error_encountered",
    "unavailable",
    "unavailable_high_demand",
    "invalid_key",
    "invalid_key_debug",
    "key_echo",
    "key_echo_2024",
)
#: Kinds that shape a 200 response.
STREAM_KINDS = (
    "abort",
    "stall",
    "hold",
    "no_finish",
    "safety",
    "prompt_blocked",
    "thinking_exhausted",
    "stream_error",
    "stream_error_raw",
    "replay",
)
KINDS = ERROR_KINDS + STREAM_KINDS
#: Kinds that send `after_chunks` chunks of the answer first, then cut it (the rest is never sent).
CUT_KINDS = ("abort", "stream_error", "stream_error_raw", "safety")
#: Kinds that send `after_chunks` chunks of the answer first, then act: the cuts, and `hold` (which then waits).
AFTER_CHUNKS_KINDS = (*CUT_KINDS, "hold")
#: `hold`: the longest a held stream waits for its release (`hold_s`), and the default.
MAX_HOLD_S = 300.0
DEFAULT_HOLD_S = 60.0
#: google.genai.types.BlockedReason: what `promptFeedback.blockReason` may say.
BLOCK_REASONS = ("BLOCKED_REASON_UNSPECIFIED", "SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY")

_FIELDS = frozenset(
    {
        "kind",
        "count",
        "model",
        "match",
        "after_chunks",
        "retry_delay_s",
        "code",
        "body",
        "status",
        "fixture",
        "block_reason",
        "thoughts",
        "hold_s",
    }
)


class FaultError(UsageError, ValueError):
    """A fault description the double cannot queue (the control API answers 400 with this text)."""


@dataclass(frozen=True)
class Fault:
    """One queued fault.

    Attributes:
        kind: one of `KINDS`.
        remaining: requests it still applies to.
        model: only requests for this model (None: any).
        match: only requests whose last user turn contains this text (None: any).
        after_chunks: `abort`/`stream_error`/`stream_error_raw`/`safety`/`hold`: chunks sent first (defaults 1, 1,
            1, 0, 1).
        hold_s: `hold`: the longest the stream waits, after `after_chunks` chunks, for `POST /_double/release` with
            a `match` its request contains; then it goes on by itself (the journal says which: `hold_end`).
        retry_delay_s: `rate_limit*`: the delay announced in the message and RetryInfo (not `_help_only`).
        code: `stream_error`/`stream_error_raw`: the error code inside the stream (the SDK picks the class from it).
        body: `replay`: the response body sent verbatim (split into events for streams).
        status: `replay`: the HTTP status.
        block_reason: `prompt_blocked`: `promptFeedback.blockReason`.
        thoughts: `thinking_exhausted`: thought tokens reported (None: the request's maxOutputTokens, else the
            model's output limit).
        id: a handle for the journal and the pending list.
    """

    kind: str
    remaining: int = 1
    model: str | None = None
    match: str | None = None
    after_chunks: int = 1
    retry_delay_s: float = 30.0
    code: int = 503
    body: str | None = None
    status: int = 200
    block_reason: str = "PROHIBITED_CONTENT"
    thoughts: int | None = None
    hold_s: float = DEFAULT_HOLD_S
    id: int = 0

    def applies_to(self, model: str, last_user_text: str) -> bool:
        return (self.model is None or self.model == model) and (self.match is None or self.match in last_user_text)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        if data["body"] is not None:
            data["body"] = f"<{len(self.body or '')} characters>"
        return data


def fault_from_json(data: Mapping[str, object], load_fixture: Callable[[str], str] | None = None) -> Fault:
    """Build a fault from the control API's JSON (`{"kind": ..., "count": ..., ...}`).

    Raises:
        FaultError: unknown kind or field, or a value of the wrong type.
    """
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise FaultError(f"unknown field(s): {', '.join(unknown)}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    fields: dict[str, object] = {"kind": kind, "after_chunks": 0 if kind == "safety" else 1}
    fields["remaining"] = _integer(data, "count", 1, minimum=1)
    for name in ("model", "match"):
        if data.get(name) is not None:
            if not isinstance(data[name], str) or not data[name]:
                raise FaultError(f"{name} must be a non-empty string")
            fields[name] = data[name]
    if "after_chunks" in data:
        fields["after_chunks"] = _integer(data, "after_chunks", 1, minimum=0)
    if "retry_delay_s" in data:
        delay = data["retry_delay_s"]
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise FaultError("retry_delay_s must be a number >= 0")
        fields["retry_delay_s"] = float(delay)
    if "hold_s" in data:
        hold = data["hold_s"]
        if isinstance(hold, bool) or not isinstance(hold, int | float) or not 0 < hold <= MAX_HOLD_S:
            raise FaultError(f"hold_s must be a number in (0, {MAX_HOLD_S:g}]")
        fields["hold_s"] = float(hold)
    fields["code"] = _integer(data, "code", 503, minimum=400, maximum=599)
    if data.get("block_reason", "PROHIBITED_CONTENT") not in BLOCK_REASONS:
        raise FaultError(f"block_reason must be one of {', '.join(BLOCK_REASONS)}")
    fields["block_reason"] = data.get("block_reason", "PROHIBITED_CONTENT")
    if data.get("thoughts") is not None:
        fields["thoughts"] = _integer(data, "thoughts", 0, minimum=1)
    fields["status"] = _integer(data, "status", 200, minimum=200, maximum=599)
    fields["body"] = _replay_body(data, load_fixture) if kind == "replay" else None
    return Fault(**fields)  # type: ignore[arg-type]


def _replay_body(data: Mapping[str, object], load_fixture: Callable[[str], str] | None) -> str:
    if isinstance(data.get("body"), str):
        return str(data["body"])
    fixture = data.get("fixture")
    if isinstance(fixture, str) and load_fixture is not None:
        try:
            return load_fixture(fixture)
        except (FileNotFoundError, ValueError) as exc:
            raise FaultError(f"no recorded fixture {fixture!r}: {exc}") from None
    raise FaultError("replay needs a string 'body' or the name of a recorded 'fixture'")


def _integer(data: Mapping[str, object], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise FaultError(f"{name} must be an integer {bounds}")
    return value


class FaultQueue:
    """The pending faults, oldest first."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, fault: Fault) -> Fault:
        """Queue `fault`; returns it with its id."""
        queued = replace(fault, id=next(self._ids))
        self._faults.append(queued)
        return queued

    def take(self, model: str, last_user_text: str) -> Fault | None:
        """The oldest fault that applies to this request, used once (gone when its count is spent)."""
        for index, fault in enumerate(self._faults):
            if fault.applies_to(model, last_user_text):
                if fault.remaining <= 1:
                    del self._faults[index]
                else:
                    self._faults[index] = replace(fault, remaining=fault.remaining - 1)
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def clear(self) -> None:
        self._faults.clear()
