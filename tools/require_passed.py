"""Fail unless a `roomwire check --report-json` report shows every named requirement passed.

`tox -e conformance` runs the main job (`roomwire check`, the bundled reference on the spec's default AI budget)
and then this: its exit code alone would also be 0 if the browser checks were skipped (a SKIP fails no run), so
the requirements that only a browser judges, and which must get their turn before the budget is drained, are
required to have passed. A run that used no browser because chromium is missing is let through outside CI (with
the report's reason), as tests/browser skips there; under CI=true it fails, as tests/browser does.
Usage: python tools/require_passed.py REPORT.json RID [RID ...]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def not_passed(report: dict[str, object], wanted: list[str]) -> list[str]:
    """`wanted` requirements that did not pass, each with its status and first check's detail."""
    found = {str(r["id"]): r for r in report["requirements"]}  # type: ignore[attr-defined]
    problems = []
    for rid in wanted:
        requirement = found.get(rid)
        if requirement is None:
            problems.append(f"{rid}: not in the report")
        elif requirement["status"] != "pass":
            details = "; ".join(f"{c['check']}: {c.get('detail', '')}"[:300] for c in requirement["checks"])
            problems.append(f"{rid}: {requirement['status']} ({details})")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.stderr.write(__doc__ or "")
        return 2
    report = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    browser = str(report.get("facts", {}).get("browser", ""))
    if browser.startswith("not used") and os.environ.get("CI", "").lower() != "true":
        sys.stdout.write(f"require_passed: not required outside CI, the run used no browser ({browser})\n")
        return 0
    problems = not_passed(report, argv[1:])
    for problem in problems:
        sys.stderr.write(f"require_passed: {problem}\n")
    if not problems:
        sys.stdout.write(f"require_passed: {', '.join(argv[1:])} passed\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
