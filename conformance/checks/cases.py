"""Upstream cases: one upstream outcome each, provoked once per run through the Gemini double and read by every
check that judges it (roomwire.conformance.shared).

A case is a row of `CASES`: the double's fault kind and its options. `upstream_case(ctx, name)` runs it the
first time a check asks: an asker and a watcher join a room of the case's own, the fault is queued with
`match=<token>` and `count=3` (only this question takes it, and a target that retries upstream, which is allowed,
meets the same fault again instead of a lucky success), and the asker asks within the AI budget. Every check
then judges the same answer: AI-002 its single ai_done, UP-00x its notice, UP-007 that the room still works,
UP-008 that no upstream text reached anyone, SEC-003 that a key echoed upstream reached no one.

Adding a case: one row here, `case_exchange(name)` in the `shares=` of each check that reads it, and
`await upstream_case(ctx, name)` in those checks; the run's AI plan counts one request per case read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Answer, ask
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.shared import Exchange, shared
from roomwire.spec.limits import HALF_OPEN_DEADLINE_S


@dataclass(frozen=True)
class UpstreamCase:
    """A fault the double plays for one question: `kind` and its options (roomwire.gemini_double.faults)."""

    name: str
    kind: str
    what: str
    options: Mapping[str, Any] = field(default_factory=dict)
    slow: bool = False  # it lasts the target's ai_timeout_s (UP-004)


@dataclass(frozen=True)
class CaseResult:
    """What the asker and the watcher received for one case; `marker` is text upstream sent that must stay there."""

    case: UpstreamCase
    asker: Client
    watcher: Client
    answer: Answer
    token: str
    marker: str


def _error_body(code: int, status: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "status": status}})


#: The marker is appended to a replayed body's message at run time (`{marker}`), unique per run. The double's own
#: bodies copy Google's (docs/gemini-double.md); their texts are in roomwire.conformance.upstream's phrase lists.
CASES: Mapping[str, UpstreamCase] = MappingProxyType(
    {
        c.name: c
        for c in (
            UpstreamCase(
                "server_error",
                "replay",
                "an upstream 500",
                {"status": 500, "body": _error_body(500, "INTERNAL", "An internal error has occurred. {marker}")},
            ),
            UpstreamCase("rate_limit", "rate_limit", "an upstream 429 with retryDelay 17s", {"retry_delay_s": 17}),
            UpstreamCase("rate_limit_help_only", "rate_limit_help_only", "an upstream 429 without RetryInfo"),
            UpstreamCase(
                "rate_limit_per_day",
                "rate_limit_per_day",
                "an upstream 429 for the per-day quota, retryDelay 23s ('retry in 23.6s')",
                {"retry_delay_s": 23.6},
            ),
            UpstreamCase("key_echo", "key_echo", "an upstream 403 that echoes the key in its message and details"),
            UpstreamCase("invalid_key_debug", "invalid_key_debug", "an upstream 400 whose DebugInfo holds the key"),
            UpstreamCase("stream_error", "stream_error", "a 503 inside the stream", {"code": 503}),
            UpstreamCase("stream_error_raw", "stream_error_raw", "a 503 in the stream, a raw JSON tail", {"code": 503}),
            UpstreamCase("abort", "abort", "a stream cut after 2 chunks", {"after_chunks": 2}),
            UpstreamCase("stall", "stall", "an upstream that sends nothing", slow=True),
            UpstreamCase("safety", "safety", "an answer ended with finishReason SAFETY"),
            UpstreamCase("prompt_blocked", "prompt_blocked", "a prompt blocked (promptFeedback, no finishReason)"),
            UpstreamCase("no_finish", "no_finish", "a stream without finishReason"),
            UpstreamCase("thinking_exhausted", "thinking_exhausted", "a thinking answer cut at MAX_TOKENS before text"),
        )
    }
)


def stall_deadline(ctx: CheckContext) -> float:
    """UP-004: the advertised ai_timeout_s (at most SPEC.md's 60 s), plus slack for the notice to arrive."""
    return min(float(ctx.limits.ai_timeout_s), HALF_OPEN_DEADLINE_S) + ctx.timeouts(5.0)


async def _run(ctx: CheckContext, case: UpstreamCase) -> CaseResult:
    room = ctx.room()
    asker = await ctx.driver.join(room, "U")
    watcher = await ctx.driver.join(room, "W")
    token, marker = ctx.token(case.name.replace("_", "")), ctx.token("upstreamtext")
    options = {k: v.replace("{marker}", marker) if isinstance(v, str) else v for k, v in case.options.items()}
    await ctx.upstream.fault(case.kind, match=token, count=3, **options)
    within = stall_deadline(ctx) if case.slow else None
    answer = await ask(ctx, asker, f"Tell me about pinball. {token} [[chunks=4]]", within=within)
    return CaseResult(case, asker, watcher, answer, token, marker)


_EXCHANGES: dict[str, Exchange[CaseResult]] = {}


def case_exchange(name: str) -> Exchange[CaseResult]:
    """The shared exchange that runs case `name` (one per case, so each is provoked once per run)."""
    if name not in _EXCHANGES:
        case = CASES[name]

        async def make(ctx: CheckContext) -> CaseResult:
            return await _run(ctx, case)

        _EXCHANGES[name] = Exchange(f"up-{name.replace('_', '')}", make, doc=case.what)
    return _EXCHANGES[name]


def case_exchanges(*names: str) -> tuple[Exchange[CaseResult], ...]:
    return tuple(case_exchange(name) for name in names)


async def upstream_case(ctx: CheckContext, name: str) -> CaseResult:
    """The result of case `name` (see the module docstring)."""
    return await shared(ctx, case_exchange(name))


def expect_failure(ctx: CheckContext, answer: Answer, client: Client, what: str, code: str, status: str) -> None:
    """An error notice `code` before exactly one ai_done `status`, and no chunk after the notice."""
    notices = [e for e in answer.errors if frames.data(e).get("code") == code]
    done_ok = len(answer.dones) == 1 and answer.status == status
    if not notices or not done_ok or notices[0].index > answer.dones[0].index:
        raise ctx.violation(f"after {what}: error {code!r}, then one ai_done with status {status!r}", client.describe())
    after = [c for c in answer.chunks if c.index > notices[0].index]
    if after or answer.late_chunks:
        raise ctx.violation(f"no ai_chunk after the {code!r} notice", frames.summarize(after + answer.late_chunks))


async def expect_case(ctx: CheckContext, name: str, code: str, status: str = "error") -> CaseResult:
    """Case `name`'s answer: the notice `code`, then one ai_done `status` (`expect_failure`)."""
    result = await upstream_case(ctx, name)
    expect_failure(ctx, result.answer, result.asker, result.case.what, code, status)
    return result
