"""SPEC.md §4, identity: IDENT-001 … IDENT-004."""

from __future__ import annotations

from roomwire.conformance import frames
from roomwire.conformance.checks.common import members
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Blocked
from roomwire.conformance.registry import requirement
from roomwire.spec.texts import NEUTRAL_NAME, Lang


async def _broadcast_name(ctx: CheckContext, sender: Client, watcher: Client, **fields: str) -> str | None:
    """Send a user_msg (with `fields`, e.g. nickname) and return the nickname the watcher sees on it."""
    text = ctx.token("says")
    await sender.send_json({"type": "user_msg", "content": text, **fields})
    got = await ctx.expect(watcher, frames.user_msg(text), f"the broadcast of {sender.label}'s message")
    name = frames.data(got).get("nickname")
    return name if isinstance(name, str) else None


@requirement("IDENT-001")
async def nickname_is_bound_by_query_or_first_frame(ctx: CheckContext) -> None:
    """?nickname= binds at connect; otherwise the first frame carrying a nickname binds it for good."""
    room = ctx.room()
    (watcher,) = await members(ctx, 1, room=room)
    by_query = await ctx.driver.join(room, "Quinn Q", frame_nickname=False)  # in the URL as Quinn+Q (SPEC.md §1)
    name = await _broadcast_name(ctx, by_query, watcher)
    if name != "Quinn Q":
        raise ctx.violation(
            "a message without nickname from a connection opened with ?nickname=Quinn+Q is 'Quinn Q''s",
            f"nickname {name!r}",
        )
    by_frame = await ctx.driver.join(room, None)
    first = await _broadcast_name(ctx, by_frame, watcher, nickname="Fran")
    later = await _broadcast_name(ctx, by_frame, watcher)
    if first != "Fran" or later != "Fran":
        raise ctx.violation(
            "the first frame's nickname 'Fran' is bound for every later frame", f"first {first!r}, later {later!r}"
        )
    ctx.note("bound by query and by first frame")


#: Frames that carry a valid nickname yet bind nothing (SPEC.md §4): invalid ones (INPUT-003's "no other effect")
#: and a ping, whose `nickname` is a field the spec does not define for it (FRAME-002: ignored).
NON_BINDING = (
    ("a user_msg with a numeric content", {"type": "user_msg", "content": 5}, "bad_frame"),
    ("an ai_msg without content", {"type": "ai_msg"}, "bad_frame"),
    ("a user_msg with an invalid id", {"type": "user_msg", "content": "hi", "id": "bad id"}, "bad_frame"),
    ("a ping", {"type": "ping", "id": "p-1"}, None),
)


@requirement("IDENT-001")
async def frames_that_are_invalid_or_pings_bind_no_nickname(ctx: CheckContext) -> None:
    """An invalid frame or a ping carrying a valid nickname binds nothing: the next valid frame without a nickname
    speaks under the neutral name, and a later one with a nickname still binds it."""
    room = ctx.room()
    (watcher,) = await members(ctx, 1, room=room)
    anon = await ctx.driver.join(room, None)
    for what, payload, code in NON_BINDING:
        since = anon.mark()
        ctx.sent(anon, await anon.send_json({**payload, "nickname": "Mallory"}), what)
        answer = frames.system("error") if code is not None else frames.pong()
        await ctx.expect(anon, answer, f"the answer to {what} ({code or 'pong'})", since=since)
    name = await _broadcast_name(ctx, anon, watcher)
    if name == "Mallory":  # which name an unnamed connection speaks under is IDENT-003's business
        raise ctx.violation(
            "a valid message without nickname after invalid frames and a ping naming 'Mallory' is not Mallory's",
            f"nickname {name!r}",
        )
    name = await _broadcast_name(ctx, anon, watcher, nickname="Val")
    if name != "Val":
        raise ctx.violation("the first valid frame's nickname 'Val' binds", f"nickname {name!r}")
    ctx.note(f"{len(NON_BINDING)} frames naming Mallory bound nothing; the next valid one bound 'Val'")


@requirement("IDENT-002")
async def a_connection_cannot_speak_or_leave_under_another_name(ctx: CheckContext) -> None:
    """A frame naming someone else is processed under the bound nickname, and the leave names it too."""
    room = ctx.room()
    (watcher,) = await members(ctx, 1, room=room)
    ann = await ctx.driver.join(room, "Ann2")
    name = await _broadcast_name(ctx, ann, watcher, nickname="Mallory")
    if name != "Ann2":
        raise ctx.violation("Ann2's message claiming nickname 'Mallory' is broadcast as Ann2's", f"nickname {name!r}")
    by_frame = await ctx.driver.join(room, None)
    await _broadcast_name(ctx, by_frame, watcher, nickname="Fran")
    name = await _broadcast_name(ctx, by_frame, watcher, nickname="Mallory")
    if name != "Fran":
        raise ctx.violation("Fran's later message claiming 'Mallory' is broadcast as Fran's", f"nickname {name!r}")
    since = watcher.mark()
    await ann.close(ctx.timeouts.close)
    leave = await watcher.wait_for(frames.leave(), ctx.timeouts.frame, since)
    if leave is not None and frames.presence_name(leave, "leave") == "Mallory":
        raise ctx.violation("Ann2 leaves as Ann2", frames.summary(leave))
    ctx.note("impersonation ignored in messages and leave notices")


@requirement("IDENT-003")
async def unnamed_connections_use_the_neutral_name(ctx: CheckContext) -> None:
    """A connection that never gave a nickname joins and speaks as 누군가 (lang=ko) or Someone (lang=en).

    Judged on what the unnamed connection itself receives: SPEC.md §4 ties the neutral name to `lang`
    without saying whose (the sender's or the receiver's), and on its own frames both readings agree.
    """
    room = ctx.room()
    (watcher,) = await members(ctx, 1, room=room)
    for lang, params in ((Lang.KO, None), (Lang.EN, {"lang": "en"})):
        neutral = NEUTRAL_NAME[lang]
        anon = await ctx.driver.join(room, None, params=params)
        join = await anon.wait_for(frames.join(), ctx.timeouts.frame)
        data = frames.data(join) if join is not None else {}
        if join is not None and (data.get("nickname") != neutral or neutral not in str(data.get("content", ""))):
            raise ctx.violation(f"the join names {neutral!r} in nickname and content", frames.summary(join))
        text = ctx.token("says")
        await anon.send_json({"type": "user_msg", "content": text})
        seen = await ctx.expect(watcher, frames.user_msg(text), "the message of the unnamed connection")
        echo = await anon.wait_for(frames.user_msg(text), ctx.timeouts.frame)
        if echo is None:
            raise Blocked("CHAT-001", "the unnamed connection's own message never came back to it")
        if (
            frames.data(echo).get("nickname") != neutral
            or frames.data(seen).get("nickname") not in NEUTRAL_NAME.values()
        ):
            raise ctx.violation(
                f"the message is {neutral!r}'s (a neutral name for other readers)",
                f"{frames.summary(echo)}; {frames.summary(seen)}",
            )
    ctx.note("neutral names 누군가 and Someone used")


@requirement("IDENT-004")
async def an_invalid_nickname_gets_bad_frame_and_binds_nothing(ctx: CheckContext) -> None:
    """A nickname breaking §4's syntax gets bad_frame in a frame (and 4xx in the query), and binds nothing."""
    room = ctx.room()
    (watcher,) = await members(ctx, 1, room=room)
    anon = await ctx.driver.join(room, None)
    for bad in (" Padded ", "n" * 33, "tab\tname", ""):
        since = anon.mark()
        text = ctx.token("bad")
        sent = await anon.send_json({"type": "user_msg", "content": text, "nickname": bad})
        ctx.sent(anon, sent, f"the frame with nickname {bad!r}")
        notice = await ctx.expect(anon, frames.system("error"), f"an error for nickname {bad!r}", since=since)
        if frames.data(notice).get("code") != "bad_frame":
            raise ctx.violation(f"bad_frame for nickname {bad!r}", frames.summary(notice))
    name = await _broadcast_name(ctx, anon, watcher, nickname="Val")
    if name != "Val":
        raise ctx.violation("the first valid nickname 'Val' binds after the invalid ones", f"nickname {name!r}")
    refused = await ctx.driver.attempt(room, params={"nickname": "x" * 33})
    if refused.client is not None:
        raise ctx.violation("?nickname= of 33 characters refuses the upgrade", "accepted")
    ctx.note("invalid nicknames answered bad_frame / 4xx and bound nothing")
