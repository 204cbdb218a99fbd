"""What an attack did, what it saw, and its verdict: printed for a person and written as JSON (`--report-json`).

Verdicts: `held` (the server answered the attacker and nobody else noticed), `hurt` (the attack cost the server
or other clients something the spec says it must not), `inconclusive` (the attack could not get far enough to
tell, e.g. it needs `--server-log` or a browser). Exit codes: 1 when any attack hurt, else 3 when any was
inconclusive, else 0; 2 for a usage error (nothing ran). Unlike `roomwire check`, where an incomplete run (3)
outranks a failure, a hurt outranks an inconclusive: one attack that hurt is the news, whatever else ran.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from roomwire import __version__


class Verdict(StrEnum):
    HELD = "held"
    HURT = "hurt"
    INCONCLUSIVE = "inconclusive"

    @property
    def exit_code(self) -> int:
        return {Verdict.HELD: 0, Verdict.HURT: 1, Verdict.INCONCLUSIVE: 3}[self]

    @staticmethod
    def worst(verdicts: Iterable[Verdict]) -> Verdict:
        """Hurt, else inconclusive, else held (held when there is none)."""
        found = set(verdicts)
        return next((v for v in (Verdict.HURT, Verdict.INCONCLUSIVE) if v in found), Verdict.HELD)


@dataclass
class Finding:
    """One part of an attack's verdict: what was expected of the server and what it did."""

    verdict: Verdict
    what: str


@dataclass
class AttackReport:
    """One attack's run (see the module docstring)."""

    attack: str
    target: str
    actions: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    duration_s: float = 0.0

    def did(self, text: str) -> None:
        self.actions.append(text)

    def saw(self, text: str) -> None:
        self.observations.append(text)

    def judge(self, verdict: Verdict, what: str) -> None:
        self.findings.append(Finding(verdict, what))

    @property
    def verdict(self) -> Verdict:
        """Hurt if any part hurt; held only if every part held; inconclusive otherwise (or with no part)."""
        if not self.findings:
            return Verdict.INCONCLUSIVE
        return Verdict.worst(f.verdict for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "tool": "roomwire attack",
            "version": __version__,
            "attack": self.attack,
            "target": self.target,
            "verdict": self.verdict.value,
            "duration_s": round(self.duration_s, 3),
            "actions": self.actions,
            "observations": self.observations,
            "figures": self.figures,
            "findings": [{"verdict": f.verdict.value, "what": f.what} for f in self.findings],
        }

    def render(self) -> str:
        lines = [f"roomwire attack {self.attack} against {self.target} ({self.duration_s:.1f} s)", "", "did:"]
        lines += [f"  - {text}" for text in self.actions]
        lines += ["saw:", *(f"  - {text}" for text in self.observations)]
        if self.figures:
            width = max(len(name) for name in self.figures)
            lines += ["figures:", *(f"  {name:<{width}}  {value}" for name, value in self.figures.items())]
        lines += ["verdict:", *(f"  {f.verdict.value.upper():<12} {f.what}" for f in self.findings)]
        lines += ["", f"{self.verdict.value.upper()}: {self.attack}"]
        return "\n".join(lines)


def write_json(reports: list[AttackReport], path: Path) -> None:
    """One report as an object; several (`all`) as {"reports": [...], "verdict": worst}."""
    if len(reports) == 1:
        data: dict[str, Any] = reports[0].to_json()
    else:
        worst = Verdict.worst(r.verdict for r in reports)
        data = {"tool": "roomwire attack", "verdict": worst.value, "reports": [r.to_json() for r in reports]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
