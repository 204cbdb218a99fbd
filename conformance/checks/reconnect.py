"""SPEC.md §11, reconnect and resume: RECON-001 … RECON-004."""

from __future__ import annotations

import asyncio
from collections import Counter

from roomwire.conformance import frames
from roomwire.conformance.checks.common import ask, ask_within_budget, members, slow_question
from roomwire.conformance.checks.presence import leave_or_blocked
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Blocked
from roomwire.conformance.registry import Need, requirement


@requirement("RECON-001", ai=1)
async def a_dropped_client_can_rejoin_chat_and_ask(ctx: CheckContext) -> None:
    """After its TCP connection is reset, a client reconnecting to the same URL is a member, chats and asks."""
    room = ctx.room()
    (ann,) = await members(ctx, 1, room=room)
    old = await ctx.driver.join(room, "Bob", via_proxy=True)
    ctx.driver.proxy_of(old).drop(rst=True)
    bob = await rejoin(ctx, room, "Bob")
    if bob is None:
        raise ctx.violation("the reconnecting client is accepted and welcomed", "the reconnect was refused")
    for sender, other in ((bob, ann), (ann, bob)):
        text = ctx.token("back")
        await sender.say(text)
        await ctx.expect(other, frames.user_msg(text), f"{sender.label}'s message after the reconnect")
    answer = await ask(ctx, bob, f"Say hi. {ctx.token('q')}")
    if len(answer.dones) != 1:
        raise ctx.violation("the reconnected client's question is answered (one ai_done)", bob.describe())
    ctx.note(f"rejoined, chatted both ways, AI answered ({answer.status})")


async def rejoin(ctx: CheckContext, room: str, nickname: str) -> Client | None:
    """Reconnect `nickname` to `room` at once; None when the target refused it (upgrade refused, or closed before
    a welcome it otherwise sends)."""
    outcome = await ctx.driver.attempt(room, nickname=nickname, params={"nickname": nickname})
    client = outcome.client
    if client is None:
        return None
    how = await ctx.driver.await_membership(client)
    if client.closed.is_set() and how != "welcome":
        return None
    return client


@requirement("RECON-002", needs=[Need.RESTART], exclusive=True, order=-10, ai=1)
async def a_graceful_restart_ends_answers_notifies_and_closes_with_1012(ctx: CheckContext) -> None:
    """On restart, an in-flight answer gets its ai_done, everyone gets server_restart, then a 1012 (or 1001) close."""
    ann, bob = await members(ctx, 2)
    question = slow_question(ctx, ctx.token("q"), chunks=60)
    first = frames.either(frames.ai_chunk(), frames.ai_done())
    since = (await ask_within_budget(ctx, ann, lambda: ann.ask(question), first=first)).since
    arrived = ann.find(first, since)
    in_flight = bool(arrived) and frames.kind(arrived[0]) == "ai_chunk"
    restart = ctx.session.restart
    assert restart is not None
    stopping = asyncio.ensure_future(restart())
    try:
        for client in (ann, bob):
            await client.wait_closed(ctx.timeouts(15.0))
        for client in (ann, bob):
            if not client.find(frames.system("notice", code="server_restart")):
                expected = f"{client.label} receives a server_restart notice before the close"
                raise ctx.violation(expected, client.describe())
            if not client.close_received or client.close_code not in (1012, 1001):
                got = f"{client.label}: {client.close_code}; {client.describe()}"
                raise ctx.violation("close code 1012 (or 1001)", got)
    finally:
        await stopping  # the target is back before any later check runs, whatever this one concluded
    dones = ann.find(frames.ai_done(), since)
    if in_flight and (len(dones) != 1 or frames.data(dones[0]).get("status") != "error"):
        raise ctx.violation(
            "the in-flight answer ends with one ai_done, status 'error', before the close", ann.describe(since)
        )
    ctx.note("server_restart and 1012/1001 on restart")
    if in_flight:
        ctx.note("the answer in flight got its ai_done")
    else:
        ctx.note("no answer was in flight (the question was refused or not answered), so that part was not judged")


@requirement("RECON-003")
async def a_reconnect_leaves_no_ghost(ctx: CheckContext) -> None:
    """A client reset and reconnected at once is listed once, announced left once, and never again."""
    room = ctx.room()
    (ann,) = await members(ctx, 1, room=room)
    old = await ctx.driver.join(room, "Bob", via_proxy=True)
    ctx.driver.proxy_of(old).drop(rst=True)
    bob = await rejoin(ctx, room, "Bob")
    if bob is None:
        raise Blocked("RECON-001", "the reconnect was refused, so no ghost can be looked for")
    await leave_or_blocked(ctx, ann, "Bob", "PRES-003")
    await asyncio.sleep(ctx.timeouts(1.0))
    cy = await ctx.driver.join(room, "Cy")
    welcome = cy.find(frames.system("welcome"))
    listed = frames.data(welcome[0]).get("members") if welcome else None
    if isinstance(listed, list) and listed.count("Bob") != 1:
        raise ctx.violation("Bob once in members (one live connection) after the old one's leave", f"members {listed}")
    text = ctx.token("alive")
    await ann.say(text)
    await ctx.expect(bob, frames.user_msg(text), "the reconnected Bob still receives the room")
    await ann.wait_for(frames.user_msg(text), ctx.timeouts.frame)  # Ann's own stream, read up to her own message
    leaves = Counter(frames.presence_name(i, "leave") for i in ann.find(frames.leave()))
    if leaves["Bob"] != 1:
        raise ctx.violation(
            "exactly one leave of Bob (the old connection) while the new one lives", f"{leaves['Bob']} leaves"
        )
    ctx.note(
        "one leave for the old connection"
        + ("; members list has Bob once" if welcome else "; no welcome, members not checked")
    )


@requirement("RECON-004")
async def resume_replays_missed_events_when_advertised(ctx: CheckContext) -> None:
    """A target advertising `resume` replays the events after `since`, in order, after the welcome and before any
    live event.

    Judged on the late joiner's own stream once a live message sent after it joined has arrived (or its deadline
    passed): the replay comes before it, so nothing of the replay is judged before it could arrive."""
    room = ctx.room()
    ann, bob = await members(ctx, 2, room=room)
    welcome = ann.find(frames.system("welcome"))
    capabilities = frames.data(welcome[0]).get("capabilities") if welcome else None
    if not isinstance(capabilities, list) or "resume" not in capabilities:
        raise ctx.skip("the target does not advertise the 'resume' capability (RECON-004 is a MAY)")
    mark = frames.data(welcome[0]).get("seq")
    texts = [ctx.token("missed") for _ in range(3)]
    for text in texts:
        await bob.say(text)
    await ann.wait_for(frames.user_msg(texts[-1]), ctx.timeouts.frame)
    late = await ctx.driver.join(room, "Late", params={"since": str(mark)})
    live = ctx.token("live")
    await bob.say(live)
    if await late.wait_for(frames.user_msg(live), ctx.timeouts.frame) is None:
        await late.wait_for(frames.user_msg(texts[-1]), ctx.timeouts.frame)
    stream = [(i.index, frames.kind(i), frames.data(i)) for i in late.received]
    welcomes = [index for index, _, data in stream if data.get("event") == "welcome"]
    messages = [(index, data.get("content")) for index, kind, data in stream if kind == "user_msg"]
    replayed = [(index, content) for index, content in messages if content in texts]
    live_at = next((index for index, content in messages if content == live), None)
    info = frames.data(late.received[welcomes[0]]).get("resume") if welcomes else None
    in_order = [content for _, content in replayed] == texts
    placed = bool(welcomes) and all(welcomes[0] < i and (live_at is None or i < live_at) for i, _ in replayed)
    if not in_order or not placed or not isinstance(info, dict) or info.get("since") != mark:
        raise ctx.violation(
            f"the 3 missed messages replayed in order after the welcome and before live events, "
            f"and welcome.resume.since={mark}",
            f"received {[(kind, data.get('content') or data.get('event')) for _, kind, data in stream]}, resume {info}",
        )
    beyond = await ctx.driver.join(ctx.room(2), "Beyond", params={"since": "1000000"})
    resumed = beyond.find(frames.system("welcome"))
    later = frames.data(resumed[0]).get("resume") if resumed else None
    if not isinstance(later, dict) or later.get("replayed") != 0 or later.get("complete") is not False:
        raise ctx.violation(
            "for since greater than the room's seq (an earlier sequence): nothing replayed and complete false",
            f"resume {later}",
        )
    ctx.note(f"resume replayed {info.get('replayed')} events, complete={info.get('complete')}; since past seq: ok")
