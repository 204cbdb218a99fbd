"""Class 3, file descriptors: half-sent HTTP requests from one address, as fast as they connect, while another
address asks `/healthz` and joins a room (issue 13, finding 3; SPEC.md LIMIT-009).

Held: the server holds at most 64 of them open at once (the rest are reset), closes the others by its request
deadline, and answers the other address throughout. Hurt: it holds more, keeps them past 30 s, or stops
answering the other address.
"""

from __future__ import annotations

import asyncio
import resource
import time

from roomwire.attacks.probes import cycle, healthz
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget
from roomwire.conformance.raw_http import RawConnection, open_raw
from roomwire.spec.limits import MAX_PENDING_PER_ADDRESS, MAX_REQUEST_TIMEOUT_S

NAME = "fd-exhaustion"
SUMMARY = "half-sent HTTP requests from one address, against /healthz from another (finding 3)"

HEAD = "GET /api/v1/ws/chat/atk HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upg"


async def _open_many(target: AttackTarget, count: int, deadline: float) -> tuple[list[RawConnection], int]:
    opened: list[RawConnection] = []
    failed = 0
    head = HEAD.format(host=target.endpoint.netloc).encode("latin-1")
    while len(opened) + failed < count and time.monotonic() < deadline:
        try:
            connection = await open_raw(target.endpoint, None, 2.0)
        except (OSError, TimeoutError):
            failed += 1
            continue
        connection.writer.write(head)
        opened.append(connection)
    return opened, failed


async def _watch_other_address(
    target: AttackTarget, source: str, stop: asyncio.Event, times: list[float], fails: list[str]
) -> None:
    n = 0
    while not stop.is_set():
        status, took = await healthz(target, source=source)
        times.append(took)
        if status not in (200, 503):
            fails.append(f"/healthz: {status}")
        joined = await cycle(target, f"atk-fd-other-{n}", "other", source=source)  # a room each: no churn limit
        if joined != "welcomed":
            fails.append(f"join: {joined}")
        n += 1
        await asyncio.sleep(0.3)


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    count = min(target.bounds.count(2000, least=MAX_PENDING_PER_ADDRESS + 16), max(100, soft - 200))
    report.did(f"opened up to {count} connections from one address, each sending half a request head, then nothing")
    report.did("meanwhile GET /healthz and a join from another loopback address every 0.3 s (loopback targets)")
    stop, times, fails = asyncio.Event(), list[float](), list[str]()
    source = target.source(100)
    watcher = asyncio.create_task(_watch_other_address(target, source, stop, times, fails) if source else stop.wait())
    started = time.monotonic()
    opened, failed = await _open_many(target, count, started + target.bounds.max_seconds)
    try:
        ends = [asyncio.ensure_future(c.ended(MAX_REQUEST_TIMEOUT_S + 5)) for c in opened]
        await asyncio.sleep(1.0)
        held = sum(not e.done() for e in ends)
        waited_from = time.monotonic()
        if ends:
            await asyncio.wait(ends, timeout=min(MAX_REQUEST_TIMEOUT_S + 5, target.bounds.max_seconds + 10))
        lingering = sum(not e.done() for e in ends)
        drained_s = time.monotonic() - waited_from
    finally:
        for connection in opened:
            connection.close()
        stop.set()
        await watcher
    report.figures.update(
        attempted=count, refused_at_connect=failed, held_open_after_1s=held, still_open_at_end=lingering,
        drained_s=round(drained_s, 1), healthz_max_ms=round(max(times, default=0) * 1000),
        other_address_failures=len(fails),
    )  # fmt: skip
    report.saw(f"{held} of {len(opened)} half-sent requests still open 1 s after the last was opened")
    report.saw(f"the rest closed within {drained_s:.1f} s; {lingering} still open at the end")
    report.saw(f"/healthz from another address: {len(times)} asks, slowest {max(times, default=0) * 1000:.0f} ms")
    if held > MAX_PENDING_PER_ADDRESS:
        report.judge(Verdict.HURT, f"{held} unfinished requests held for one address (LIMIT-009: at most 64)")
    else:
        report.judge(Verdict.HELD, f"at most {held} unfinished requests held for one address")
    report.judge(
        Verdict.HURT if lingering else Verdict.HELD,
        f"{lingering} half-sent requests outlived {MAX_REQUEST_TIMEOUT_S:.0f} s" if lingering else "all closed in time",
    )
    slow = [t for t in times if t > 1.0]
    if source is None:
        report.judge(Verdict.INCONCLUSIVE, "a remote target: no second address to ask /healthz from")
    elif fails or slow or not times:
        report.judge(Verdict.HURT, f"the other address suffered: {fails[:3]} {len(slow)} slow /healthz")
    else:
        report.judge(Verdict.HELD, "the other address was answered throughout")
    return report
