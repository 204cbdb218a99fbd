"""The console report: one row per requirement under the seed's nine checklist items, then the evidence.

Rows are grouped under the first checklist item each requirement serves (its other items are listed in the
row). A failed SHOULD or MAY shows as WARN unless `--strict`, as h2spec and Autobahn ("non-strict") do; in
the JSON report it stays `fail` with its level, so machines need no second vocabulary. Each FAIL and ERROR is
followed by its evidence: expected, actual, and the transcripts of its connections with timestamps.
"""

from __future__ import annotations

import sys
import textwrap
from typing import TextIO

from roomwire.conformance.checklist import checklist, run_facts
from roomwire.conformance.checklist import label as label
from roomwire.conformance.outcomes import CheckResult, Status
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.spec.requirements import CHECKLIST

EVIDENCE_EVENTS = 30


def _row(result: RequirementResult, strict: bool, width: int) -> list[str]:
    req = result.requirement
    items = ",".join(map(str, req.items))
    head = f"  {label(result, strict):5} {req.id:10} {req.level.value:6} items {items:8} "
    detail = textwrap.shorten(result.detail, width=max(40, width - len(head)), placeholder=" …")
    return [head + detail]


def _evidence(result: CheckResult) -> list[str]:
    lines = [f"    check {result.check} ({result.duration:.2f} s)"]
    evidence = result.evidence
    if evidence is None:
        return lines + [f"      {result.detail}"]
    if evidence.expected:
        lines.append(f"      expected: {evidence.expected}")
        lines.append(f"      actual:   {evidence.actual}")
    if evidence.traceback:
        lines += ["      " + line for line in evidence.traceback.rstrip().splitlines()[-12:]]
    for transcript in evidence.transcripts:
        lines.append(f"      connection {transcript.get('connection')} ({transcript.get('url')})")
        events = transcript.get("events")
        if isinstance(events, list):
            if len(events) > EVIDENCE_EVENTS:
                lines.append(f"        … {len(events) - EVIDENCE_EVENTS} earlier events (all in the JSON report)")
            for event in events[-EVIDENCE_EVENTS:]:
                if isinstance(event, dict):
                    text = textwrap.shorten(str(event.get("text", "")), 160, placeholder=" …")
                    lines.append(f"        {float(event.get('t', 0)):9.3f}s {event.get('dir')} {text}")
    return lines


def answer_first(run: RunResult, *, strict: bool = False, width: int = 140) -> list[str]:
    """The report's opening: the nine checklist items with their status, counts and reason, and the run's facts."""
    items = checklist(run, strict=strict)
    lines = [items.headline(), "  " + " · ".join(f"{name}: {value}" for name, value in run_facts(run)), ""]
    for item in items.items:
        head = f"  {item.status.shown:10} {item.item}. {item.title}"
        lines.append(f"{head:<{min(width, 96)}} {item.counts_text()}")
        lines.append(textwrap.shorten(item.reason, width=width - 13, initial_indent=" " * 13, placeholder=" …"))
    counts = run.counts()
    lines += [
        "",
        f"  requirements: {counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip, {counts['error']} "
        f"error; exit {run.exit_code(strict=strict)} (how an item's status is decided: docs/conformance.md#reports)",
    ]
    return lines


def render(run: RunResult, *, strict: bool = False, width: int = 140) -> str:
    """The whole report as text: the answer first, then the facts, every requirement's row, and the evidence."""
    lines = ["roomwire conformance report", *answer_first(run, strict=strict, width=width), "", "Facts"]
    lines += [f"  {name}: {value}" for name, value in run.facts.items() if name != "limits"]
    shown: set[str] = set()
    for item, title in CHECKLIST.items():
        rows = [r for r in run.results.values() if r.requirement.items[0] == item and r.requirement.id not in shown]
        if not rows:
            continue
        lines += ["", f"{item}. {title}"]
        for result in rows:
            shown.add(result.requirement.id)
            lines += _row(result, strict, width)
    bad = [r for r in run.results.values() if r.status in (Status.FAIL, Status.ERROR)]
    if bad:
        lines += ["", "Evidence"]
        for result in bad:
            lines.append(
                f"  {label(result, strict)} {result.requirement.id} ({result.requirement.level.value}): "
                f"{result.requirement.text}"
            )
            for check in result.checks:
                if check.status in (Status.FAIL, Status.ERROR):
                    lines += _evidence(check)
    counts = run.counts()
    lines += [
        "",
        f"{counts['pass']} pass, {counts['fail']} fail, {counts['skip']} skip, {counts['error']} error "
        f"in {run.duration:.1f} s; exit {run.exit_code(strict=strict)}",
        "WARN = a SHOULD or MAY failed (fails the run only with --strict). ERROR = the suite could not judge (exit 3).",
    ]
    return "\n".join(lines) + "\n"


class ConsoleProgress:
    """Progress while the run goes: one updating line on a terminal, one line per finished check otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.running: list[str] = []

    def __call__(self, name: str, result: CheckResult | None) -> None:
        if result is None:
            self.running.append(name)
        else:
            self.done += 1
            if name in self.running:
                self.running.remove(name)
        if self.tty:
            current = ", ".join(self.running[:3]) + (" …" if len(self.running) > 3 else "")
            self.stream.write(f"\r\x1b[K[{self.done:3}/{self.total}] {current}"[:200])
            if self.done == self.total:
                self.stream.write("\r\x1b[K")
        elif result is not None:
            self.stream.write(
                f"[{self.done:3}/{self.total}] {result.status.value.upper():5} {result.requirement_id:10} {name} "
                f"({result.duration:.1f} s)\n"
            )
        self.stream.flush()
