"""SPEC.md §5, room chat: CHAT-001 … CHAT-006 (the room model in `model` checks them under churn)."""

from __future__ import annotations

import asyncio
import time

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer, members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import requirement

#: Text a server might be tempted to escape, trim or normalize; CHAT-002 wants it back exactly.
TRICKY = "  <b>&amp; 'q' \"dq\" \\ </b>\t🎉 한국어 e\u0301 \u200b끝  "
DAY_MS = 86_400_000


@requirement("CHAT-001")
async def broadcast_reaches_every_member_sender_included(ctx: CheckContext) -> None:
    """A's message reaches B and A; B's reaches A and B."""
    ann, bob = await members(ctx, 2)
    for sender, other in ((ann, bob), (bob, ann)):
        text = ctx.token("hello")
        await sender.say(text)
        await ctx.expect(other, frames.user_msg(text), f"{sender.label}'s message (A -> B)")
        await ctx.expect(sender, frames.user_msg(text), "its own message back (A -> A)")
    ctx.note("A->B, A->A, B->A, B->B")


@requirement("CHAT-002")
async def broadcast_carries_bound_nickname_exact_content_seq_ts_and_id(ctx: CheckContext) -> None:
    """The broadcast has the bound nickname, the content byte for byte, an integer seq, a ms ts and the id."""
    ann, bob = await members(ctx, 2)
    content = TRICKY + ctx.token("exact")
    await ann.say(content, id="m-1")
    got = frames.data(await ctx.expect(bob, frames.user_msg(content), "Ann's message with its content unchanged"))
    now_ms = time.time() * 1000
    problems = []
    if got.get("nickname") != "Ann":
        problems.append(f"nickname {got.get('nickname')!r}")
    seq, ts = got.get("seq"), got.get("ts")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        problems.append(f"seq {seq!r}")
    if not isinstance(ts, int) or isinstance(ts, bool) or abs(ts - now_ms) > DAY_MS:
        problems.append(f"ts {ts!r} (not milliseconds since the epoch near now)")
    if got.get("id") != "m-1":
        problems.append(f"id {got.get('id')!r}")
    if problems:
        raise ctx.violation("nickname 'Ann', an integer seq >= 1, ts in ms, id 'm-1'", ", ".join(problems))
    ctx.note("nickname, exact content, seq, ts and id present")


@requirement("CHAT-003")
async def room_events_stay_in_their_room(ctx: CheckContext) -> None:
    """Messages, joins and leaves of one room never reach members of another (room names are case-sensitive)."""
    room = ctx.room(1)
    ann, bob = await members(ctx, 2, room=room)
    outsider = await ctx.driver.join(ctx.room(2), "Out")
    cased = await ctx.driver.join(room.upper(), "Upper")
    text = ctx.token("secret")
    await ann.say(text)
    await ctx.expect(bob, frames.user_msg(text), "Ann's message in her own room")
    visitor = ctx.token("v")[:32]
    guest = await ctx.driver.join(room, visitor)
    await guest.close(ctx.timeouts.close)
    await bob.wait_for(frames.leave(visitor), ctx.timeouts.frame)
    await ctx.expect_none(
        [outsider, cased], frames.either(frames.mentions(text), frames.mentions(visitor)), "anything from another room"
    )
    ctx.note(f"nothing leaked to another room or to {room.upper()!r}")


async def _send_series(ctx: CheckContext, client: Client, tag: str, count: int) -> list[str]:
    texts = [f"{ctx.token(tag)}#{i}" for i in range(count)]
    pacer = Pacer(ctx)
    for text in texts:
        await pacer.wait()
        await client.say(text)
    return texts


@requirement("CHAT-004")
async def members_see_each_senders_messages_once_in_order_with_rising_seq(ctx: CheckContext) -> None:
    """Two senders' interleaved series arrive at every member once each, in send order, seq strictly rising."""
    ann, bob, cy = await members(ctx, 3)
    count = max(2, min(12, ctx.limits.burst // 2 - 2))
    series = await asyncio.gather(_send_series(ctx, ann, "a", count), _send_series(ctx, bob, "b", count))
    for member in (ann, bob, cy):
        for sender, texts in zip((ann, bob), series, strict=True):
            await member.wait_for(frames.user_msg(texts[-1]), ctx.timeouts.frame)
            seen = [
                str(frames.data(i).get("content"))
                for i in member.find(frames.user_msg())
                if frames.data(i).get("content") in texts
            ]
            if not seen and member is sender:
                continue  # its own messages never came back: CHAT-001's failure, not an order to judge
            if seen != texts:
                raise ctx.violation(
                    f"{member.label} receives {texts[0].split('#')[0]}#0..{count - 1} once each, in order",
                    f"got {seen}",
                )
        missing = [
            frames.summary(e)
            for e in member.find(frames.room_event())
            if not isinstance(frames.data(e).get("seq"), int)
        ]
        if missing:
            raise ctx.violation(
                "every room event carries a seq (strictly increasing)", f"{member.label}: {'; '.join(missing[:5])}"
            )
    ctx.protocol_violations([ann, bob, cy])
    ctx.note(f"2 x {count} messages in order, once each, seq rising, at 3 members")


@requirement("CHAT-005")
async def a_connected_member_sees_no_seq_gaps(ctx: CheckContext) -> None:
    """After its welcome, a member that stays connected receives consecutive seq values."""
    ann, bob = await members(ctx, 2)
    cy = await ctx.driver.join(ctx.room(), "Cy")
    await _send_series(ctx, bob, "g", 4)
    await cy.close(ctx.timeouts.close)
    last = (await _send_series(ctx, bob, "h", 2))[-1]
    await ann.wait_for(frames.user_msg(last), ctx.timeouts.frame)
    if not any(isinstance(frames.data(e).get("seq"), int) for e in ann.find(frames.room_event())):
        raise ctx.skip("the target's room events carry no seq (CHAT-002 and CHAT-004 report that)")
    ctx.protocol_violations([ann, bob])
    ctx.note("seq consecutive through joins, leaves and messages")


@requirement("CHAT-006")
async def broadcast_arrives_within_a_second_on_an_idle_server(ctx: CheckContext) -> None:
    """With three members, each broadcast reaches every member within 1 s of being sent (the suite's own loop
    stalls meanwhile not counted: a frame the suite read late did not arrive late)."""
    ann, bob, cy = await members(ctx, 3)
    slow = []
    for _ in range(5):
        text = ctx.token("fast")
        sent, stalled = ctx.session.clock.now(), ctx.session.stalls.stalled()
        await ann.say(text)
        for member in (bob, cy):
            got = await member.wait_for(frames.user_msg(text), ctx.timeouts.frame)
            took = member.took(got, sent, stalled) if got is not None else None
            if took is None or took > ctx.timeouts(1.0):
                slow.append(f"{member.label}: {'never' if took is None else f'{took:.2f} s'}")
        await asyncio.sleep(0.1)
    if slow:
        raise ctx.violation(f"every broadcast within {ctx.timeouts(1.0):.1f} s", "; ".join(slow))
    ctx.note("5 broadcasts to 2 members, each within 1 s")
