"""Class 6, presence amplification: one address joins and leaves a crowded room as fast as it can; every join and
leave is a frame to every member (issue 13, finding 6; SPEC.md LIMIT-008).

The crowd joins from addresses of its own (loopback targets), so its joins spend no budget of the attacker's.
Held: the attacker is refused (`too_many_connections`, 1013) once past the room's join budget, and the presence
traffic each member receives stays bounded. Hurt: the churn is never throttled.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from roomwire.attacks.probes import cycle, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget
from roomwire.spec.limits import DEFAULT_LIMITS

NAME = "presence-churn"
SUMMARY = "join/leave cycles from one address into a crowded room (finding 6)"

ROOM = "atk-presence"
PER_SOURCE = 10  # members per crowd address: far under any join budget
UNTHROTTLED = 2 * DEFAULT_LIMITS.join_burst  # welcomed cycles without a refusal that mean no throttle at all


async def _crowd(target: AttackTarget, size: int) -> list[ClientConnection]:
    members = []
    for n in range(size):
        ws = await open_ws(target, ROOM, query=f"nickname=m{n}", source=target.source(n // PER_SOURCE))
        await until(ws, {"welcome"}, 5.0)
        members.append(ws)
    return members


async def _count_presence(ws: ClientConnection, stop: asyncio.Event, counts: Counter[str]) -> None:
    """Read every frame `ws` gets (a member that reads, as a page does), counting join and leave frames."""
    while not stop.is_set():
        try:
            text = await asyncio.wait_for(ws.recv(), 0.2)
        except TimeoutError:
            continue
        except ConnectionClosed:
            return
        if '"event":"join"' in text or '"event":"leave"' in text:
            counts["frames"] += 1
            counts["bytes"] += len(text.encode("utf-8") if isinstance(text, str) else text)


#: Refused cycles after which the churn stops: the server has shown it throttles joins.
REFUSALS_ENOUGH = 3


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    size, cycles = target.bounds.count(50, least=4), target.bounds.count(3000, least=40)
    if target.source(0) is None:
        size = min(size, 20)  # a remote crowd shares the attacker's address and its join budget
    report.did(
        f"a crowd of {size} members in one room, then join/leave cycles from one address, as fast as they go, up "
        f"to {cycles} or {target.bounds.max_seconds / 2:.0f} s, or until {REFUSALS_ENOUGH} are refused"
    )
    crowd = await _crowd(target, size)
    stop, outcomes = asyncio.Event(), Counter[str]()
    counts = [Counter[str]() for _ in crowd]
    readers = [asyncio.create_task(_count_presence(ws, stop, c)) for ws, c in zip(crowd, counts, strict=True)]
    started = time.monotonic()
    try:
        for n in range(cycles):
            if time.monotonic() - started > target.bounds.max_seconds / 2:
                break
            outcomes[(await cycle(target, ROOM, f"churn{n}")).split(" ")[0]] += 1
            if outcomes["refused"] >= REFUSALS_ENOUGH:
                break  # held: churning on would only spend the budget's refill
        took = time.monotonic() - started
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.gather(*readers)
        await asyncio.gather(*(shut(ws) for ws in crowd))
    first = counts[0]
    attempted = sum(outcomes.values())
    per_s = first["bytes"] / max(took, 0.001)
    report.figures.update(
        crowd=size, cycles=attempted, welcomed=outcomes["welcomed"], refused=outcomes["refused"],
        cycles_per_s=round(attempted / max(took, 0.001), 1), presence_frames_per_member=first["frames"],
        presence_bytes_per_member_per_s=round(per_s), presence_bytes_per_s_whole_room=round(per_s * size),
    )  # fmt: skip
    report.saw(f"{attempted} cycles in {took:.1f} s: {dict(outcomes)}")
    report.saw(f"each member received {first['frames']} presence frames, {per_s / 1024:.1f} KiB/s")
    if outcomes["refused"]:
        report.judge(Verdict.HELD, f"the churn was refused after {outcomes['welcomed']} welcomed cycles")
    elif outcomes["welcomed"] >= UNTHROTTLED:
        report.judge(Verdict.HURT, f"all {attempted} cycles were welcomed and announced to all {size} members")
    else:
        report.judge(Verdict.INCONCLUSIVE, f"only {attempted} cycles within {target.bounds.max_seconds:.0f} s")
    return report
