"""Class 2, control-frame floods: pings, unsolicited pongs and empty continuation fragments as fast as the socket
takes them, one flood per connection (issue 13, finding 2; SPEC.md LIMIT-007).

Held: each flooder is cut off with a close frame (1008 by the spec) after a bounded number of frames, and the
bystanders notice nothing. Hurt: a flood runs to the attack's cap without being cut off, or the bystanders suffer.
"""

from __future__ import annotations

import asyncio
import time

from websockets.asyncio.client import ClientConnection

from roomwire.attacks.probes import Bystanders, close_code, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget

NAME = "control-flood"
SUMMARY = "floods of pings, unsolicited pongs and empty fragments, past the message rate limit (finding 2)"

BATCH = 500
HIGH_WATER = 256 * 1024  # bytes queued in our own transport before we wait for the socket


def masked(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A short client frame with an all-zero mask (RFC 6455 §5.2)."""
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload


FLOODS = {
    "pings": (b"", masked(0x9, b"p")),
    "unsolicited pongs": (b"", masked(0xA, b"p")),
    "empty continuation fragments": (masked(0x1, fin=False), masked(0x0, fin=False)),
}


async def _flood(ws: ClientConnection, first: bytes, frame: bytes, cap: int, seconds: float) -> tuple[int, float]:
    """Write `frame` until the server closes, `cap` frames went out, or `seconds` passed: (sent, seconds)."""
    transport = ws.transport
    started, sent = time.monotonic(), 0
    transport.write(first)
    batch = frame * BATCH
    while sent < cap and time.monotonic() - started < seconds and not transport.is_closing():
        if ws.protocol.close_rcvd is not None:
            break
        transport.write(batch)
        sent += BATCH
        while transport.get_write_buffer_size() > HIGH_WATER and not transport.is_closing():  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # no event says when a transport's buffer falls below a mark
        await asyncio.sleep(0)
    return sent, time.monotonic() - started


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    cap, seconds = target.bounds.count(200_000, least=BATCH), target.bounds.max_seconds / len(FLOODS)
    report.did(f"one connection per flood, each writing frames in batches of {BATCH} up to {cap:,} or {seconds:.0f} s")
    async with Bystanders(target, "atk-flood-bystanders") as bystanders:
        for what, (first, frame) in FLOODS.items():
            ws = await open_ws(target, "atk-flood", query="nickname=flooder")
            await until(ws, {"welcome"}, 5.0)
            sent, took = await _flood(ws, first, frame, cap, seconds)
            await until(ws, {"<never>"}, 2.0)  # read on until the close arrives (or 2 s)
            code = close_code(ws)
            await shut(ws)
            report.figures[f"{what}: written"] = sent
            report.figures[f"{what}: close"] = code if code is not None else "none"
            if code is None:
                report.saw(f"{what}: {sent:,} frames in {took:.1f} s, never cut off")
                report.judge(Verdict.HURT, f"a flood of {what} ran {sent:,} frames without being cut off")
            else:
                report.saw(f"{what}: cut off with {code}; {sent:,} frames were written by then ({took:.2f} s)")
                verdict = Verdict.HELD if code == 1008 else Verdict.INCONCLUSIVE
                report.judge(verdict, f"{what} cut off with {code} (LIMIT-007: 1008)")
        delivery = await bystanders.stop()
    report.figures.update(delivery.figures())
    report.saw(delivery.describe())
    report.judge(Verdict.HURT if delivery.hurt else Verdict.HELD, delivery.describe())
    return report
