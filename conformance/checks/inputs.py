"""SPEC.md §3, bad input: INPUT-001 … INPUT-008 (the labelled and generated frames are in `fuzz`)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer, flood, members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import requirement

Case = tuple[str, str | dict[str, Any], str]  # (what, payload, expected error code)


def _text(payload: str | dict[str, Any]) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)


async def expect_error_codes(ctx: CheckContext, client: Client, cases: list[Case]) -> None:
    """Each payload gets an error notice with its code, and the connection stays open throughout."""
    pacer = Pacer(ctx)
    for what, payload, code in cases:
        await pacer.wait()
        since = client.mark()
        ctx.sent(client, await client.send_text(_text(payload)), what)
        answer = await client.wait_for(frames.system("error"), ctx.timeouts.frame, since)
        if answer is None or frames.data(answer).get("code") != code:
            got = frames.summary(answer) if answer is not None else client.describe(since)
            raise ctx.violation(f"{what} gets an error notice with code {code!r}", got)
        await ctx.stays_open(client)


async def expect_no_broadcast(
    ctx: CheckContext, sender: Client, watcher: Client, leak: str, since: int, expected: str
) -> None:
    """After the sender's marker reaches the watcher, nothing carrying `leak` has reached it since `since`."""
    marker = ctx.token("marker")
    await sender.say(marker)
    await watcher.wait_for(frames.user_msg(marker), ctx.timeouts.frame, since)
    leaked = watcher.find(frames.mentions(leak), since)
    if leaked:
        raise ctx.violation(expected, f"{watcher.label} received {frames.summarize(leaked)}")


@requirement("INPUT-001")
async def non_json_text_gets_bad_json_and_the_connection_stays(ctx: CheckContext) -> None:
    """Text that is not JSON, or JSON that is not an object, gets bad_json; the connection stays open."""
    (ann,) = await members(ctx, 1)
    cases: list[Case] = [
        ("plain text", "hello there", "bad_json"),
        ("truncated JSON", '{"type":"user_msg","content":"x"', "bad_json"),
        ("a JSON array", '[{"type":"user_msg","content":"x"}]', "bad_json"),
        ("a JSON string", '"user_msg"', "bad_json"),
        ("a JSON number", "42", "bad_json"),
        ("JSON null", "null", "bad_json"),
        ("NaN (not JSON)", '{"type":"user_msg","content":NaN}', "bad_json"),
    ]
    await expect_error_codes(ctx, ann, cases)
    ctx.note(f"{len(cases)} non-objects answered bad_json, connection kept")


@requirement("INPUT-002")
async def missing_or_unknown_type_gets_its_code(ctx: CheckContext) -> None:
    """A missing or non-string type gets bad_frame; a type the spec does not define gets unknown_type."""
    (ann,) = await members(ctx, 1)
    cases: list[Case] = [
        ("an empty object", {}, "bad_frame"),
        ("no type", {"content": "hi"}, "bad_frame"),
        ("a numeric type", {"type": 5, "content": "hi"}, "bad_frame"),
        ("a null type", {"type": None}, "bad_frame"),
        ("a list type", {"type": ["user_msg"], "content": "hi"}, "bad_frame"),
        ("type 'dance'", {"type": "dance"}, "unknown_type"),
        ("a server type (ai_chunk)", {"type": "ai_chunk", "content": "x"}, "unknown_type"),
        ("a server type (system)", {"type": "system", "content": "x"}, "unknown_type"),
        ("an upper-case type", {"type": "USER_MSG", "content": "x"}, "unknown_type"),
        ("an unknown type holding a lone surrogate", '{"type":"dance","x":"\\ud800"}', "unknown_type"),
        ("a type that is a lone surrogate", '{"type":"\\udc00"}', "unknown_type"),
    ]
    await expect_error_codes(ctx, ann, cases)
    ctx.note(f"{len(cases)} frames answered bad_frame / unknown_type, connection kept")


@requirement("INPUT-003")
async def invalid_fields_get_bad_frame_and_have_no_other_effect(ctx: CheckContext) -> None:
    """Known types with missing, mistyped or malformed fields get bad_frame and are not broadcast."""
    ann, bob = await members(ctx, 2)
    leak = ctx.token("leak")
    cases: list[Case] = [
        ("a user_msg without content", {"type": "user_msg"}, "bad_frame"),
        ("a numeric content", {"type": "user_msg", "content": 5}, "bad_frame"),
        ("an empty content", {"type": "user_msg", "content": ""}, "bad_frame"),
        ("a null content", {"type": "user_msg", "content": None}, "bad_frame"),
        ("an id with a space", {"type": "user_msg", "content": leak, "id": "bad id"}, "bad_frame"),
        ("a numeric id", {"type": "user_msg", "content": leak, "id": 7}, "bad_frame"),
        ("a numeric nickname", {"type": "user_msg", "content": leak, "nickname": 5}, "bad_frame"),
        ("a history that is not a list", {"type": "ai_msg", "content": leak, "history": "x"}, "bad_frame"),
        (
            "a history role 'system'",
            {"type": "ai_msg", "content": leak, "history": [{"role": "system", "content": "x"}]},
            "bad_frame",
        ),
        ("a ping with an object id", {"type": "ping", "id": {}}, "bad_frame"),
        (
            "a lone surrogate in an unknown field",
            f'{{"type":"user_msg","content":"{leak}","x-extra":"\\ud800"}}',
            "bad_frame",
        ),
    ]
    since = bob.mark()
    await expect_error_codes(ctx, ann, cases)
    await expect_no_broadcast(ctx, ann, bob, leak, since, "invalid frames have no effect beyond the error notice")
    ctx.note(f"{len(cases)} invalid frames answered bad_frame, none broadcast")


@requirement("INPUT-004")
async def binary_frame_closes_with_1003(ctx: CheckContext) -> None:
    """A binary frame makes the target close that connection with 1003."""
    (ann,) = await members(ctx, 1)
    binary = json.dumps({"type": "user_msg", "content": ctx.token("bin")}).encode()
    ctx.sent(ann, await ann.send_binary(binary), "the binary frame")
    await ctx.expect_close(ann, [1003], "after a binary frame")
    ctx.note("closed with 1003")


@requirement("INPUT-005")
async def invalid_utf8_closes_with_1007(ctx: CheckContext) -> None:
    """A text frame that is not UTF-8 makes the target close that connection with 1007."""
    (ann,) = await members(ctx, 1)
    invalid = b'{"type":"user_msg","content":"\xff\xfe\xc3\x28 ' + ctx.token("utf").encode() + b'"}'
    ctx.sent(ann, await ann.send_raw_text_bytes(invalid), "the text frame with invalid UTF-8")
    await ctx.expect_close(ann, [1007], "after a text frame with invalid UTF-8")
    ctx.note("closed with 1007")


@requirement("INPUT-006")
async def error_notices_echo_the_id_but_never_the_content(ctx: CheckContext) -> None:
    """An error notice echoes the bad frame's valid id and never its content."""
    (ann,) = await members(ctx, 1)
    secret = ctx.token("reflected")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"type": "user_msg", "content": 5, "id": "e-1"}, "e-1"),
        ({"type": "user_msg", "content": secret, "nickname": f" {secret}", "id": "e-2"}, "e-2"),
        ({"type": "dance", "content": secret, "id": "e-3"}, "e-3"),
    ]
    for payload, id_ in cases:
        since = ann.mark()
        ctx.sent(ann, await ann.send_json(payload), f"the frame {payload}")
        notice = await ctx.expect(ann, frames.system("error"), f"an error notice for {payload}", since=since)
        if frames.data(notice).get("id") != id_ or secret in notice.raw:
            raise ctx.violation(f"an error notice with id {id_!r} and without the frame's content", notice.raw)
    ctx.note("ids echoed, content never reflected")


@requirement("INPUT-007")
async def abuse_from_one_connection_does_not_delay_others(ctx: CheckContext) -> None:
    """While one client sends garbage, floods, oversized and binary frames and drops, others keep talking."""
    room = ctx.room()
    bob, cy = await members(ctx, 2, room=room, first=1)
    abuse = asyncio.create_task(_abuse(ctx, room))
    sent: dict[str, tuple[float, float]] = {}
    pacer = Pacer(ctx)
    try:
        for _ in range(12):
            await pacer.wait()
            text = ctx.token("beat")
            sent[text] = (ctx.session.clock.now(), ctx.session.stalls.stalled())
            await cy.say(text)
            await asyncio.sleep(0.1)
    finally:
        await abuse
    late = []
    for text, (at, stalled) in sent.items():
        got = await bob.wait_for(frames.user_msg(text), ctx.timeouts.frame)
        took = bob.took(got, at, stalled) if got is not None else None
        if took is None or took > ctx.timeouts(2.0):
            late.append(f"{text}: {'never' if took is None else f'{took:.2f} s'}")
    if late:
        raise ctx.violation("every message between the others arrives within 2 s during the abuse", "; ".join(late))
    newcomer = await ctx.driver.attempt(room, nickname="Dee", params={"nickname": "Dee"})
    if newcomer.client is None:
        raise ctx.violation("new connections are still accepted after the abuse", f"HTTP {newcomer.status}")
    ctx.note("12 messages delivered on time during bad JSON, flood, oversized, binary and abrupt drops")


async def _abuse(ctx: CheckContext, room: str) -> None:
    limits = ctx.limits
    garbage = await ctx.driver.join(room, "Mal")
    for _ in range(5):
        await garbage.send_text("}{ not json")
    await flood(ctx, garbage, over=limits.burst)
    oversized = await ctx.driver.join(room, "Mal2")
    await oversized.send_text(
        json.dumps({"type": "user_msg", "nickname": "Mal2", "content": "x" * (limits.max_frame_bytes + 10)})
    )
    binary = await ctx.driver.join(room, "Mal3")
    await binary.send_binary(b"\x00\x01")
    dropper = await ctx.driver.join(room, "Mal4", via_proxy=True)
    ctx.driver.proxy_of(dropper).drop(rst=True)
    utf = await ctx.driver.join(room, "Mal5")
    await utf.send_raw_text_bytes(b"\xff\xff")


@requirement("INPUT-008")  # its ai_msg after a burst is refused (rate limited) and given back
async def every_refused_ai_msg_gets_exactly_one_rejected_ai_done(ctx: CheckContext) -> None:
    """Each refused ai_msg (bad fields, too long, too much history) gets exactly one ai_done 'rejected'."""
    (ann,) = await members(ctx, 1)
    limits = ctx.limits
    item = {"role": "user", "content": "x"}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("no content", {"type": "ai_msg", "id": "r-1"}),
        ("a numeric content", {"type": "ai_msg", "content": 5, "id": "r-2"}),
        ("an empty content", {"type": "ai_msg", "content": "", "id": "r-3"}),
        (
            "a content one over max_content_chars",
            {"type": "ai_msg", "content": "가" * (limits.max_content_chars + 1), "id": "r-4"},
        ),
        ("51 history items", {"type": "ai_msg", "content": "hi", "history": [item] * 51, "id": "r-5"}),
        (
            "a history role 'system'",
            {"type": "ai_msg", "content": "hi", "history": [{"role": "system", "content": "x"}], "id": "r-6"},
        ),
        ("an invalid id", {"type": "ai_msg", "content": "hi", "id": "bad id!"}),
    ]
    pacer = Pacer(ctx)
    since = ann.mark()
    for what, payload in cases:
        await pacer.wait()
        mark = ann.mark()
        ctx.sent(ann, await ann.send_json(payload), f"the ai_msg with {what}")
        done = await ctx.expect(ann, frames.ai_done(), f"an ai_done for an ai_msg with {what}", since=mark)
        if frames.data(done).get("status") != "rejected":
            raise ctx.violation(f"the ai_done for an ai_msg with {what} has status 'rejected'", frames.summary(done))
    await asyncio.sleep(ctx.timeouts.settle)
    dones = ann.find(frames.ai_done(), since)
    if len(dones) != len(cases):
        raise ctx.violation(
            f"exactly {len(cases)} ai_done frames for {len(cases)} refused ai_msgs", frames.summarize(dones)
        )
    ctx.note(f"{len(cases)} refused ai_msgs, one 'rejected' ai_done each")
    ctx.note(await _rate_limited_ai_msg(ctx))


async def _rate_limited_ai_msg(ctx: CheckContext) -> str:
    """An ai_msg right after a burst of frames: rate limited, it gets exactly one ai_done 'rejected' (a notice only
    when one is due, SPEC.md INPUT-008 clarified). Admitted in the AI budget first: a target that read the burst
    slowly may rightly accept it (its bucket refilled meanwhile), and then that part is not judged."""
    flooded = await ctx.driver.join(ctx.room(2), "Flooded")
    admission = await ctx.session.ai.admit()
    token = ctx.token("burst")
    for n in range(ctx.limits.burst + 2):
        await flooded.say(f"{token} {n}")
    mark = flooded.mark()
    await flooded.send_json({"type": "ai_msg", "content": f"Hi. {ctx.token('q')}", "id": "r-rl"})
    done = await ctx.expect(flooded, frames.ai_done(), "an ai_done for an ai_msg after a burst", since=mark)
    if frames.data(done).get("status") != "rejected":
        await flooded.wait_for(frames.ai_done(), ctx.timeouts.ai, done.index + 1)
        return "the ai_msg after the burst was accepted (the bucket had refilled): the rate-limited case not judged"
    ctx.session.ai.give_back(admission)
    await asyncio.sleep(ctx.timeouts.settle)
    dones = flooded.find(frames.ai_done(), mark)
    if len(dones) != 1:
        raise ctx.violation("exactly one ai_done for a rate-limited ai_msg", frames.summarize(dones))
    notices = flooded.find(frames.error("rate_limited"), mark)
    if notices and notices[0].index > done.index:
        raise ctx.violation("the rate_limited notice, when one is due, before the ai_done", flooded.describe(mark))
    return "a rate-limited ai_msg got one 'rejected' ai_done" + (" after its notice" if notices else "")


def nested(levels: int, *, kind: str = "[") -> str:
    """JSON `levels` deep: arrays (`[[…]]`) or objects (`{"a":{"a":…1}}`), about 2 bytes a level."""
    return "[" * levels + "]" * levels if kind == "[" else '{"a":' * levels + "1" + "}" * levels


@requirement("INPUT-009")
async def frames_nested_past_32_levels_get_bad_json_and_nothing_else(ctx: CheckContext) -> None:
    """A frame nested 33 or ~1,000 levels deep gets bad_json, is not broadcast and keeps the connection; a frame
    nested exactly 32 levels deep is read as any other (its deep field is an unknown one, FRAME-002)."""
    ann, bob = await members(ctx, 2)
    fine = ctx.token("deep-fine")
    since = bob.mark()
    await ann.send_text(f'{{"type":"user_msg","content":"{fine}","x-deep":{nested(31)}}}')
    await ctx.expect(bob, frames.user_msg(fine), "a user_msg nested 32 levels deep (the limit), broadcast", since=since)
    leak = ctx.token("deep-leak")
    user_msg = f'{{"type":"user_msg","content":"{leak}","x-deep":%s}}'
    cases: list[Case] = [
        ("a user_msg with an unknown field nested 33 levels deep", user_msg % nested(32), "bad_json"),
        ("a user_msg with an unknown field of 1,000 nested arrays", user_msg % nested(999), "bad_json"),
        ("a user_msg with an unknown field of 500 nested objects", user_msg % nested(499, kind="{"), "bad_json"),
        ("4,000 nested arrays (not an object either)", nested(4000), "bad_json"),
    ]
    await expect_error_codes(ctx, ann, cases)
    await expect_no_broadcast(ctx, ann, bob, leak, since, "frames nested over 32 levels have no effect but bad_json")
    ctx.note(f"32 levels read; {len(cases)} deeper frames (up to 4,000 levels) answered bad_json, connection kept")
