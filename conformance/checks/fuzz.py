"""SPEC.md §3 by example: every labelled invalid fixture and a batch of Hypothesis near misses, each sent to a
live target, must get the verdict its label states, while the room keeps working for the other members.

Sources: `roomwire.fixtures.invalid_frames` (hand-written, sized for the advertised limits) and
`roomwire.spec.strategies.near_miss_client_payloads` (one mutation away from a valid frame). A label is used
only when `roomwire.spec.validate` agrees with it under the target's advertised limits, and length labels only
when the target advertises the schema's own `max_content_chars`, so a target is never held to a limit it does
not claim. Generation is seeded from the run id: a failure names its payload, and `--only` with the same run
reproduces it.

A violation is attributed to the requirement its payload is labelled with (INPUT-001, INPUT-002, ...); a
member that stops receiving the heartbeat of a third member meanwhile is INPUT-007's.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

from roomwire.conformance import frames
from roomwire.conformance.checks.common import Pacer, gather_or_cancel
from roomwire.conformance.client import Client
from roomwire.conformance.context import CheckContext
from roomwire.conformance.outcomes import Violations
from roomwire.conformance.registry import requirement
from roomwire.spec.cases import LabelledPayload
from roomwire.spec.errors import SpecViolation
from roomwire.spec.limits import Limits

GENERATED = 30
SENDERS = 3
LABELLED_IDS = ("INPUT-001", "INPUT-002", "INPUT-004", "INPUT-005", "IDENT-004", "LIMIT-001", "LIMIT-002")
SCHEMA_MAX_CONTENT_CHARS = 2000


def generated_cases(seed: int, count: int, max_frame_bytes: int) -> list[LabelledPayload]:
    """`count` near misses drawn with a fixed seed (no shrinking, no example database)."""
    from roomwire.spec.strategies import near_miss_client_payloads

    found: list[LabelledPayload] = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(near_miss_client_payloads(max_frame_bytes=max_frame_bytes))
    def collect(case: LabelledPayload) -> None:
        found.append(case)

    collect()
    return found[:count]


def applicable(case: LabelledPayload, limits: Limits) -> bool:
    """Whether the label holds for a target with these limits (see the module docstring)."""
    if case.mismatch(case.verdict(max_frame_bytes=limits.max_frame_bytes)) is not None:
        return False
    if limits.max_content_chars != SCHEMA_MAX_CONTENT_CHARS:
        return case.requirement_id != "LIMIT-002" and len(case.data) <= limits.max_content_chars
    return True


async def cases_for(ctx: CheckContext) -> list[LabelledPayload]:
    from roomwire.fixtures import invalid_frames

    seed = int(ctx.session.run_id, 16)
    limits = ctx.limits
    # generated here, on the loop's thread, not in a worker: Hypothesis rejects a strategy during whose drawing
    # the global `random` state changes, and other checks keep running on the loop meanwhile
    generated = generated_cases(seed, GENERATED, limits.max_frame_bytes)
    return [c for c in [*invalid_frames(limits=limits), *generated] if applicable(c, limits)]


async def _send(client: Client, case: LabelledPayload) -> None:
    if case.binary:
        await client.send_binary(case.data)
    elif isinstance(case.payload, bytes):
        await client.send_raw_text_bytes(case.payload)
    else:
        await client.send_text(case.payload)


def acceptable_closes(case: LabelledPayload) -> set[int]:
    """The close codes that answer `case`. SPEC.md gives no precedence between LIMIT-001 and INPUT-005, and a
    server that decodes as bytes arrive meets invalid UTF-8 before it knows the frame is too large: an
    oversized frame that is also not UTF-8 may be closed with 1009 or 1007."""
    codes = {int(case.close_code)} if case.close_code is not None else set()
    if 1009 in codes and not case.binary:
        try:
            case.data.decode("utf-8")
        except UnicodeDecodeError:
            codes.add(1007)
    return codes


async def answer_matches(ctx: CheckContext, client: Client, case: LabelledPayload) -> None:
    """Send one payload and require its labelled answer (attributed to the label's requirement)."""
    since = client.mark()
    await _send(client, case)
    if case.close_code is not None:
        closed = await client.wait_closed(ctx.timeouts.frame)
        if not closed or not client.close_received or client.close_code not in acceptable_closes(case):
            got = f"close {client.close_code}" if closed else "the connection stayed open"
            raise ctx.violation(
                f"{case.name}: {case.expected}", f"{got}; {client.describe(since)}", case.requirement_id
            )
        return
    notice = await client.wait_for(frames.system("error"), ctx.timeouts.frame, since)
    code = frames.data(notice).get("code") if notice is not None else None
    if code != (case.error_code.value if case.error_code else None):
        shown = case.payload if isinstance(case.payload, str) else repr(case.payload)
        expected = f"{case.name} ({shown[:80]!r}): {case.expected}"
        raise ctx.violation(expected, frames.summary(notice) if notice else client.describe(since), case.requirement_id)


async def _heartbeat(
    ctx: CheckContext, sender: Client, watcher: Client, stop: asyncio.Event, found: list[SpecViolation]
) -> None:
    """INPUT-007: a third member's messages keep reaching a second one while the payloads fly."""
    while not stop.is_set():
        text = ctx.token("beat")
        await sender.say(text)
        if await watcher.wait_for(frames.user_msg(text), ctx.timeouts.frame) is None:
            expected = "other members keep receiving while bad frames arrive"
            found.append(ctx.violation(expected, watcher.describe(), "INPUT-007"))
            return
        await asyncio.sleep(0.3)


async def _work(ctx: CheckContext, room: str, queue: list[LabelledPayload], n: int, found: list[SpecViolation]) -> None:
    """One sender: takes payloads off the shared queue, records the first wrong answer per requirement, and
    reconnects after each payload that closed its connection (rightly or not)."""
    client = await ctx.driver.join(room, f"F{n}")
    pacer = Pacer(ctx)
    while queue:
        case = queue.pop()
        if any(v.requirement_id == case.requirement_id for v in found):
            continue  # one failure per requirement is evidence enough
        await pacer.wait()
        try:
            await answer_matches(ctx, client, case)
        except SpecViolation as violation:
            found.append(violation)
        if client.closed.is_set():
            client = await ctx.driver.join(room, f"F{n}")
            pacer = Pacer(ctx)


@requirement("INPUT-003", also=(*LABELLED_IDS, "INPUT-007"), slow=True)
async def labelled_and_generated_bad_frames_get_the_specs_answer(ctx: CheckContext) -> None:
    """Every labelled fixture and generated near miss gets its labelled answer; the room keeps working."""
    cases = await cases_for(ctx)
    room = ctx.room()
    watcher, beater = await ctx.driver.join(room, "Watch"), await ctx.driver.join(room, "Beat")
    stop, found = asyncio.Event(), list[SpecViolation]()
    beat = asyncio.create_task(_heartbeat(ctx, beater, watcher, stop, found))
    queue = list(reversed(cases))
    try:
        await gather_or_cancel(*(_work(ctx, room, queue, n, found) for n in range(SENDERS)))
    finally:
        stop.set()
        await asyncio.gather(beat, return_exceptions=True)
    if found:
        ctx.note(f"{len(cases)} labelled and generated bad frames sent; the others got their labelled answers")
        raise Violations(found)
    ctx.note(f"{len(cases)} labelled and generated bad frames answered as labelled; the room kept working")
