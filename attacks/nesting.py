"""Class 1, deep nesting: frames nested ~500 to ~4,000 levels deep in 1-8 KB, a valid `user_msg` with a deep
unknown field among them, from several clients at once (issue 13, finding 1; SPEC.md INPUT-009).

Held: every frame gets an error notice (`bad_json`) and its connection stays open; the bystanders notice nothing.
Hurt: a frame closes its connection (1011 is the `RecursionError`), or goes unanswered, or the bystanders suffer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from roomwire.attacks.probes import Bystanders, close_code, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget

NAME = "nesting"
SUMMARY = "frames nested ~1,000 levels deep, a valid user_msg with a deep unknown field among them (finding 1)"

PAYLOADS = {
    "user_msg + 1,000 nested arrays": '{"type":"user_msg","content":"deep","x":' + "[" * 999 + "]" * 999 + "}",
    "ping + 490 nested objects": '{"type":"ping","x":' + '{"a":' * 490 + "1" + "}" * 490 + "}",
    "4,000 nested arrays": "[" * 4000 + "]" * 4000,
}
PACE_S = 0.15  # under the default rate limit: every frame is judged, none is merely rate limited


async def _attacker(target: AttackTarget, index: int, frames: int, answers: Counter[str]) -> None:
    payloads = list(PAYLOADS.values())
    ws = None
    for n in range(frames):
        if ws is None:
            ws = await open_ws(target, f"atk-nesting-{index}", query="nickname=deep")
            await until(ws, {"welcome"}, 5.0)
        await ws.send(payloads[n % len(payloads)])
        answer = await until(ws, {"error"}, 3.0)
        if answer is not None:
            answers[f"error {answer.get('code')}"] += 1
        else:
            code = close_code(ws)
            answers["no answer" if code is None and ws.protocol.state.name == "OPEN" else f"closed {code}"] += 1
            await shut(ws)
            ws = None
        await asyncio.sleep(PACE_S)
    if ws is not None:
        await shut(ws)


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    clients, frames = target.bounds.count(8), target.bounds.count(24, least=3)
    sizes = ", ".join(f"{what} ({len(text):,} bytes)" for what, text in PAYLOADS.items())
    report.did(f"{clients} clients, each sending {frames} frames in turn, one every {PACE_S} s: {sizes}")
    answers: Counter[str] = Counter()
    started = time.monotonic()
    async with Bystanders(target, "atk-nesting-bystanders") as bystanders:
        await asyncio.wait_for(
            asyncio.gather(*(_attacker(target, i, frames, answers) for i in range(clients))),
            target.bounds.max_seconds + 10,
        )
        delivery = await bystanders.stop()
    report.figures.update(frames=sum(answers.values()), seconds=round(time.monotonic() - started, 1))
    report.figures.update({f"answer: {k}": v for k, v in sorted(answers.items())}, **delivery.figures())
    report.saw(", ".join(f"{v} x {k}" for k, v in answers.most_common()))
    report.saw(delivery.describe())
    bad = {k: v for k, v in answers.items() if not k.startswith("error")}
    if bad:
        report.judge(Verdict.HURT, f"deep frames closed or went unanswered: {bad} (INPUT-009: bad_json, kept open)")
    else:
        report.judge(Verdict.HELD, f"all {sum(answers.values())} deep frames answered with an error notice")
    report.judge(Verdict.HURT if delivery.hurt else Verdict.HELD, delivery.describe())
    return report
