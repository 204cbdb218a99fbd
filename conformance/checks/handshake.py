"""SPEC.md §1, endpoint and handshake: CONN-001 … CONN-006."""

from __future__ import annotations

import asyncio

from roomwire.conformance import frames
from roomwire.conformance.checks.common import members, whitespace_padded
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Blocked
from roomwire.conformance.registry import requirement
from roomwire.conformance.target import Query
from roomwire.spec.limits import REQUIRED_MEMBERS, Limits

WELCOME_FIELDS = ("room", "seq", "members", "capabilities")


@requirement("CONN-001")
async def upgrade_is_accepted_for_every_valid_room(ctx: CheckContext) -> None:
    """The endpoint accepts the upgrade for valid room names, with and without the query parameters."""
    base = ctx.room()
    longest = (base + "_" + "Zz9-" * 16)[:64]
    cases: list[tuple[str, Query]] = [
        (base, {}),
        (longest, {}),
        (f"{base}_x", {"nickname": "Ann"}),
        (f"{base}_y", {"lang": "en"}),
        (f"{base}_z", {"since": "0"}),
        (f"{base}_w", {"nickname": "철수", "lang": "ko", "x-unknown": "1"}),
        (f"{base}_v", [("nickname", "Ann"), ("nickname", "")]),  # repeated: the first value counts (SPEC.md §1)
        (f"{base}_u", [("lang", "en"), ("lang", "fr")]),
    ]
    for room, params in cases:
        outcome = await ctx.driver.attempt(room, params=params)
        if outcome.client is None:
            how = f"HTTP {outcome.status}" if outcome.status is not None else outcome.error
            raise ctx.violation(f"the upgrade of {outcome.url} is accepted", f"refused ({how})")
        await outcome.client.close(ctx.timeouts.close)
    ctx.note(
        f"{len(cases)} upgrades accepted (64-character room, nickname, lang, since, an unknown parameter, repeated "
        "parameters whose first value is valid)"
    )


def _invalid_upgrades(base: str) -> list[tuple[str, str, Query]]:
    return [
        ("a room of 65 characters", (base + "x" * 65)[:65], {}),
        ("a room with a dot", f"{base}.x", {}),
        ("a room with a space", f"{base} x", {}),
        ("a room with Hangul", f"{base}방", {}),
        ("a room with a percent sign", f"{base}%41", {}),
        ("a nickname of 33 characters", base, {"nickname": "n" * 33}),
        ("a nickname with a control character", base, {"nickname": "bad\u0007name"}),
        ("a nickname with leading whitespace", base, {"nickname": " Ann"}),
        ("lang=fr", base, {"lang": "fr"}),
        ("since=-1", base, {"since": "-1"}),
        ("since=abc", base, {"since": "abc"}),
        ("an empty nickname= (a value, not an absent parameter)", base, {"nickname": ""}),
        ("an empty lang=", base, {"lang": ""}),
        ("an empty since=", base, {"since": ""}),
        ("a repeated nickname whose first value is invalid", base, [("nickname", ""), ("nickname", "Ann")]),
    ]


@requirement("CONN-002")
async def upgrade_is_refused_for_invalid_room_or_parameters(ctx: CheckContext) -> None:
    """Invalid room names and query parameters get an HTTP 4xx before the handshake completes."""
    wrong = []
    for what, room, params in _invalid_upgrades(ctx.room()):
        outcome = await ctx.driver.attempt(room, params=params, raw_room=True)
        if outcome.client is not None:
            wrong.append(f"{what}: accepted ({outcome.url})")
            await outcome.client.close(ctx.timeouts.close)
        elif outcome.status is None or not 400 <= outcome.status <= 499:
            wrong.append(f"{what}: {f'HTTP {outcome.status}' if outcome.status is not None else outcome.error}")
    if wrong:
        raise ctx.violation("an HTTP 4xx refusal for every invalid room or parameter", "; ".join(wrong))
    ctx.note(f"{len(_invalid_upgrades(ctx.room()))} invalid upgrades refused with 4xx")


@requirement("CONN-003")
async def welcome_is_the_first_frame_and_comes_unasked(ctx: CheckContext) -> None:
    """The first frame is the welcome, sent before the client sends anything, carrying §6's fields."""
    room = ctx.room()
    client = await ctx.driver.connect(room, nickname="Ann")
    first = await client.wait_for(frames.any_frame(), ctx.timeouts.welcome)
    if first is None:
        raise ctx.violation("a welcome system frame without the client sending anything", client.describe())
    if not frames.system("welcome")(first):
        raise ctx.violation("the first frame is the welcome", f"the first frame was {frames.summary(first)}")
    data = frames.data(first)
    missing = [name for name in WELCOME_FIELDS if name not in data]
    if missing:
        raise ctx.violation(f"the welcome carries {', '.join(WELCOME_FIELDS)} (§6)", f"it lacks {', '.join(missing)}")
    if data["room"] != room or "Ann" not in (data.get("members") or []):
        raise ctx.violation(
            f"room {room!r} and members including 'Ann'", f"room {data['room']!r}, members {data['members']!r}"
        )
    await ctx.driver.await_membership(client, probe=False)
    ctx.protocol_violations([client])
    ctx.note("welcome first, unasked, with room, seq, members and capabilities")


@requirement("CONN-004")
async def late_joiner_receives_every_event_after_its_welcome(ctx: CheckContext) -> None:
    """A member receives every room event with a seq greater than its welcome's seq."""
    room = ctx.room()
    ann = await ctx.driver.join(room, "Ann")
    await ann.say(ctx.token("before"))
    bob = await ctx.driver.join(room, "Bob")
    welcome = bob.find(frames.system("welcome"))
    if not welcome or not isinstance(frames.data(welcome[0]).get("seq"), int):
        raise Blocked("CONN-003", "the late joiner got no welcome with a seq to count from")
    base = int(frames.data(welcome[0])["seq"])
    cy = await ctx.driver.join(room, "Cy")
    last = ctx.token("last")
    for text in (ctx.token("after"), ctx.token("after"), last):
        await ann.say(text)
    await cy.close(ctx.timeouts.close)
    await ann.wait_for(frames.leave("Cy"), ctx.timeouts.frame)
    await bob.wait_for(frames.leave("Cy"), ctx.timeouts.frame)
    wanted = {
        seq for e in ann.find(frames.room_event()) if isinstance(seq := frames.data(e).get("seq"), int) and seq > base
    }
    got = {seq for e in bob.find(frames.room_event()) if isinstance(seq := frames.data(e).get("seq"), int)}
    missing = sorted(wanted - got)
    if missing:
        raise ctx.violation(
            f"Bob receives every room event with seq > {base} that Ann saw",
            f"Bob lacks seq {missing}; {bob.describe()}",
        )
    ctx.note(f"the late joiner received all {len(wanted)} room events after its welcome's seq {base}")


@requirement("CONN-005")
async def wss_carries_the_same_protocol(ctx: CheckContext) -> None:
    """Over wss:// the protocol works as over ws:// (a broadcast round trip)."""
    if not ctx.session.target.secure:
        raise ctx.skip(
            "the target was given as ws://; run the suite against the deployment's wss:// URL "
            "(--ca-file for a private CA)"
        )
    ann, bob = await members(ctx, 2)
    text = ctx.token("tls")
    await ann.say(text)
    await ctx.expect(bob, frames.user_msg(text), "Ann's broadcast over wss://")
    ctx.note("broadcast round trip over wss://")


def _limit_problems(advertised: dict[str, object]) -> list[str]:
    problems = [f"{name} missing" for name in REQUIRED_MEMBERS if not isinstance(advertised.get(name), int)]
    return problems + Limits.from_json(advertised).out_of_bounds()


def _longest_content(limits: Limits) -> str:
    """max_content_chars code points (Hangul, emoji, ASCII), as many multi-byte ones as the frame allows."""
    budget = limits.max_frame_bytes - 512
    pattern = "가😀a"
    content = (pattern * (limits.max_content_chars // 3 + 1))[: limits.max_content_chars]
    if len(content.encode("utf-8")) > budget:
        content = "a" * min(limits.max_content_chars, budget)
    return content


async def answered_in_order(ctx: CheckContext, client: Client) -> None:
    """A barrier on `client`'s own stream: a ping sent now is answered after everything the target had to say
    about the frames sent before it (it handles a connection's frames in order). No verdict if no pong comes."""
    mark = client.mark()
    await client.send_json({"type": "ping", "id": "barrier"})
    await client.wait_for(frames.pong(), ctx.timeouts.frame, mark)


#: The largest advertised burst the suite sends at once (a bigger one is not probed at its edge, and says so).
MAX_BURST_PROBE = 200


async def _accepted_at_the_limits(ctx: CheckContext, ann: Client, bob: Client, limits: Limits) -> list[str]:
    """Frames exactly at the advertised limits, each of which the target must accept: a content of exactly
    max_content_chars code points (1-, 3- and 4-byte characters) in a frame of exactly max_frame_bytes, then, from a
    connection that has sent nothing, `burst` frames in one write (the bucket cannot refill between them).
    Returns what was probed."""
    content = _longest_content(limits)
    text = whitespace_padded(ann.protocol.user_msg(content, nickname="Ann"), limits.max_frame_bytes)
    await ann.send_text(text)
    await ctx.expect(
        bob,
        frames.user_msg(content),
        f"a message of exactly max_content_chars={limits.max_content_chars} code points in a frame of exactly "
        f"max_frame_bytes={limits.max_frame_bytes} bytes",
    )
    probed = [f"a content of {limits.max_content_chars} code points in a {len(text.encode())}-byte frame"]
    if limits.burst > MAX_BURST_PROBE:
        ctx.note(f"the advertised burst {limits.burst} is more than the suite sends at once ({MAX_BURST_PROBE})")
        return probed
    burster = await ctx.driver.join(ctx.room(), "Burst")
    tokens = [ctx.token("burst") for _ in range(limits.burst)]
    since, seen = burster.mark(), bob.mark()
    # one write: frames said one by one let a slow machine spread the burst over seconds, and a bucket one frame
    # short (targets.broken's burst_minus_one) refilled the token it lacked meanwhile and passed
    await burster.send_texts_at_once([burster.protocol.user_msg(t, nickname=burster.nickname) for t in tokens])
    await ctx.expect(bob, frames.user_msg(tokens[-1]), f"the last of {limits.burst} frames sent at once")
    # its own stream up to its last message (a ping would be frame burst + 1): every notice for the burst is before
    if await burster.wait_for(frames.user_msg(tokens[-1]), ctx.timeouts.frame, since) is None:
        await asyncio.sleep(ctx.timeouts.settle)
    refused = burster.find(frames.system("error"), since)
    missing = [t for t in tokens if not bob.find(frames.user_msg(t), seen)]
    if refused or missing:
        raise ctx.violation(
            f"all {limits.burst} frames of a burst of exactly the advertised burst accepted",
            f"{len(missing)} not broadcast; {burster.describe(since)}",
        )
    return [*probed, f"{limits.burst} frames at once"]


@requirement("CONN-006")
async def advertised_limits_are_complete_in_bounds_and_not_stricter_than_enforced(ctx: CheckContext) -> None:
    """welcome.limits has every §10 member within its bounds, and frames exactly at the advertised limits are
    accepted (content, frame size, burst). Errors are read on each sender's own stream, after its own last
    message came back (so every notice for an earlier frame has arrived)."""
    ann, bob = await members(ctx, 2)
    welcome = ann.find(frames.system("welcome"))
    if not welcome:
        raise Blocked("CONN-003", "no welcome, so no advertised limits")
    advertised = frames.data(welcome[0]).get("limits")
    problems = _limit_problems(advertised) if isinstance(advertised, dict) else ["no limits object"]
    if problems:
        raise ctx.violation("welcome.limits states every §10 limit within SPEC.md's bounds", "; ".join(problems))
    limits = Limits.from_json(advertised) if isinstance(advertised, dict) else ctx.limits
    since = ann.mark()
    probed = await _accepted_at_the_limits(ctx, ann, bob, limits)
    await answered_in_order(ctx, ann)
    refused = ann.find(frames.system("error"), since)
    if refused or ann.closed.is_set():
        raise ctx.violation("no error for frames within the advertised limits", ann.describe(since))
    ctx.note(f"limits advertised and in bounds; accepted at the limits: {'; '.join(probed)}")
