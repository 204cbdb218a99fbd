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
    assert html.startswith("<!doctype html>") and "CHAT-001" in html and "&lt;" not in "x"


def test_every_report_opens_with_the_nine_items_and_the_runs_facts(tmp_path: Path) -> None:
    """Console, JSON, JUnit and HTML: the items (status, counts, reason) and the facts before any requirement."""
    run = sample()
    text = render(run)
    opening = text[: text.index("Facts")]
    assert "roomwire/1 · 0/9 checklist items hold (1 fail, 8 not judged)" in opening
    assert "target: ws://x/{room_id} · profile: roomwire/1 · double: none" in opening
    assert "FAIL       3. A's message shows up" in opening and "failed: CHAT-001" in opening
    assert "NOT JUDGED 1. API key" in opening and "SEC-001 skipped: needs a canary" in opening
    data = to_json(run)
    assert list(data)[:5] == ["tool", "version", "profile", "checklist_summary", "checklist"]
    assert data["checklist_summary"] == {
        "profile": "roomwire/1",
        "held": 0,
        "of": 9,
        "pass": 0,
        "fail": 1,
        "warn": 0,
        "not_judged": 8,
    }
    items = data["checklist"]
    assert isinstance(items, list)
    item3 = items[2]
    assert (item3["item"], item3["status"], item3["counts"]["fail"]) == (3, "fail", 1)
    assert {"id": "CHAT-001", "level": "MUST", "label": "fail", "status": "fail"} in item3["requirements"]
    write_junit(run, tmp_path / "j.xml")
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert suite[0].tag == "properties"
    properties = {p.get("name"): p.get("value", "") for p in suite[0]}
    assert properties["profile"] == "roomwire/1" and properties["checklist item 3"].startswith("FAIL: A's message")
    assert "0/9 checklist items hold" in (suite.findtext("system-out") or "")


def test_html_goes_from_an_item_to_its_requirements_to_the_evidence(tmp_path: Path) -> None:
    """Click 1 opens the item (a failed one is open already), click 2 follows a requirement to its row, whose
    evidence shows as the link's target."""
    write_html(sample(), tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    item = html[html.index("<details id=item-3 open>") : html.index("</details>", html.index("id=item-3"))]
    assert "<a href='#req-CHAT-001'>CHAT-001</a>" in item
    row = html[html.index("<tr id=req-CHAT-001>") :]
    assert row.index("<div class=ev><pre>c1: expected x") < row.index("</tr>")
    assert "tr:target .ev{display:block}" in html and html.index("id=item-1") < html.index("<h2>Facts</h2>")


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
