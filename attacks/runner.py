"""Runs attacks one after another, each timed, each turned into a report even when it could not finish.

An attack that raises (the target went away, a refused connection it needed) is reported `inconclusive` with
what it raised: a script that dies with a traceback tells its user less than one that says what stopped it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from roomwire.attacks import ATTACKS
from roomwire.attacks.report import AttackReport, Verdict
from roomwire.attacks.target import AttackTarget


async def run_attack(name: str, target: AttackTarget, *, canary: str | None = None) -> AttackReport:
    module = importlib.import_module(ATTACKS[name])
    started = time.monotonic()
    try:
        if name == "log-forgery":
            report: AttackReport = await module.run(target, canary=canary)
        else:
            report = await module.run(target)
    except Exception as exc:  # the target failed the attack's own steps: say so, as a verdict
        report = AttackReport(name, target.endpoint.template)
        report.saw(f"the attack stopped: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        report.judge(Verdict.INCONCLUSIVE, f"could not finish ({type(exc).__name__})")
    report.duration_s = time.monotonic() - started
    return report


async def run_attacks(
    names: list[str], target: AttackTarget, *, canary: str | None = None, echo: Callable[[str], object] = print
) -> list[AttackReport]:
    reports = []
    for name in names:
        report = await run_attack(name, target, canary=canary)
        echo(report.render() + "\n")
        reports.append(report)
    return reports
