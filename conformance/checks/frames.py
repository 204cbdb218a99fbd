"""SPEC.md §2, frames: FRAME-001, FRAME-002, FRAME-004 (FRAME-003 is the client's, see registry.NOT_COVERED)."""

from __future__ import annotations

from roomwire.conformance import frames
from roomwire.conformance.checks.common import ask_within_budget, members
from roomwire.conformance.checks.exchanges import PLAIN
from roomwire.conformance.context import CheckContext
from roomwire.conformance.registry import requirement
from roomwire.conformance.shared import shared

SYSTEM_EVENTS = ("welcome", "join", "leave", "error", "notice")


@requirement("FRAME-001", shares=[PLAIN])
async def every_server_frame_is_one_schema_valid_json_object(ctx: CheckContext) -> None:
    """Welcome, join, broadcast, error, AI answer, pong and leave frames are text JSON valid against the schema."""
    ann, bob = await members(ctx, 2)
    await ann.say(ctx.token("hello"))
    await bob.say(ctx.token("hi"))
    await ann.send_json({"type": "ping", "id": "p-1"})
    await ann.send_json({"type": "dance", "id": "d-1"})
    await ann.wait_for(frames.system("error"), ctx.timeouts.frame)
    await bob.close(ctx.timeouts.close)
    await ann.wait_for(frames.leave(), ctx.timeouts.frame)
    asked = await shared(ctx, PLAIN)  # the AI answer's frames (chunks, ai_done) as its asker received them
    clients = [ann, bob, asked.asker, asked.watcher]
    ctx.protocol_violations(clients)
    ctx.note(f"{sum(len(c.received) for c in clients)} frames, all valid")


@requirement("FRAME-002", ai=1)
async def unknown_client_fields_are_ignored(ctx: CheckContext) -> None:
    """A user_msg and an ai_msg with fields the spec does not define are processed as if they were absent."""
    ann, bob = await members(ctx, 2)
    since = ann.mark()
    text = ctx.token("extra")
    extra = {"type": "user_msg", "content": text, "nickname": "Ann", "x-client": {"v": [1, 2]}, "colour": "red"}
    ctx.sent(ann, await ann.send_json(extra), "the user_msg with unknown fields")
    await ctx.expect(bob, frames.user_msg(text), "the user_msg with unknown fields, broadcast")
    question = {"type": "ai_msg", "content": f"Say hi. {ctx.token('q')}", "x-trace": "abc", "temperature": 2}
    asked = (await ask_within_budget(ctx, ann, lambda: ann.send_json(question))).since
    errors = ann.find(frames.either(frames.error("bad_frame"), frames.error("unknown_type")), since)
    rejected = [d for d in ann.find(frames.ai_done(), asked) if frames.data(d).get("status") == "rejected"]
    if errors or rejected:
        raise ctx.violation(
            "no bad_frame and no rejection for frames that only add unknown fields", ann.describe(since)
        )
    ctx.note("user_msg broadcast and ai_msg answered despite unknown fields")


@requirement("FRAME-004")
async def system_frames_carry_an_event_and_content(ctx: CheckContext) -> None:
    """welcome, join, error and leave frames all carry a known `event` and a non-empty `content`."""
    ann, bob = await members(ctx, 2)
    await ann.send_json({"type": "dance"})
    await ann.wait_for(frames.system("error"), ctx.timeouts.frame)
    await bob.close(ctx.timeouts.close)
    await ann.wait_for(frames.leave(), ctx.timeouts.frame)
    ctx.protocol_violations([ann, bob])
    seen = [item for client in (ann, bob) for item in client.find(lambda i: frames.kind(i) == "system")]
    if not seen:
        raise ctx.skip("the target sent no system frame at all (no welcome, join, error or leave) to judge")
    for item in seen:
        data = frames.data(item)
        content = data.get("content")
        if data.get("event") not in SYSTEM_EVENTS or not isinstance(content, str) or not content.strip():
            raise ctx.violation("a system frame with a known event and a non-empty content", frames.summary(item))
    ctx.note(f"all {len(seen)} system frames had event and content")
