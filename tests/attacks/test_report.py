"""roomwire.attacks.report: one verdict from several findings, the text and the JSON."""

from __future__ import annotations

import json
from pathlib import Path

from roomwire.attacks.report import AttackReport, Verdict, write_json


def report(*verdicts: Verdict) -> AttackReport:
    made = AttackReport("nesting", "ws://127.0.0.1:1/api/v1/ws/chat/{room_id}")
    for n, verdict in enumerate(verdicts):
        made.judge(verdict, f"part {n}")
    return made


def test_the_verdict_is_the_worst_part_and_held_only_when_every_part_held() -> None:
    assert report(Verdict.HELD, Verdict.HELD).verdict is Verdict.HELD
    assert report(Verdict.HELD, Verdict.INCONCLUSIVE).verdict is Verdict.INCONCLUSIVE
    assert report(Verdict.INCONCLUSIVE, Verdict.HURT).verdict is Verdict.HURT
    assert report().verdict is Verdict.INCONCLUSIVE  # nothing judged is no pass
    assert [v.exit_code for v in Verdict] == [0, 1, 3]


def test_the_text_says_what_was_done_seen_and_concluded() -> None:
    made = report(Verdict.HURT)
    made.did("sent things")
    made.saw("it broke")
    made.figures["frames"] = 3
    text = made.render()
    assert "did:\n  - sent things" in text and "saw:\n  - it broke" in text and "frames  3" in text
    assert text.endswith("HURT: nesting")


def test_json_holds_one_report_or_several_with_the_worst_verdict(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    write_json([report(Verdict.HELD)], one)
    data = json.loads(one.read_text())
    assert data["verdict"] == "held" and data["attack"] == "nesting" and data["findings"][0]["what"] == "part 0"
    many = tmp_path / "many.json"
    write_json([report(Verdict.HELD), report(Verdict.INCONCLUSIVE), report(Verdict.HELD)], many)
    assert json.loads(many.read_text())["verdict"] == "inconclusive"
    write_json([report(Verdict.INCONCLUSIVE), report(Verdict.HURT)], many)
    assert json.loads(many.read_text())["verdict"] == "hurt"
