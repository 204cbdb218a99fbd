"""Reports: the console grouping and evidence, JSON fields, JUnit XML that parses, an HTML page."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

from roomwire.conformance.outcomes import CheckResult, Evidence, Status
from roomwire.conformance.report import ConsoleProgress, label, render
from roomwire.conformance.report_files import to_json, write_html, write_json, write_junit
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.spec.requirements import catalog

TRANSCRIPT = {"connection": "A", "url": "ws://x/r", "omitted": 0, "events": [{"t": 0.1, "dir": "<", "text": "{}"}]}


def sample() -> RunResult:
    req = catalog()
    failed = CheckResult(
        "c1", "CHAT-001", Status.FAIL, "expected x; got y", 0.5, Evidence("x", "y", transcripts=[TRANSCRIPT])
    )
    errored = CheckResult("c2", "PRES-002", Status.ERROR, "KeyError", 0.1, Evidence(traceback="Traceback\nKeyError"))
    results = {
        "CHAT-001": RequirementResult(req["CHAT-001"], Status.FAIL, failed.detail, [failed]),
        "CHAT-005": RequirementResult(
            req["CHAT-005"], Status.FAIL, "a gap", [CheckResult("c3", "CHAT-005", Status.FAIL, "a gap")]
        ),
        "PRES-002": RequirementResult(req["PRES-002"], Status.ERROR, "KeyError", [errored]),
        "SEC-001": RequirementResult(req["SEC-001"], Status.SKIP, "needs a canary", []),
        "CONN-001": RequirementResult(
            req["CONN-001"], Status.PASS, "held", [CheckResult("c4", "CONN-001", Status.PASS, "held")]
        ),
    }
    return RunResult(results, 1.5, {"target": "ws://x/{room_id}", "limits": {}})


def test_console_groups_by_checklist_item_and_shows_evidence() -> None:
    run = sample()
    text = render(run)
    assert text.index("1. API key") < text.index("SEC-001") < text.index("2. WebSocket") < text.index("CONN-001")
    assert "WARN  CHAT-005" in text and "FAIL  CHAT-001" in text and "ERROR PRES-002" in text
    assert "expected: x" in text and "actual:   y" in text and "0.100s < {}" in text and "KeyError" in text
    assert "1 pass, 2 fail, 1 skip, 1 error in 1.5 s; exit 3" in text
    assert label(run.results["CHAT-005"], strict=True) == "FAIL"
    assert "FAIL  CHAT-005" in render(run, strict=True)


def test_json_has_the_fields_ci_reads(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_json(sample(), path)
    write_json(sample(), tmp_path / "new" / "dir" / "report.json")
    data = json.loads(path.read_text())
    assert data["exit_code"] == 3 and data["summary"] == {"pass": 1, "fail": 2, "skip": 1, "error": 1}
    chat = next(r for r in data["requirements"] if r["id"] == "CHAT-001")
    assert {"id", "level", "checklist", "status", "detail"} <= set(chat)
    assert (chat["level"], chat["checklist"], chat["status"]) == ("MUST", [3], "fail")
    assert chat["checks"][0]["evidence"]["transcripts"][0]["events"][0]["dir"] == "<"
    assert to_json(sample(), strict=True)["strict"] is True


def test_junit_parses_with_one_testcase_per_requirement(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(sample(), path)
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "5" and suite.get("failures") == "2"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["CHAT-001 MUST"].find("failure") is not None
    assert cases["PRES-002 MUST"].find("error") is not None
    assert cases["SEC-001 MUST"].find("skipped") is not None
    assert cases["CHAT-005 SHOULD"].find("skipped") is not None  # a WARN unless --strict
    assert cases["CONN-001 MUST"].find("failure") is None


def test_html_is_written(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_html(sample(), path)
    html = path.read_text()
    assert html.startswith("<!doctype html>") and "CHAT-001" in html and "<details>" in html and "&lt;" not in "x"


def test_progress_lines_without_a_terminal() -> None:
    stream = io.StringIO()
    progress = ConsoleProgress(2, stream)
    progress("c1", None)
    progress("c1", CheckResult("c1", "CHAT-001", Status.PASS, "ok", 0.25))
    assert stream.getvalue() == "[  1/2] PASS  CHAT-001   c1 (0.2 s)\n"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_updates_one_line_on_a_terminal() -> None:
    stream = FakeTty()
    progress = ConsoleProgress(1, stream)
    progress("c1", None)
    progress("c1", CheckResult("c1", "CHAT-001", Status.PASS, "ok"))
    assert "\r\x1b[K[  0/1] c1" in stream.getvalue() and stream.getvalue().endswith("\r\x1b[K")


def test_page_assets_are_same_origin_scripts_and_styles() -> None:
    from roomwire.conformance.http_probe import page_assets

    html = """<script src="/app.js"></script><link rel=stylesheet href='css/a.css'>
    <script src="https://cdn.example/x.js"></script><script src="/app.js"></script>"""
    assert page_assets("http://h:1", html) == ["http://h:1/app.js", "http://h:1/css/a.css"]
