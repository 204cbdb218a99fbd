"""SPEC.md §8, upstream failures: UP-001 … UP-008, provoked through the Gemini double's fault queue.

Every fault is queued with `match=<token>` and `count=3`: only this check's question takes it, and a target
that retries upstream (allowed) meets the same fault again instead of a lucky success.
"""

from __future__ import annotations

import json
from typing import Any

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Answer, ask, gather_or_cancel, members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import Need, requirement
from roomwire.conformance.upstream import UPSTREAM_ERROR_PHRASES
from roomwire.spec.limits import HALF_OPEN_DEADLINE_S

DOUBLE = [Need.DOUBLE]


async def provoke(ctx: CheckContext, client: Client, kind: str, *, within: float | None = None, **extra: Any) -> Answer:
    """Ask a question that the double answers with fault `kind`; returns what the asker received."""
    token = ctx.token(kind.replace("_", ""))
    await ctx.upstream.fault(kind, match=token, count=3, **extra)
    return await ask(ctx, client, f"Tell me about pinball. {token} [[chunks=4]]", within=within)


def expect_failure(ctx: CheckContext, answer: Answer, client: Client, what: str, code: str, status: str) -> None:
    """An error notice `code` before exactly one ai_done `status`, and no chunk after the notice."""
    notices = [e for e in answer.errors if frames.data(e).get("code") == code]
    done_ok = len(answer.dones) == 1 and answer.status == status
    if not notices or not done_ok or notices[0].index > answer.dones[0].index:
        raise ctx.violation(f"after {what}: error {code!r}, then one ai_done with status {status!r}", client.describe())
    after = [c for c in answer.chunks if c.index > notices[0].index]
    if after or answer.late_chunks:
        raise ctx.violation(f"no ai_chunk after the {code!r} notice", frames.summarize(after + answer.late_chunks))


@requirement("UP-001", needs=DOUBLE)
async def upstream_429_gives_upstream_rate_limited_with_retry_info(ctx: CheckContext) -> None:
    """An upstream 429 gives upstream_rate_limited, retry_after from RetryInfo (60 without), then ai_done 'error'."""
    (ann,) = await members(ctx, 1)
    answer = await provoke(ctx, ann, "rate_limit", retry_delay_s=17)
    expect_failure(ctx, answer, ann, "an upstream 429 with retryDelay 17s", "upstream_rate_limited", "error")
    retry = [
        frames.data(e).get("retry_after")
        for e in answer.errors
        if frames.data(e).get("code") == "upstream_rate_limited"
    ]
    if retry[0] != 17:
        raise ctx.violation("retry_after 17, RetryInfo's retryDelay '17s'", f"retry_after {retry[0]!r}")
    body = {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    answer = await provoke(ctx, ann, "replay", status=429, body=json.dumps(body))
    expect_failure(ctx, answer, ann, "an upstream 429 without RetryInfo", "upstream_rate_limited", "error")
    retry = [
        frames.data(e).get("retry_after")
        for e in answer.errors
        if frames.data(e).get("code") == "upstream_rate_limited"
    ]
    if retry[0] != 60:
        raise ctx.violation("retry_after 60 when the 429 has no RetryInfo", f"retry_after {retry[0]!r}")
    ctx.note("retry_after 17 from RetryInfo, 60 without it")


@requirement("UP-002", needs=DOUBLE)
async def upstream_http_errors_give_upstream_error(ctx: CheckContext) -> None:
    """500, 503, 400 (bad key), 403 and an in-stream error each give upstream_error, then ai_done 'error'."""
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("server_error", {}),
        ("unavailable", {}),
        ("invalid_key", {}),
        ("key_echo", {}),
        ("stream_error", {"code": 500}),
    ]
    clients = [await ctx.driver.join(ctx.room(n + 1), f"U{n}") for n in range(len(kinds))]
    answers = await gather_or_cancel(
        *(provoke(ctx, c, kind, **extra) for c, (kind, extra) in zip(clients, kinds, strict=True))
    )
    for client, (kind, _), answer in zip(clients, kinds, answers, strict=True):
        expect_failure(ctx, answer, client, f"upstream fault {kind}", "upstream_error", "error")
    ctx.note("500, 503, 400, 403 and an in-stream error: upstream_error each")


@requirement("UP-003", needs=DOUBLE)
async def a_cut_stream_gives_upstream_error_after_the_chunks(ctx: CheckContext) -> None:
    """A stream aborted after two chunks gives, after those chunks, upstream_error and ai_done 'error'."""
    (ann,) = await members(ctx, 1)
    answer = await provoke(ctx, ann, "abort", after_chunks=2)
    expect_failure(ctx, answer, ann, "a stream cut after 2 chunks", "upstream_error", "error")
    ctx.note(f"{len(answer.chunks)} chunks forwarded, then upstream_error")


@requirement("UP-004", needs=DOUBLE, slow=True)
async def a_silent_upstream_times_out_with_upstream_timeout(ctx: CheckContext) -> None:
    """An upstream that sends nothing gives upstream_timeout within ai_timeout_s, then ai_done 'error'."""
    (ann,) = await members(ctx, 1)
    limit = min(float(ctx.limits.ai_timeout_s), HALF_OPEN_DEADLINE_S)
    started = ctx.session.clock.now()
    answer = await provoke(ctx, ann, "stall", within=limit + ctx.timeouts(5.0))
    expect_failure(ctx, answer, ann, f"an upstream silent for over ai_timeout_s={limit:g}", "upstream_timeout", "error")
    ctx.note(f"upstream_timeout after {ctx.session.clock.now() - started:.1f} s (ai_timeout_s {limit:g})")


@requirement("UP-005", needs=DOUBLE)
async def a_blocked_answer_gives_ai_blocked(ctx: CheckContext) -> None:
    """An answer upstream ends with finishReason SAFETY gives ai_blocked, then ai_done 'blocked'."""
    (ann,) = await members(ctx, 1)
    answer = await provoke(ctx, ann, "safety")
    expect_failure(ctx, answer, ann, "finishReason SAFETY", "ai_blocked", "blocked")
    ctx.note("ai_blocked, then ai_done 'blocked'")


@requirement("UP-006", needs=DOUBLE)
async def a_stream_without_finish_reason_gives_ai_incomplete(ctx: CheckContext) -> None:
    """A stream that ends cleanly without finishReason gives ai_incomplete, then ai_done 'error'."""
    (ann,) = await members(ctx, 1)
    answer = await provoke(ctx, ann, "no_finish")
    expect_failure(ctx, answer, ann, "a stream without finishReason", "ai_incomplete", "error")
    ctx.note("ai_incomplete, then ai_done 'error'")


@requirement("UP-007", needs=DOUBLE)
async def the_room_keeps_working_after_upstream_failures(ctx: CheckContext) -> None:
    """After a 500 and a 429 for Ann, Ann and Bob still chat both ways and Ann's next question is answered."""
    ann, bob = await members(ctx, 2)
    for kind in ("server_error", "rate_limit"):
        await provoke(ctx, ann, kind)
    for sender, other in ((ann, bob), (bob, ann)):
        text = ctx.token("after")
        await sender.say(text)
        await ctx.expect(other, frames.user_msg(text), f"{sender.label}'s message after the upstream failures")
        await ctx.expect(sender, frames.user_msg(text), f"{sender.label}'s own message after the upstream failures")
    answer = await ask(ctx, ann, f"Say hi. {ctx.token('again')}")
    if answer.status not in ("ok", "truncated"):
        raise ctx.violation("Ann's next question is answered (ai_done 'ok')", ann.describe())
    ctx.note("chat both ways and a new answer after a 500 and a 429")


@requirement("UP-008", needs=DOUBLE)
async def upstream_error_text_never_reaches_a_client(ctx: CheckContext) -> None:
    """No frame or close reason carries upstream error text, whatever the fault."""
    ann, bob = await members(ctx, 2)
    marker = ctx.token("upstreamtext")
    body = {"error": {"code": 500, "message": f"Internal failure {marker}", "status": "INTERNAL"}}
    faults: list[tuple[str, dict[str, Any]]] = [("replay", {"status": 500, "body": json.dumps(body)})]
    for kind, extra in faults + [(kind, {}) for kind in ("key_echo", "server_error", "rate_limit", "unavailable")]:
        await provoke(ctx, ann, kind, **extra)
    for client in (ann, bob):
        texts = [item.raw for item in client.received] + [client.close_reason or ""]
        for phrase in (marker, *UPSTREAM_ERROR_PHRASES):
            if any(phrase in text for text in texts):
                found = next(frames.summary(i) for i in client.received if phrase in i.raw)
                raise ctx.violation("no upstream error text in any frame", f"{client.label} got {phrase!r}: {found}")
    ctx.note("5 upstream errors, none of their text forwarded")
