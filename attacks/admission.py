"""Class 7, admission: what an outsider can make the upgrade accept (issue 13, finding 7; SPEC.md CONN-002,
SEC-006, SEC-007, SEC-010 and the per-address limits).

Probes, each its own finding: a percent-escaped room (`%61` is not `a`); the DNS-rebinding shape (`Host:
evil.example` with a matching Origin); a loopback Origin for a server reached under another host; join/leave
cycles that each claim another `X-Forwarded-For` (held when they are refused like plain ones); and connections
from one address past the per-address limit (held when some are refused with `too_many_connections`).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from roomwire.attacks.probes import cycle, open_ws, shut, until
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget
from roomwire.conformance.raw_http import upgrade_status

NAME = "admission"
#: Connections the per-address probe opens at scale 1: past the spec's default limit (256, LIMIT-006).
FULL_ADDRESS_PROBE = 300
SUMMARY = "%61 rooms, Host rebinding, loopback origins, X-Forwarded-For and per-address limits (finding 7)"


async def _status(target: AttackTarget, room_path: str, headers: dict[str, str] | None = None) -> int | str:
    return await upgrade_status(target.endpoint, None, room_path, headers, 5.0)


def _refused(status: int | str) -> bool:
    return isinstance(status, int) and 400 <= status < 500


async def _probe_upgrades(target: AttackTarget, report: AttackReport) -> None:
    port = target.endpoint.port
    name = f"rebind-{secrets.token_hex(4)}.example.invalid"
    probes = {
        "room %61 (percent-escaped `a`)": ("%61", None),
        f"Host: {name} with Origin http://{name}": ("a", {"Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}),
        "Origin http://localhost:5173 for Host 192.0.2.10": (
            "a", {"Host": f"192.0.2.10:{port}", "Origin": "http://localhost:5173"},
        ),
    }  # fmt: skip
    for what, (room, headers) in probes.items():
        status = await _status(target, room, headers)
        report.did(f"upgrade with {what}")
        report.saw(f"{what}: HTTP {status}")
        report.figures[what] = status
        report.judge(Verdict.HELD if _refused(status) else Verdict.HURT, f"{what}: {status}")


async def _probe_forwarded_for(target: AttackTarget, report: AttackReport, cycles: int) -> None:
    outcomes = Counter[str]()
    for n in range(cycles):
        spoof = {"X-Forwarded-For": f"198.51.100.{n % 250 + 1}"}
        outcomes[(await cycle(target, "atk-xff", f"x{n}", headers=spoof)).split(" ")[0]] += 1
        if outcomes["refused"]:
            break
    report.did(f"up to {cycles} join/leave cycles in one room, each with another X-Forwarded-For")
    report.saw(f"X-Forwarded-For cycles: {dict(outcomes)}")
    report.figures["xff cycles welcomed"] = outcomes["welcomed"]
    if outcomes["refused"]:
        report.judge(Verdict.HELD, f"X-Forwarded-For did not reset the join budget ({outcomes['welcomed']} welcomed)")
    else:
        report.judge(Verdict.HURT, f"all {sum(outcomes.values())} cycles welcomed: the client chose its address")


async def _probe_address_limit(target: AttackTarget, report: AttackReport, count: int) -> None:
    opened: list[ClientConnection] = []
    outcome = Counter[str]()
    try:
        for n in range(count):
            try:
                ws = await open_ws(target, f"atk-addr-{n // 20}", query=f"nickname=a{n}")
            except (OSError, TimeoutError, InvalidStatus) as exc:
                outcome[f"failed {type(exc).__name__}"] += 1
                break
            opened.append(ws)
            frame = await until(ws, {"welcome", "error"}, 5.0)
            code = "welcomed" if frame is not None and frame.get("event") == "welcome" else "refused"
            outcome[code] += 1
            if code == "refused":
                break
    finally:
        await asyncio.gather(*(shut(ws) for ws in opened))
    report.did(f"up to {count} simultaneous connections from one address (20 a room)")
    report.saw(f"simultaneous connections: {dict(outcome)}")
    report.figures["simultaneous connections welcomed"] = outcome["welcomed"]
    if outcome["refused"]:
        report.judge(Verdict.HELD, f"a per-address limit refused connection {outcome['welcomed'] + 1}")
    elif outcome["welcomed"] >= FULL_ADDRESS_PROBE:
        report.judge(Verdict.HURT, f"{outcome['welcomed']} connections from one address, none refused")
    else:
        report.judge(Verdict.INCONCLUSIVE, f"{outcome['welcomed']} connections welcomed: too few to find a limit")


async def run(target: AttackTarget) -> AttackReport:
    report = AttackReport(NAME, target.endpoint.template)
    await _probe_upgrades(target, report)
    await _probe_forwarded_for(target, report, target.bounds.count(120, least=40))
    await _probe_address_limit(target, report, target.bounds.count(FULL_ADDRESS_PROBE, least=20))
    return report
