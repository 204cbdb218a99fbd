"""Verdicts: what one check concluded, and how a requirement's checks add up to its row in the report.

    pass   the requirement held in every way this check exercised it
    fail   the target broke it: SpecViolation, with expected vs actual and the transcripts as evidence
    skip   no verdict, always with the reason (needs --double, blocked by another requirement's failure, ...)
    error  the harness could not do its job (a bug, the target vanished): never counted against the target

`Skip` is raised by a check that cannot conclude; `Blocked` is a Skip caused by another requirement's failure
(no welcome, upgrade refused), so that one defect fails its own requirement and not every check in the run;
`NotSent` is a Skip for a frame the target's earlier close kept from ever being sent. A check that judges
several requirements marks the ones it could not judge with `CheckContext.not_judged`: SKIP, never a PASS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from roomwire.spec.errors import RoomwireError, SpecViolation


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Skip(RoomwireError):
    """The check cannot reach a verdict; `reason` says why and what would let it run."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Blocked(Skip):
    """The check could not reach its subject because the target broke `requirement_id` first."""

    def __init__(self, requirement_id: str, reason: str) -> None:
        super().__init__(f"blocked by {requirement_id}: {reason}")
        self.requirement_id = requirement_id


class NotSent(Skip):
    """A frame a verdict depends on never left: the target had already closed the connection (after an earlier
    frame, or as collateral of another connection's). No answer to a frame never sent is a verdict."""

    def __init__(self, label: str, what: str, closed: str) -> None:
        super().__init__(f"not judged: {what} was never sent: the target had closed {label}'s connection ({closed})")


class Violations(SpecViolation):
    """Several requirements broken in one completed scenario (the fuzz check goes through every payload):
    each is a FAIL, and the check's other requirements held."""

    def __init__(self, violations: list[SpecViolation]) -> None:
        first = violations[0]
        super().__init__(first.requirement_id, first.expected, first.actual)
        self.violations = violations


@dataclass
class Evidence:
    """Why a check failed or errored: the violation in words and the connections' transcripts."""

    expected: str = ""
    actual: str = ""
    traceback: str = ""
    transcripts: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attachments: dict[str, object] = field(default_factory=dict)  # structured evidence (the browser scan's)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"expected": self.expected, "actual": self.actual}
        if self.traceback:
            data["traceback"] = self.traceback
        if self.notes:
            data["notes"] = self.notes
        data["transcripts"] = self.transcripts
        data.update(self.attachments)
        return data


@dataclass
class CheckResult:
    """One check's verdict on one requirement ID."""

    check: str
    requirement_id: str
    status: Status
    detail: str
    duration: float = 0.0
    evidence: Evidence | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "check": self.check,
            "status": self.status.value,
            "detail": self.detail,
            "duration_s": round(self.duration, 3),
        }
        if self.evidence is not None:
            data["evidence"] = self.evidence.to_json()
        return data


_SEVERITY = {Status.FAIL: 3, Status.ERROR: 2, Status.PASS: 1, Status.SKIP: 0}


def combine(results: list[CheckResult]) -> tuple[Status, str]:
    """A requirement's status from its checks' results, and the detail line the report shows.

    A failure wins over an error (the evidence is real), an error over a pass (something was not checked),
    and a pass with some checks skipped stays a pass but says so: partial coverage is never silent.
    """
    if not results:
        return Status.SKIP, "no check ran"
    worst = max(results, key=lambda r: _SEVERITY[r.status])
    if worst.status is Status.PASS:
        skipped = [r for r in results if r.status is Status.SKIP]
        passed = [r for r in results if r.status is Status.PASS]
        detail = "; ".join(r.detail for r in passed if r.detail) or "held"
        if skipped:
            detail += " (partial: " + "; ".join(f"{r.check} skipped: {r.detail}" for r in skipped) + ")"
        return Status.PASS, detail
    if worst.status is Status.SKIP:
        return Status.SKIP, "; ".join(dict.fromkeys(r.detail for r in results))
    chosen = [r for r in results if r.status is worst.status]
    return worst.status, "; ".join(f"{r.check}: {r.detail}" for r in chosen)
