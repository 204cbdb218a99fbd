"""The seed profile's forms of FRAME-001, FRAME-004 and INPUT-001 … INPUT-003 (SPEC.md §17): the same situations
as their roomwire/1 checks, judged on what the seed protocol carries. The seed has no error codes, so bad input
is judged by what matters to its checklist: the connection stays open and keeps working, and so does the room.
"""

from __future__ import annotations

from typing import Any

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer, members
from roomwire.conformance.checks.exchanges import PLAIN
from roomwire.conformance.checks.inputs import BAD_TYPES, NON_OBJECTS, Case, text_of
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.profiles import SEED_ONLY
from roomwire.conformance.registry import requirement
from roomwire.conformance.shared import shared
from roomwire.spec.protocol import Received

#: The seed's server frames and the string fields each must carry.
SEED_FRAMES: dict[str, tuple[str, ...]] = {
    "user_msg": ("nickname", "content"),
    "ai_chunk": ("content",),
    "ai_done": (),
    "system": ("content",),
}

#: INPUT-003's seed form: the seed's two client frames with a field missing or of the wrong type.
SEED_BAD_FIELDS: list[Case] = [
    ("a user_msg without content", {"type": "user_msg", "nickname": "Ann"}, ""),
    ("a user_msg with a numeric content", {"type": "user_msg", "nickname": "Ann", "content": 5}, ""),
    ("a user_msg with a null content", {"type": "user_msg", "nickname": "Ann", "content": None}, ""),
    ("a user_msg without nickname", {"type": "user_msg", "content": "hi"}, ""),
    ("an ai_msg without content", {"type": "ai_msg", "history": []}, ""),
    ("an ai_msg with a list content", {"type": "ai_msg", "content": ["hi"]}, ""),
]


def seed_frame_problem(item: Received) -> str | None:
    """What makes a received frame break FRAME-001's seed form, or None."""
    data: Any = item.data
    if not isinstance(data, dict):
        return f"not one JSON object: {item.raw[:80]!r}"
    kind = data.get("type")
    if kind not in SEED_FRAMES:
        return f"type {kind!r}, not one of the seed's {', '.join(SEED_FRAMES)}"
    missing = [name for name in SEED_FRAMES[kind] if not isinstance(data.get(name), str)]
    return f"a {kind} without a string {', '.join(missing)}" if missing else None


@requirement("FRAME-001", shares=[PLAIN], profiles=SEED_ONLY)
async def every_server_frame_is_one_of_the_seeds_json_objects(ctx: CheckContext) -> None:
    """Broadcasts, a bad-input answer, an AI answer and a leave are JSON objects of the seed's four server types."""
    ann, bob = await members(ctx, 2)
    await ann.say(ctx.token("hello"))
    await bob.say(ctx.token("hi"))
    await ann.send_json({"type": "dance"})
    await bob.close(ctx.timeouts.close)
    await ann.wait_for(ctx.profile.leave("Bob"), ctx.timeouts.frame)
    asked = await shared(ctx, PLAIN)  # the AI answer's frames as its asker received them
    clients = [ann, bob, asked.asker, asked.watcher]
    for client in clients:
        for item in client.received:
            if (problem := seed_frame_problem(item)) is not None:
                raise ctx.violation(
                    "every frame is one JSON object of a seed server type", f"{client.label}: {problem}"
                )
    ctx.note(f"{sum(len(c.received) for c in clients)} frames, all of the seed's types")


@requirement("FRAME-004", profiles=SEED_ONLY)
async def system_frames_carry_content(ctx: CheckContext) -> None:
    """Every system frame (a bad-input notice if the target sends one, a leave) has a non-empty content."""
    ann, bob = await members(ctx, 2)
    since = ann.mark()
    await ann.send_json({"type": "dance"})
    marker = ctx.token("after")
    await ann.say(marker)
    await ann.wait_for(frames.user_msg(marker), ctx.timeouts.frame, since)
    await bob.close(ctx.timeouts.close)
    await ann.wait_for(ctx.profile.leave("Bob"), ctx.timeouts.frame)
    seen = [item for client in (ann, bob) for item in client.find(lambda i: frames.kind(i) == "system")]
    if not seen:
        raise ctx.skip("the target sent no system frame at all (no notice, no leave) to judge")
    for item in seen:
        content = frames.data(item).get("content")
        if not isinstance(content, str) or not content.strip():
            raise ctx.violation("a system frame with a non-empty content", frames.summary(item))
    ctx.note(f"all {len(seen)} system frames had a content")


async def survives(ctx: CheckContext, sender: Client, watcher: Client, cases: list[Case]) -> None:
    """After each bad frame, the sender's next user_msg still reaches the watcher: its connection stayed open and
    working, and the room too (read until the message arrives, never right after the bad frame)."""
    pacer = Pacer(ctx)
    for what, payload, _ in cases:
        await pacer.wait()
        since = watcher.mark()
        ctx.sent(sender, await sender.send_text(text_of(payload)), what)
        marker = ctx.token("after")
        if not await sender.say(marker):
            raise ctx.violation(f"after {what}, the connection stays open", f"closed: {sender.how_closed()}")
        if await watcher.wait_for(frames.user_msg(marker), ctx.timeouts.frame, since) is None:
            raise ctx.violation(
                f"after {what}, the sender's next message reaches {watcher.label}", watcher.describe(since)
            )


@requirement("INPUT-001", profiles=SEED_ONLY)
async def non_json_text_leaves_the_connection_working(ctx: CheckContext) -> None:
    """Text that is not JSON, or JSON that is not an object: the sender's next message is still broadcast."""
    ann, bob = await members(ctx, 2)
    await survives(ctx, ann, bob, NON_OBJECTS)
    ctx.note(f"{len(NON_OBJECTS)} non-objects survived, each followed by a broadcast")


@requirement("INPUT-002", profiles=SEED_ONLY)
async def a_missing_or_unknown_type_leaves_the_connection_working(ctx: CheckContext) -> None:
    """A missing, mistyped or unknown type: the sender's next message is still broadcast."""
    ann, bob = await members(ctx, 2)
    await survives(ctx, ann, bob, BAD_TYPES)
    ctx.note(f"{len(BAD_TYPES)} bad types survived, each followed by a broadcast")


@requirement("INPUT-003", profiles=SEED_ONLY)
async def missing_or_mistyped_fields_leave_the_connection_working(ctx: CheckContext) -> None:
    """A user_msg or ai_msg missing a field or with one of the wrong type: the sender's next message is still
    broadcast."""
    ann, bob = await members(ctx, 2)
    await survives(ctx, ann, bob, SEED_BAD_FIELDS)
    ctx.note(f"{len(SEED_BAD_FIELDS)} frames with bad fields survived, each followed by a broadcast")
