"""What a run spends on the target's AI budget: planned before the checks start, counted after they end.

The plan adds each selected check's own AI requests (`Check.ai`) and every shared exchange they read once
(`Check.shares`, roomwire.conformance.shared). At `ai_budget_rpm` questions a minute it says how long the run
must at least take, which the report prints next to what was spent (`AiBudget.summary`) and the upstream calls
the double journaled for this run (every question the suite asks carries the run id).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from roomwire.conformance.registry import Check
from roomwire.conformance.session import Session
from roomwire.conformance.shared import Exchange
from roomwire.spec.errors import HarnessError


def planned_requests(checks: Iterable[Check]) -> tuple[int, int]:
    """(the checks' own AI requests, those of the shared exchanges they read, each counted once)."""
    checks = list(checks)
    exchanges: dict[str, Any] = {ex.name: ex for c in checks for ex in c.shares}
    return sum(c.ai for c in checks), sum(ex.ai_requests for ex in exchanges.values())


def exchanges_first(checks: Iterable[Check]) -> list[Exchange[Any]]:
    """The shared exchanges the checks read, those of slow checks first (the silent upstream lasts the target's
    whole ai_timeout_s): the order the runner starts them in, before any check."""
    found: dict[str, tuple[bool, Exchange[Any]]] = {}
    for check in checks:
        for exchange in check.shares:
            slow = check.slow or found.get(exchange.name, (False, exchange))[0]
            found[exchange.name] = (slow, exchange)
    return [ex for slow, ex in sorted(found.values(), key=lambda item: not item[0])]


def ai_plan(session: Session, checks: Iterable[Check]) -> str:
    """One line for the report: how many AI requests the selected checks make, and the least time they need."""
    own, shared = planned_requests(checks)
    total = own + shared
    rpm = session.ai.rpm  # the budget the run paces by (--ai-budget-rpm when the target advertises none)
    if total == 0:
        return "no AI requests"
    minutes = max(0, math.ceil(total / rpm) - 1)
    pace = f"at ai_budget_rpm {rpm}: " + (f"at least {minutes} min of waiting" if minutes else "within one window")
    return f"{total} AI requests ({shared} shared by several checks, {own} checks' own) plus the budget drain; {pace}"


def load(session: Session) -> str:
    """What the run sent the target, for the report: connections opened and frames each way."""
    transcripts = session.transcripts
    sent = sum(1 for t in transcripts for e in t.events if e.direction == ">")
    received = sum(t.frames_in for t in transcripts)
    return f"{len(transcripts)} connections opened, {sent} frames sent, {received} received"


async def upstream_calls(session: Session) -> str:
    """The upstream calls the double journaled for this run's questions, or why they cannot be counted."""
    if session.upstream is None:
        return "not counted (no --double)"
    try:
        calls = await session.upstream.journal(session.run_id)
    except HarnessError as exc:
        return f"not counted: {exc}"
    return f"{len(calls)} (the double's journal: requests carrying this run's id {session.run_id})"
