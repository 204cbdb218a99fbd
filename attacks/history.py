"""Class 4, resume history as a memory sink: many connections fill many rooms with long messages, leave them
empty, and look at what the server still keeps (issue 13, finding 4; SPEC.md RECON-004).

What a black box can see: how many of their messages a sample of the rooms still replays (`since=0`, the first
room filled among them) and, when told the server's process (`--pid`, same machine), its resident memory. Held: a
bound shows (rooms forgotten or trimmed). Hurt: the server's memory grew past `MEMORY_BUDGET_MIB`. Inconclusive:
it kept everything this run sent, which was not enough to reach a bound.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from roomwire.attacks.probes import next_frame, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget

NAME = "history-sink"
SUMMARY = "fill many rooms with long messages, leave them empty, see what stays in memory (finding 4)"

MEMORY_BUDGET_MIB = 512
MESSAGES_PER_ROOM = 100  # SPEC.md RECON-004's default history
PACE_S = 0.11  # just under 10 frames/s: the default rate limit


def rss_bytes(pid: int | None) -> int | None:
    """The resident memory of process `pid` (Linux /proc), None when unknown."""
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


async def _filler(target: AttackTarget, index: int, rooms: dict[str, int], deadline: float, sent: list[int]) -> None:
    content = "가" * 2000
    n = 0
    while time.monotonic() < deadline:
        room = f"atk-history-{index}-{n}"
        n += 1
        ws = await open_ws(target, room, query="nickname=filler")
        welcome = await until(ws, {"welcome"}, 5.0)
        limit = int((welcome or {}).get("limits", {}).get("max_content_chars", 2000))
        frame = json.dumps({"type": "user_msg", "content": content[:limit]}, ensure_ascii=False)
        rooms[room] = 0
        for _ in range(MESSAGES_PER_ROOM):
            if time.monotonic() >= deadline:
                break
            await ws.send(frame)
            rooms[room] += 1
            sent[0] += len(frame.encode("utf-8"))
            await asyncio.sleep(PACE_S)
        await shut(ws)


async def _replayed(target: AttackTarget, room: str) -> int:
    """How many of `room`'s messages the server replays from `since=0`."""
    ws = await open_ws(target, room, query="since=0&nickname=probe")
    try:
        welcome = await until(ws, {"welcome"}, 5.0)
        replayed = int(((welcome or {}).get("resume") or {}).get("replayed", 0))
        frames = [await next_frame(ws, 2.0) for _ in range(replayed)]  # the room's joins and leaves among them
        return sum(1 for frame in frames if frame is not None and frame.get("type") == "user_msg")
    finally:
        await shut(ws)


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    fillers = target.bounds.count(40, least=2)
    seconds = target.bounds.max_seconds
    report.did(f"{fillers} connections, each filling rooms with {MESSAGES_PER_ROOM} messages of 2,000 Hangul "
               f"(6 KB) at just under 10/s, for {seconds:.0f} s; each room left empty")  # fmt: skip
    before = rss_bytes(target.pid)
    rooms: dict[str, int] = {}  # room -> messages sent to it, in the order the rooms were started
    sent = [0]
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_filler(target, i, rooms, deadline, sent) for i in range(fillers)))
    await asyncio.sleep(1.0)
    names = [room for room, count in rooms.items() if count]
    sample = list(dict.fromkeys([names[0], names[len(names) // 2], names[-1]])) if names else []
    kept = [await _replayed(target, room) for room in sample]
    after = rss_bytes(target.pid)
    kept_share = sum(kept) / sum(rooms[room] for room in sample) if sample else 0.0
    report.figures.update(rooms_filled=len(rooms), mib_sent=round(sent[0] / 2**20, 1), sampled_rooms=len(sample),
                          kept_share_of_sent=round(kept_share, 2))  # fmt: skip
    report.saw(f"{len(rooms)} rooms filled, {sent[0] / 2**20:.1f} MiB sent; sampled rooms still replay "
               f"{kept_share:.0%} of what they were sent")  # fmt: skip
    if before is not None and after is not None:
        grown = (after - before) / 2**20
        report.figures.update(rss_before_mib=round(before / 2**20), rss_after_mib=round(after / 2**20))
        report.saw(f"the server's resident memory went from {before / 2**20:.0f} to {after / 2**20:.0f} MiB")
        if grown > MEMORY_BUDGET_MIB:
            report.judge(Verdict.HURT, f"memory grew {grown:.0f} MiB (> {MEMORY_BUDGET_MIB} MiB) for empty rooms")
            return report
    if kept and kept_share < 0.5:
        report.judge(Verdict.HELD, f"a bound shows: empty rooms keep {kept_share:.0%} of what they were sent")
    else:
        report.judge(
            Verdict.INCONCLUSIVE,
            f"every sampled room kept what it was sent ({sent[0] / 2**20:.1f} MiB in all): no bound reached in this "
            "run; run longer (--max-seconds) and pass --pid to see memory",
        )
    return report
