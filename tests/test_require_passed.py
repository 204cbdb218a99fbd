"""tools/require_passed.py, the conformance env's gate: a skipped browser requirement fails it, as a failed one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "require_passed.py"


def report(**statuses: str) -> dict[str, object]:
    return {
        "requirements": [
            {"id": rid.replace("_", "-"), "status": s, "checks": [{"check": "c", "detail": f"{s} here"}]}
            for rid, s in statuses.items()
        ]
    }


def test_only_passed_requirements_satisfy_it(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report(CLIENT_001="pass", CLIENT_002="skip", CLIENT_004="fail")), encoding="utf-8")
    run = [sys.executable, str(TOOL), str(path)]
    assert subprocess.run([*run, "CLIENT-001"], capture_output=True, check=False).returncode == 0
    wanted = ["CLIENT-001", "CLIENT-002", "CLIENT-004", "CLIENT-005"]
    done = subprocess.run([*run, *wanted], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "require_passed: CLIENT-002: skip (c: skip here)",
        "require_passed: CLIENT-004: fail (c: fail here)",
        "require_passed: CLIENT-005: not in the report",
    ]


def test_the_exit_code_says_it(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report(SEC_005="pass", CLIENT_001="skip")), encoding="utf-8")
    run = [sys.executable, str(TOOL), str(path)]
    assert subprocess.run([*run, "SEC-005"], capture_output=True, check=False).returncode == 0
    failed = subprocess.run([*run, "SEC-005", "CLIENT-001"], capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "CLIENT-001: skip" in failed.stderr
    assert subprocess.run(run, capture_output=True, check=False).returncode == 2


def test_a_run_without_chromium_is_let_through_outside_ci_only(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    found = {**report(CLIENT_001="skip"), "facts": {"browser": "not used; to use the page in chromium: install it"}}
    path.write_text(json.dumps(found), encoding="utf-8")
    run = [sys.executable, str(TOOL), str(path), "CLIENT-001"]
    for ci, code in (("", 0), ("true", 1)):
        done = subprocess.run(run, capture_output=True, text=True, check=False, env={**os.environ, "CI": ci})
        assert done.returncode == code, done.stdout + done.stderr
