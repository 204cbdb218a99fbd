"""SPEC.md §10, limits: LIMIT-001 … LIMIT-006, sized by the limits the target advertised (CONN-006)."""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer, flood, members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import Need, requirement

#: Frames the suite sends at most to provoke rate limiting; a target with a larger burst is not flooded.
MAX_FLOOD = 200
#: Members the suite joins at most to fill a room (LIMIT-006).
MAX_FILL = 20
#: AI requests the suite sends at most to drain the AI budget (LIMIT-005).
MAX_DRAIN = 150


def _announced_length_frame(length: int, payload: bytes) -> bytes:
    """A masked text frame header announcing `length` bytes, followed by only `payload` (all-zero mask)."""
    return bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length) + b"\x00\x00\x00\x00" + payload


@requirement("LIMIT-001")
async def oversized_frames_close_with_1009_and_spare_the_others(ctx: CheckContext) -> None:
    """A frame over max_frame_bytes closes that connection with 1009, also when announced but not yet sent;
    the other members keep chatting."""
    room = ctx.room()
    ann, bob = await members(ctx, 2, room=room)
    big = await ctx.driver.join(room, "Big")
    big_frame = {"type": "user_msg", "nickname": "Big", "content": "x" * (ctx.limits.max_frame_bytes + 1)}
    await big.send_text(json.dumps(big_frame))
    await ctx.expect_close(big, [1009], f"a {ctx.limits.max_frame_bytes + 1}-byte frame")
    huge = await ctx.driver.join(room, "Huge")
    transport = huge.ws.transport
    huge.transcript.sent("<frame header announcing 16 MiB, then 2 x max_frame_bytes of spaces, then silence>")
    transport.write(_announced_length_frame(16 * 1024 * 1024, b" " * (2 * ctx.limits.max_frame_bytes)))
    await ctx.expect_close(huge, [1009], "a frame announcing 16 MiB (the target must not wait to read it whole)")
    text = ctx.token("still")
    await ann.say(text)
    await ctx.expect(bob, frames.user_msg(text), "Ann's message after the oversized frames")
    ctx.note("1009 for a sent and for an announced oversized frame; the room kept working")


@requirement("LIMIT-002")
async def overlong_content_and_history_get_too_long(ctx: CheckContext) -> None:
    """Content or a history item over max_content_chars, or 51 history items, get too_long (and a rejected ai_done)."""
    (ann,) = await members(ctx, 1)
    over = "가" * (ctx.limits.max_content_chars + 1)
    item = {"role": "user", "content": "x"}
    cases: list[tuple[str, dict[str, Any], bool]] = [
        ("a user_msg content", {"type": "user_msg", "content": over}, False),
        ("an ai_msg content", {"type": "ai_msg", "content": over}, True),
        ("a history item", {"type": "ai_msg", "content": "hi", "history": [{"role": "user", "content": over}]}, True),
        ("51 history items", {"type": "ai_msg", "content": "hi", "history": [item] * 51}, True),
    ]
    pacer = Pacer(ctx)
    for what, payload, is_ai in cases:
        await pacer.wait()
        since = ann.mark()
        await ann.send_json(payload)
        notice = await ctx.expect(ann, frames.system("error"), f"an error for {what} over the limit", since=since)
        if frames.data(notice).get("code") != "too_long":
            raise ctx.violation(f"too_long for {what} over the limit", frames.summary(notice))
        if is_ai:
            done = await ctx.expect(ann, frames.ai_done(), f"an ai_done for the refused ai_msg ({what})", since=since)
            if frames.data(done).get("status") != "rejected":
                raise ctx.violation("ai_done 'rejected'", frames.summary(done))
        await ctx.stays_open(ann)
    ctx.note("too_long for content, history item and history length; connection kept")


@requirement("LIMIT-003")
async def a_flood_is_dropped_with_rate_limited_once_per_second(ctx: CheckContext) -> None:
    """Frames beyond the burst are dropped with rate_limited (retry_after, at most one notice per second)."""
    limits = ctx.limits
    if limits.burst + limits.burst // 2 + 1 > MAX_FLOOD:
        raise ctx.skip(f"the advertised burst {limits.burst} is too large to exceed within {MAX_FLOOD} frames")
    flooder, bob = await members(ctx, 2)
    seen = bob.mark()
    sent = await flood(ctx, flooder)
    await asyncio.sleep(ctx.timeouts.settle)
    took = sent.ended - sent.started
    if sent.inconclusive:
        raise ctx.skip(f"the suite sent {sent.sent} frames in {took:.2f} s, too slowly to overflow the bucket")
    if not sent.notices:
        expected = (
            f"rate_limited after {sent.sent} frames in {took:.2f} s (burst {limits.burst}, {limits.rate_per_s}/s)"
        )
        raise ctx.violation(expected, flooder.describe())
    times = [n.at for n in sent.notices if n.at is not None]
    bursts = [round(b - a, 2) for a, b in zip(times, times[1:], strict=False) if b - a < 0.8]
    if bursts:
        raise ctx.violation(
            "at most one rate_limited notice per second", f"{len(sent.notices)} notices, gaps {bursts} s"
        )
    allowed = limits.burst + int(limits.rate_per_s * (took + 1.0)) + 2
    delivered = len(bob.find(frames.user_msg(containing=sent.token), seen))
    if delivered > allowed:
        raise ctx.violation(f"frames beyond the budget dropped (at most {allowed} broadcast)", f"{delivered} broadcast")
    await ctx.stays_open(flooder)
    ctx.note(f"{sent.sent} frames in {took:.2f} s: {delivered} broadcast, {len(sent.notices)} notice(s), kept open")


@requirement("LIMIT-004")
async def a_persistent_flood_closes_with_1008_if_at_all(ctx: CheckContext) -> None:
    """A client that keeps flooding may be closed; if it is, the close code is 1008."""
    limits = ctx.limits
    if limits.burst * 3 + 5 > MAX_FLOOD:
        raise ctx.skip(f"the advertised burst {limits.burst} is too large to flood within {MAX_FLOOD} frames")
    (flooder,) = await members(ctx, 1)
    await flood(ctx, flooder, over=limits.burst * 2 + 5, cap=MAX_FLOOD)
    if not await flooder.wait_closed(ctx.timeouts.frame):
        ctx.note("the target keeps persistent flooders connected (allowed: MAY)")
        return
    if not flooder.close_received or flooder.close_code != 1008:
        raise ctx.violation("a flooder closed with 1008", f"closed with {flooder.close_code} {flooder.close_reason!r}")
    ctx.note("closed with 1008")


def _drain_cap(ctx: CheckContext) -> int:
    """Enough questions to spend the advertised budget even if nothing else used it (MAX_DRAIN when the target
    advertises none: its real budget is unknown), never more than MAX_DRAIN."""
    if not ctx.session.limits_advertised:
        return MAX_DRAIN
    return min(MAX_DRAIN, ctx.limits.ai_budget_rpm + 5)


async def _drain(ctx: CheckContext, client: Client, stop: asyncio.Event, sent: list[int]) -> None:
    """Ask until the target answers ai_quota; each question counts in the run's AI budget as sent (no pacing:
    the drain wants the refusal)."""
    budget = ctx.session.ai
    while not stop.is_set() and sum(sent) < _drain_cap(ctx):
        since = client.mark()
        sent.append(1)
        admission = budget.spend()
        await client.ask(f"Hi. {ctx.token('drain')} [[chunks=2]] [[sentences=1]]")
        await client.wait_for(frames.ai_done(), ctx.timeouts.ai, since)
        quota = client.find(frames.error("ai_quota"), since)
        if quota:
            budget.refused(admission, frames.data(quota[0]).get("retry_after"))
            stop.set()


@requirement("LIMIT-005", exclusive=True, order=10)
async def the_ai_budget_answers_ai_quota_when_spent(ctx: CheckContext) -> None:
    """Past ai_budget_rpm accepted questions a minute, ai_msg gets ai_quota (retry_after) and ai_done 'rejected'.

    It runs after every other check that asks (they are paced within the budget) and spends what is left of the
    window; the note says how much, since the target's budget stays spent for up to a minute after the run."""
    budget = ctx.limits.ai_budget_rpm
    if budget + 5 > MAX_DRAIN:
        raise ctx.skip(f"the advertised ai_budget_rpm {budget} is too large to spend within {MAX_DRAIN} questions")
    own = ctx.session.ai.in_window()
    drainers = [await ctx.driver.join(ctx.room(), f"D{n}") for n in range(5)]
    stop, sent = asyncio.Event(), list[int]()
    await asyncio.gather(*(_drain(ctx, c, stop, sent) for c in drainers))
    quota = [(c, n) for c in drainers for n in c.find(frames.error("ai_quota"))]
    if not quota:
        said = f"ai_budget_rpm {budget}" if ctx.session.limits_advertised else "no budget advertised"
        raise ctx.violation(f"ai_quota within {sum(sent)} questions ({said})", "no ai_quota notice")
    client, notice = quota[0]
    retry = frames.data(notice).get("retry_after")
    done = await client.wait_for(frames.ai_done(), ctx.timeouts.frame, notice.index)
    if not isinstance(retry, int) or retry < 1 or done is None or frames.data(done).get("status") != "rejected":
        raise ctx.violation("ai_quota with retry_after >= 1, then ai_done 'rejected'", client.describe(notice.index))
    ctx.note(
        f"ai_quota after {sum(sent)} drain question(s), with {own} of the suite's own questions in the last minute; "
        f"retry_after {retry}: the target's AI budget stays spent for up to that long after this run"
    )


@requirement("LIMIT-005", needs=[Need.DOUBLE], exclusive=True, order=11)
async def a_question_over_the_budget_never_reaches_upstream(ctx: CheckContext) -> None:
    """Once the budget is spent, a refused ai_msg causes no upstream call (the double's journal)."""
    (ann,) = await members(ctx, 1)
    stop, sent = asyncio.Event(), list[int]()
    await _drain(ctx, ann, stop, sent)
    if not stop.is_set():
        raise ctx.skip(f"no ai_quota within {sum(sent)} questions, so no refused question to trace")
    token = ctx.token("overbudget")
    since = ann.mark()
    admission = ctx.session.ai.spend()
    await ann.ask(f"One more? {token}")
    await ann.wait_for(frames.ai_done(), ctx.timeouts.ai, since)
    quota = ann.find(frames.error("ai_quota"), since)
    if not quota:
        raise ctx.skip("the budget recovered before the traced question")
    ctx.session.ai.refused(admission, frames.data(quota[0]).get("retry_after"))
    if await ctx.upstream.journal(token):
        raise ctx.violation("no upstream call for a question refused with ai_quota", "the double's journal has one")
    ctx.note("the refused question never reached upstream")


@requirement("LIMIT-006")
async def a_full_room_refuses_with_room_full_and_1013(ctx: CheckContext) -> None:
    """A connection over room_capacity is told room_full, closed with 1013, never welcomed nor announced."""
    capacity = ctx.limits.room_capacity
    if not ctx.session.limits_advertised or capacity > MAX_FILL:
        raise ctx.skip(
            f"room_capacity {capacity} ({'advertised' if ctx.session.limits_advertised else 'not advertised'}) "
            f"is more than the suite fills ({MAX_FILL})"
        )
    room = ctx.room()
    inside = [await ctx.driver.join(room, f"M{n}") for n in range(capacity)]
    since = inside[0].mark()
    extra = await ctx.driver.connect(room, nickname="Extra")
    await ctx.expect(extra, frames.error("room_full"), "room_full for the member over capacity")
    await ctx.expect_close(extra, [1013], "over room_capacity")
    if extra.find(frames.system("welcome")):
        raise ctx.violation("no welcome for a connection over capacity", extra.describe())
    await ctx.expect_none([inside[0]], frames.join("Extra"), "a join for the refused connection", since=[since])
    ctx.note(f"member {capacity + 1} refused with room_full and 1013")


#: Control frames the suite sends at most in one flood (LIMIT-007); a target with a larger burst is not flooded.
MAX_CONTROL_FLOOD = 2000
_PING, _PONG, _TEXT, _CONTINUATION = 0x9, 0xA, 0x1, 0x0


def masked_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A short client frame (RFC 6455 §5.2: masked; here with an all-zero mask, so the payload goes as it is)."""
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload


@requirement("LIMIT-007")
async def control_frame_floods_close_with_1008(ctx: CheckContext) -> None:
    """Pings within control_burst are all answered; a flood of pings, of unsolicited pongs or of empty message
    fragments closes the flooder with 1008, and the room keeps working."""
    burst = ctx.limits.control_burst
    count = 3 * burst + 20
    if count > MAX_CONTROL_FLOOD:
        raise ctx.skip(f"the advertised control_burst {burst} is too large to exceed within {MAX_CONTROL_FLOOD} frames")
    room = ctx.room()
    ann, bob = await members(ctx, 2, room=room)
    within = max(1, burst - 5)  # the suite's own keepalive pings may have spent a few tokens
    ann.transcript.sent(f"<{within} pings at once, within control_burst {burst}>")
    ann.ws.transport.write(masked_frame(_PING, b"within") * within)
    await ctx.stays_open(ann)
    floods = [
        ("pings", masked_frame(_PING, b"flood") * count),
        ("unsolicited pongs", masked_frame(_PONG, b"flood") * count),
        ("empty message fragments", masked_frame(_TEXT, fin=False) + masked_frame(_CONTINUATION, fin=False) * count),
    ]
    for what, data in floods:
        flooder = await ctx.driver.join(room, "Flood")
        flooder.transcript.sent(f"<{count} {what} at once>")
        flooder.ws.transport.write(data)
        await ctx.expect_close(flooder, [1008], f"after {count} {what} at once (control_burst {burst})")
    text = ctx.token("after-floods")
    await ann.say(text)
    await ctx.expect(bob, frames.user_msg(text), "Ann's message after the control-frame floods")
    ctx.note(f"{within} pings answered; {count} pings, pongs and empty fragments each closed with 1008; room kept")
