"""The issue's "done when", as tests: `roomwire check` with no URL passes the reference (nothing failed, every
skip explained); against the seed's FastAPI copy wired to the Gemini double it exits 1 and names the seed's
real failures (docs/conformance.md maps them to issue 4's list)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import roomwire.conformance.checks  # noqa: F401 - registers the checks
from roomwire.cli import main
from roomwire.conformance import bundled
from roomwire.conformance.checks.logs import LOG_CHECKS
from roomwire.conformance.registry import NOT_COVERED, REGISTRY, Need
from roomwire.spec.requirements import catalog

#: What the seed's design breaks, found by the suite (each explained in docs/conformance.md).
SEED_FAILS = frozenset(
    """CONN-002 CONN-003 FRAME-004 INPUT-001 INPUT-002 INPUT-003 INPUT-004 INPUT-006 INPUT-007 INPUT-008
    IDENT-001 IDENT-002 IDENT-003 IDENT-004 CHAT-002 CHAT-004 PRES-001 PRES-006 PRES-007 AI-002 AI-005 AI-006
    AI-010 AI-012 UP-001 UP-002 UP-003 UP-004 UP-005 UP-006 UP-007 UP-008 ERR-001 ERR-002 LIMIT-001 LIMIT-002
    LIMIT-003 LIMIT-005 RECON-002 FLOW-001 FLOW-002 SEC-003 SEC-004
    INPUT-009 LIMIT-007 LIMIT-009 SEC-006 SEC-010""".split()
)
#: Races inside the seed, which show in some runs only: failure 3 (two members closing at once), and whether the
#: asker's departure kills the handler (and with it the upstream request) before the answer ends (AI-011).
SEED_RACY = frozenset({"PRES-002", "AI-011"})
#: On a loaded machine these may be skipped with their reason (the suite could not provoke the situation).
LOAD_DEPENDENT = frozenset({"FLOW-002", "LIMIT-003"})
#: Requirements whose every check needs --browser (the page's behaviour): SKIP "needs --browser PAGE_URL" here
#: (--no-browser; the bundled reference's page is used by default when chromium is installed);
#: `tox -e conformance` runs the whole suite with the browser too, and requires those to pass.
BROWSER_ONLY = frozenset(
    rid
    for rid in REGISTRY.known
    if REGISTRY.for_requirement(rid) and all(Need.BROWSER in c.needs for c in REGISTRY.for_requirement(rid))
)


def statuses(path: Path) -> dict[str, str]:
    return {r["id"]: r["status"] for r in json.loads(path.read_text())["requirements"]}


def checks(path: Path) -> list[dict[str, str]]:
    """Every check's result in a JSON report, with its requirement's id."""
    return [{**c, "id": r["id"]} for r in json.loads(path.read_text())["requirements"] for c in r["checks"]]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_bundled_reference_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a larger advertised AI budget, so the test takes seconds: `tox -e conformance` runs the bundled
    reference on SPEC.md's default budget of 10 a minute."""
    monkeypatch.setattr(bundled, "BUNDLED_SETTINGS", {**bundled.BUNDLED_SETTINGS, **bundled.TEST_AI_BUDGET})
    report = tmp_path / "reference.json"
    code = main(["check", "--no-browser", "--report-json", str(report)])  # with it: tests/browser
    found = statuses(report)
    bad = {rid: s for rid, s in found.items() if s in ("fail", "error")}
    skipped = {rid for rid, s in found.items() if s == "skip"}
    assert code == 0 and not bad, capsys.readouterr().out[-5000:]
    assert skipped <= {"CONN-005", *NOT_COVERED, *LOAD_DEPENDENT, *BROWSER_ONLY}
    assert BROWSER_ONLY == {"CLIENT-001", "CLIENT-002", "CLIENT-004", "CLIENT-005"}
    assert len(found) == len(catalog())
    for rid, check in LOG_CHECKS.items():  # the log side judged on the log the suite kept of the bundled target
        (mine,) = [c for c in checks(report) if (c["id"], c["check"]) == (rid, check)]
        assert mine["status"] == "pass" and "line(s) of the bundled target's stderr" in mine["detail"], mine


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_seeds_copy_fails_as_the_seed_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "seed.json"
    # the seed advertises no budget (and enforces none): pace by a large one, or the run waits minutes for nothing
    code = main(["check", "--bundled", "seed", "--ai-budget-rpm", "120", "--report-json", str(report)])
    found = statuses(report)
    failed = {rid for rid, s in found.items() if s == "fail"}
    assert code == 1, capsys.readouterr().out[-5000:]
    assert not [rid for rid, s in found.items() if s == "error"]
    must_fail = SEED_FAILS - LOAD_DEPENDENT
    assert must_fail <= failed <= SEED_FAILS | SEED_RACY, (sorted(failed - SEED_FAILS), sorted(must_fail - failed))
    # Under load the suite may not provoke these; then they are skipped with the reason, never passed.
    assert {found[rid] for rid in SEED_FAILS & LOAD_DEPENDENT} <= {"fail", "skip"}
    # The seed logs Google's whole error body (uvicorn's traceback of the SDK's exception): the key of a key_echo
    # and of an invalid_key_debug, and Google's error text, are in its log; its frames carry no upstream text.
    judged = {(c["id"], c["check"]): c for c in checks(report)}
    key, text = judged["SEC-003", LOG_CHECKS["SEC-003"]], judged["UP-008", LOG_CHECKS["UP-008"]]
    assert key["status"] == "fail" and "the canary key in " in key["detail"], key
    assert "line(s): the bundled target's stderr line " in key["detail"], key
    assert text["status"] == "fail" and "line(s): the bundled target's stderr line " in text["detail"], text
    assert judged["UP-008", "upstream_error_text_never_reaches_a_client"]["status"] == "pass"
    assert "AIzaCANARY" not in key["detail"] + text["detail"]  # neither the key nor a part of it
