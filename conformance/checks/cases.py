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


#: The marker is appended to a replayed body's message at run time (`{marker}`), unique per run.
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
            UpstreamCase(
                "rate_limit_plain",
                "replay",
                "an upstream 429 without RetryInfo",
                {"status": 429, "body": _error_body(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted.")},
            ),
            UpstreamCase("key_echo", "key_echo", "an upstream 403 whose body echoes the key"),
            UpstreamCase("stream_error", "stream_error", "a 503 inside the stream", {"code": 503}),
            UpstreamCase("abort", "abort", "a stream cut after 2 chunks", {"after_chunks": 2}),
            UpstreamCase("stall", "stall", "an upstream that sends nothing", slow=True),
            UpstreamCase("safety", "safety", "an answer ended with finishReason SAFETY"),
            UpstreamCase("no_finish", "no_finish", "a stream without finishReason"),
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
