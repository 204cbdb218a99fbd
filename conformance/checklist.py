"""The answer first: the seed's nine checklist items, each pass / fail / warn / not judged, from a run's verdicts.

An item's requirements are the row of the run's profile's checklist table (SPEC.md §15 for `roomwire/1`; a
profile brings its own table through `TABLES`). Each requirement is labelled as its report row is: PASS, FAIL,
WARN (a SHOULD or MAY that failed, unless `--strict`, where it is FAIL), SKIP or ERROR; a requirement the run did
not select (`--only`, `--level`) is "not run", and one no black-box check can observe (registry.NOT_COVERED) is
"out of reach". The item's status is the first that applies:

    fail        a requirement of the item is FAIL (a MUST failed; under --strict, any requirement failed)
    not judged  a requirement is ERROR (the suite could not judge it), or a MUST is SKIP or not run; out of
                reach MUSTs never decide an item, and an item none of whose requirements was judged is not judged
    warn        a SHOULD or MAY is WARN
    pass        every MUST the suite can observe passed (a SKIP SHOULD or MAY does not matter)

So "pass" is a claim only where every MUST behind it was exercised; what kept an item from a verdict is named in
its `reason`, with what would let it run (`--double`, `--browser`, ...). An item *holds* when it passes or warns
(its MUSTs held): `held` of 9 is the badge's number.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from roomwire.conformance.outcomes import Status
from roomwire.conformance.registry import NOT_COVERED
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.spec.requirements import CHECKLIST, Level, checklist_table, requirement

#: The profile a run judges when its facts name none (SPEC.md's own protocol).
DEFAULT_PROFILE = "roomwire/1"

#: Per profile, its checklist table: item -> requirement IDs. A profile (`--profile seed`) registers its own.
TABLES: dict[str, Callable[[], Mapping[int, tuple[str, ...]]]] = {DEFAULT_PROFILE: checklist_table}

NOT_RUN = "not run"
OUT_OF_REACH = "out of reach"
ROW_LABELS = ("pass", "fail", "warn", "skip", "error", NOT_RUN, OUT_OF_REACH)


class ItemStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_JUDGED = "not_judged"

    @property
    def shown(self) -> str:
        """How people read it: PASS, FAIL, WARN, NOT JUDGED."""
        return self.value.replace("_", " ").upper()


def label(result: RequirementResult, strict: bool) -> str:
    """The requirement's row label: its status, except a failed SHOULD or MAY is WARN unless `strict`."""
    if result.status is Status.FAIL and result.requirement.level is not Level.MUST and not strict:
        return "WARN"
    return result.status.value.upper()


@dataclass(frozen=True)
class ItemVerdict:
    """One checklist item's status and the requirement labels it came from."""

    item: int
    title: str
    status: ItemStatus
    reason: str
    rows: tuple[tuple[str, str], ...]  # (requirement ID, label: PASS FAIL WARN SKIP ERROR, not run, out of reach)

    @property
    def held(self) -> bool:
        return self.status in (ItemStatus.PASS, ItemStatus.WARN)

    def counts(self) -> dict[str, int]:
        """Requirements per label: pass, fail, warn, skip, error, not_run, out_of_reach."""
        counts = {name.replace(" ", "_"): 0 for name in ROW_LABELS}
        for _, row in self.rows:
            counts[row.lower().replace(" ", "_")] += 1
        return counts

    def counts_text(self) -> str:
        return ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in self.counts().items() if n)

    def deciding(self) -> list[str]:
        """The requirements that made the status: the FAILs of a failed item, the ERRORs and the skipped or
        unselected MUSTs of an unjudged one, the WARNs of a warned one."""
        if self.status is ItemStatus.FAIL:
            return [rid for rid, row in self.rows if row == "FAIL"]
        if self.status is ItemStatus.WARN:
            return [rid for rid, row in self.rows if row == "WARN"]
        if self.status is ItemStatus.NOT_JUDGED:
            return [
                rid
                for rid, row in self.rows
                if row == "ERROR" or (row in ("SKIP", NOT_RUN) and requirement(rid).level is Level.MUST)
            ]
        return []

    def to_json(self, run: RunResult) -> dict[str, object]:
        return {
            "item": self.item,
            "title": self.title,
            "status": self.status.value,
            "reason": self.reason,
            "counts": self.counts(),
            "requirements": [
                {"id": rid, "level": requirement(rid).level.value, "label": row.lower().replace(" ", "_")}
                | ({"status": run.results[rid].status.value} if rid in run.results else {})
                for rid, row in self.rows
            ],
        }


def profile_of(run: RunResult) -> str:
    return str(run.facts.get("profile") or DEFAULT_PROFILE)


def table_for(profile: str) -> Mapping[int, tuple[str, ...]]:
    return TABLES.get(profile, checklist_table)()


def _row(rid: str, run: RunResult, strict: bool) -> str:
    result = run.results.get(rid)
    if result is None:
        return OUT_OF_REACH if rid in NOT_COVERED else NOT_RUN
    if result.status is Status.SKIP and rid in NOT_COVERED:
        return OUT_OF_REACH
    return label(result, strict)


def _reason(status: ItemStatus, rows: list[tuple[str, str]], run: RunResult) -> str:
    def named(ids: list[str], limit: int = 4) -> str:
        shown = ", ".join(ids[:limit])
        return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

    def of(labels: tuple[str, ...], musts_only: bool = False) -> list[str]:
        return [r for r, row in rows if row in labels and (not musts_only or requirement(r).level is Level.MUST)]

    if status is ItemStatus.FAIL:
        return f"failed: {named(of(('FAIL',)))}"
    if status is ItemStatus.NOT_JUDGED:
        parts = []
        if errors := of(("ERROR",)):
            parts.append(f"the suite could not judge {named(errors)}")
        for rid in of(("SKIP",), musts_only=True)[:2]:
            parts.append(f"{rid} skipped: {textwrap.shorten(run.results[rid].detail, 160, placeholder=' …')}")
        if len(skipped := of(("SKIP",), musts_only=True)) > 2:
            parts.append(f"{len(skipped) - 2} more MUSTs skipped")
        if unrun := of((NOT_RUN,), musts_only=True):
            parts.append(f"not selected: {named(unrun)}")
        return "; ".join(parts) or "none of its requirements was judged"
    if status is ItemStatus.WARN:
        return f"every MUST held; a SHOULD failed: {named(of(('WARN',)))}"
    reach = of((OUT_OF_REACH,))
    return "every MUST held" + (f"; out of reach of a black-box suite: {named(reach)}" if reach else "")


def judge_item(item: int, ids: tuple[str, ...], run: RunResult, strict: bool) -> ItemVerdict:
    """One item's verdict by the rules of the module docstring."""
    rows = [(rid, _row(rid, run, strict)) for rid in ids]
    musts = [row for rid, row in rows if requirement(rid).level is Level.MUST]
    judged = [row for _, row in rows if row in ("PASS", "FAIL", "WARN")]
    if any(row == "FAIL" for _, row in rows):
        status = ItemStatus.FAIL
    elif any(row == "ERROR" for _, row in rows) or any(row in ("SKIP", NOT_RUN) for row in musts) or not judged:
        status = ItemStatus.NOT_JUDGED
    elif any(row == "WARN" for _, row in rows):
        status = ItemStatus.WARN
    else:
        status = ItemStatus.PASS
    return ItemVerdict(item, CHECKLIST[item], status, _reason(status, rows, run), tuple(rows))


@dataclass(frozen=True)
class Checklist:
    """The nine items of one run, under its profile."""

    profile: str
    items: tuple[ItemVerdict, ...]

    @property
    def held(self) -> int:
        return sum(1 for item in self.items if item.held)

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in ItemStatus}
        for item in self.items:
            counts[item.status.value] += 1
        return counts

    def headline(self) -> str:
        """'roomwire/1 · 7/9' and what the other items are."""
        counts = self.counts()
        rest = [f"{counts[s.value]} {s.value.replace('_', ' ')}" for s in ItemStatus if counts[s.value]]
        return f"{self.profile} · {self.held}/{len(self.items)} checklist items hold ({', '.join(rest)})"

    def summary_json(self) -> dict[str, object]:
        return {"profile": self.profile, "held": self.held, "of": len(self.items), **self.counts()}


def checklist(run: RunResult, *, strict: bool = False) -> Checklist:
    """The run's nine items under the profile its facts name."""
    profile = profile_of(run)
    table = table_for(profile)
    return Checklist(profile, tuple(judge_item(item, table.get(item, ()), run, strict) for item in CHECKLIST))


def run_facts(run: RunResult) -> list[tuple[str, str]]:
    """The facts a reader needs beside the items: target, profile, double, canary, browser, duration."""
    facts = run.facts
    shown = [("target", str(facts.get("target", "?"))), ("profile", profile_of(run))]
    shown.append(("double", str(facts.get("double", "none: the upstream checks are SKIP (--double URL)"))))
    shown.append(("canary", str(facts.get("canary", "none"))))
    if "browser" in facts:
        shown.append(("browser", str(facts["browser"])))
    shown.append(("duration", f"{run.duration:.1f} s"))
    return shown
