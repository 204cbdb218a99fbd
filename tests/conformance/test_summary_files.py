"""`--markdown` and `--badge`: the answer alone, for a pull-request comment, a CI step summary and a README."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from roomwire.cli import main
from roomwire.conformance import summary_files
from roomwire.conformance.outcomes import Status
from roomwire.conformance.runner import RequirementResult, RunResult
from roomwire.conformance.summary_files import (
    BADGE_COLOURS,
    MARKDOWN_LIMIT,
    badge,
    markdown,
    text_width,
    write_markdown,
)
from roomwire.spec.requirements import catalog
from tests.conformance.toy import toy_in_thread


def run_of(failing: dict[str, str] | None = None, profile: str = "roomwire/1", skip: str = "") -> RunResult:
    failing = failing or {}
    results = {}
    for rid, req in catalog().items():
        status = Status.FAIL if rid in failing else Status.SKIP if rid == skip else Status.PASS
        results[rid] = RequirementResult(req, status, failing.get(rid, "held"))
    return RunResult(results, 3.0, {"target": "ws://t/{room_id}", "profile": profile, "canary": "configured"})


def test_markdown_is_the_table_of_items_then_the_deciding_requirements_folded() -> None:
    text = markdown(run_of({"CHAT-001": "expected a | b; got <nothing>"}))
    assert text.startswith("### roomwire check: roomwire/1 · ")
    assert "**target** ws://t/{room_id} · **profile** roomwire/1" in text
    assert "| ❌ FAIL | 3. A's message shows up for B in the same room in real time |" in text
    assert text.count("| ✅ PASS |") == 8
    folded = text[text.index("<details>") :]
    assert "| FAIL | CHAT-001 | MUST | expected a \\| b; got &lt;nothing> |" in folded


def test_markdown_fits_a_pull_request_comment(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = {rid: "x" * 400 for rid in catalog()}
    assert len(markdown(run_of(failing))) <= MARKDOWN_LIMIT
    monkeypatch.setattr(summary_files, "MARKDOWN_LIMIT", 8000)
    text = markdown(run_of(failing))
    assert len(text) <= 8000 and text.endswith("more: see the full report (--html, --report-json).\n\n</details>\n")


def test_markdown_replaces_a_file_or_appends_to_the_step_summary(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n")
    write_markdown(run_of(), path, append=True)
    assert path.read_text().startswith("earlier step\n### roomwire check")
    write_markdown(run_of(), path)
    assert path.read_text().startswith("### roomwire check")


def test_the_badge_says_profile_and_items_held_in_their_colour() -> None:
    svg = ET.fromstring(badge(run_of()))
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["roomwire/1", "roomwire/1", "9/9", "9/9"]
    assert BADGE_COLOURS["pass"] in badge(run_of())
    assert BADGE_COLOURS["fail"] in badge(run_of({"UP-001": "no notice"}))
    assert BADGE_COLOURS["warn"] in badge(run_of({"CONN-005": "ws only"}))
    assert BADGE_COLOURS["not_judged"] in badge(run_of(skip="AI-007"))
    seed = ET.fromstring(badge(run_of({"UP-001": "x", "PRES-006": "y", "AI-006": "z"}, profile="seed")))
    assert [t.text for t in seed.iter("{http://www.w3.org/2000/svg}text")][2] == "6/9"
    assert float(seed.get("width", 0)) < float(svg.get("width", 0))  # "seed" is shorter than "roomwire/1"
    assert text_width("roomwire/1") > text_width("seed") > 0


@pytest.mark.timeout(120)
def test_roomwire_check_writes_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("## earlier\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with toy_in_thread() as url:
        code = main(
            ["check", url, "--only", "CHAT-001", "--markdown", str(summary), "--badge", str(tmp_path / "b.svg")]
        )
    assert code == 0
    assert summary.read_text().startswith("## earlier\n### roomwire check: roomwire/1 · 0/9")
    assert "0/9" in (tmp_path / "b.svg").read_text()
