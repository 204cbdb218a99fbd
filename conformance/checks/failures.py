"""SPEC.md §8, upstream failures: UP-001 … UP-008, each judged on the shared upstream cases (checks/cases.py):
every fault is provoked once per run, through the Gemini double's fault queue, and read by every check it serves.
"""

from __future__ import annotations

from roomwire.conformance import frames
from roomwire.conformance.checks.cases import (
    CASES,
    CaseResult,
    case_exchanges,
    expect_case,
    stall_deadline,
    upstream_case,
)
from roomwire.conformance.checks.common import ask
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import Need, requirement
from roomwire.conformance.upstream import UPSTREAM_ERROR_PHRASES

DOUBLE = [Need.DOUBLE]


def _retry_after(result: CaseResult) -> object:
    notices = [e for e in result.answer.errors if frames.data(e).get("code") == "upstream_rate_limited"]
    return frames.data(notices[0]).get("retry_after")


#: UP-001's 429s and the retry_after each must give: RetryInfo's delay rounded up, 60 without one. The per-day
#: body says "retry in 23.6s" and RetryInfo "23s" (Google's rounding down): RetryInfo is what counts.
RATE_LIMITS = {"rate_limit": 17, "rate_limit_help_only": 60, "rate_limit_per_day": 23}


@requirement("UP-001", needs=DOUBLE, shares=case_exchanges(*RATE_LIMITS))
async def upstream_429_gives_upstream_rate_limited_with_retry_info(ctx: CheckContext) -> None:
    """An upstream 429 gives upstream_rate_limited, retry_after from RetryInfo (60 without), then ai_done 'error':
    the per-minute quota's body, one with only a Help detail, and one for the per-day quota."""
    for name, expected in RATE_LIMITS.items():
        result = await expect_case(ctx, name, "upstream_rate_limited")
        if (retry := _retry_after(result)) != expected:
            why = "no RetryInfo" if expected == 60 else f"RetryInfo's retryDelay '{expected}s'"
            raise ctx.violation(f"retry_after {expected} after {result.case.what} ({why})", f"retry_after {retry!r}")
    ctx.note("retry_after 17 and 23 from RetryInfo (per minute, per day), 60 without it")


HTTP_ERRORS = ("server_error", "key_echo", "invalid_key_debug", "stream_error")


@requirement("UP-002", needs=DOUBLE, shares=case_exchanges(*HTTP_ERRORS))
async def upstream_http_errors_give_upstream_error(ctx: CheckContext) -> None:
    """An upstream 500, a 403 and a 400 that echo the key and a 503 inside the stream each give upstream_error,
    then ai_done 'error'."""
    for name in HTTP_ERRORS:
        await expect_case(ctx, name, "upstream_error")
    ctx.note("500, 403, 400 and an in-stream 503: upstream_error each")


CUT_STREAMS = ("abort", "stream_error", "stream_error_raw")


@requirement("UP-003", needs=DOUBLE, shares=case_exchanges(*CUT_STREAMS))
async def a_cut_stream_gives_upstream_error_after_the_chunks(ctx: CheckContext) -> None:
    """A stream aborted after two chunks, and one that ends in an error (SSE-framed, or as a raw JSON tail) after a
    chunk, give after those chunks upstream_error and ai_done 'error'."""
    counts = []
    for name in CUT_STREAMS:
        result = await expect_case(ctx, name, "upstream_error")
        counts.append(str(len(result.answer.chunks)))
    ctx.note(f"{', '.join(counts)} chunks forwarded, then upstream_error (cut, SSE error, raw error tail)")


@requirement("UP-004", needs=DOUBLE, slow=True, shares=case_exchanges("stall"))
async def a_silent_upstream_times_out_with_upstream_timeout(ctx: CheckContext) -> None:
    """An upstream that sends nothing gives upstream_timeout within ai_timeout_s, then ai_done 'error'."""
    await expect_case(ctx, "stall", "upstream_timeout")
    ctx.note(f"upstream_timeout within {stall_deadline(ctx):.0f} s (ai_timeout_s {ctx.limits.ai_timeout_s})")


BLOCKS = ("safety", "prompt_blocked")


@requirement("UP-005", needs=DOUBLE, shares=case_exchanges(*BLOCKS))
async def a_blocked_answer_gives_ai_blocked(ctx: CheckContext) -> None:
    """An answer upstream ends with finishReason SAFETY, and a prompt blocked by promptFeedback.blockReason (no
    candidates, no finishReason), each give ai_blocked, then ai_done 'blocked'."""
    for name in BLOCKS:
        await expect_case(ctx, name, "ai_blocked", "blocked")
    ctx.note("ai_blocked, then ai_done 'blocked', for finishReason SAFETY and for a blocked prompt")


@requirement("UP-006", needs=DOUBLE, shares=case_exchanges("no_finish"))
async def a_stream_without_finish_reason_gives_ai_incomplete(ctx: CheckContext) -> None:
    """A stream that ends cleanly without finishReason gives ai_incomplete, then ai_done 'error'."""
    await expect_case(ctx, "no_finish", "ai_incomplete")
    ctx.note("ai_incomplete, then ai_done 'error'")


@requirement("UP-007", needs=DOUBLE, ai=1, shares=case_exchanges("server_error", "rate_limit"))
async def the_room_keeps_working_after_upstream_failures(ctx: CheckContext) -> None:
    """After an upstream 500 and a 429, asker and watcher still chat both ways, and the 429's asker is answered."""
    for name in ("server_error", "rate_limit"):
        result = await upstream_case(ctx, name)
        for sender, other in ((result.asker, result.watcher), (result.watcher, result.asker)):
            text = ctx.token("after")
            await sender.say(text)
            await ctx.expect(other, frames.user_msg(text), f"{sender.label}'s message after {result.case.what}")
    answer = await ask(ctx, result.asker, f"Say hi. {ctx.token('again')}")
    if answer.status not in ("ok", "truncated"):
        raise ctx.violation(f"the asker's next question after {result.case.what} is answered", result.asker.describe())
    ctx.note("chat both ways after a 500 and a 429, and a new answer after the 429")


@requirement("UP-008", needs=DOUBLE, shares=case_exchanges(*CASES))
async def upstream_error_text_never_reaches_a_client(ctx: CheckContext) -> None:
    """No frame or close reason carries upstream error text, whatever the fault (every upstream case of the run)."""
    for name in CASES:
        result = await upstream_case(ctx, name)
        for client in (result.asker, result.watcher):
            texts = [item.raw for item in client.received] + [client.close_reason or ""]
            for phrase in (result.marker, *UPSTREAM_ERROR_PHRASES):
                if any(phrase in text for text in texts):
                    found = next((frames.summary(i) for i in client.received if phrase in i.raw), client.close_reason)
                    raise ctx.violation(
                        "no upstream error text in any frame", f"{client.label} got {phrase!r}: {found}"
                    )
    ctx.note(f"{len(CASES)} upstream outcomes, none of their text forwarded")
