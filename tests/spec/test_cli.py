"""`roomwire spec`: list, show, validate and check, with the exit codes of STYLE.md (0 ok, 1 failed, 2 usage)."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from roomwire.cli import main
from roomwire.spec import selfcheck
from roomwire.spec.requirements import catalog

Capture = pytest.CaptureFixture[str]


def test_spec_without_a_command_prints_its_help_and_is_a_usage_error(capsys: Capture) -> None:
    assert main(["spec"]) == 2
    assert "list" in capsys.readouterr().out


def test_list_groups_by_checklist_item(capsys: Capture) -> None:
    assert main(["spec", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Item 1: API key configured on the server")
    assert all(f"Item {n}:" in out for n in range(1, 10))
    assert "  SEC-001    MUST   " in out


def test_list_filters_by_level_and_item(capsys: Capture) -> None:
    assert main(["spec", "list", "--level", "may"]) == 0
    out = capsys.readouterr().out
    assert "LIMIT-004" in out and "RECON-004" in out and " MUST " not in out and "Item 1:" not in out
    assert main(["spec", "list", "--item", "5", "--level", "must"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "Item 5: Korean in, Korean out",
        f"  AI-007     MUST   {catalog()['AI-007'].text}",
    ]


def test_list_as_json(capsys: Capture) -> None:
    assert main(["spec", "list", "--json", "--item", "1"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["SEC-001", "SEC-002"]
    assert set(rows[0]) == {"id", "level", "items", "section", "text", "notes"}


def test_list_rejects_an_item_outside_1_to_9(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["spec", "list", "--item", "10"])
    assert exit_info.value.code == 2


def test_show_prints_a_requirement_with_its_notes_and_items(capsys: Capture) -> None:
    assert main(["spec", "show", "input-001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("INPUT-001 · MUST · section 3. Bad input")
    assert "Seed: the seed's `receive_json()` raises" in out and "  3. A's message shows up" in out
    assert main(["spec", "show", "CHAT-001"]) == 0
    assert "Seed:" not in capsys.readouterr().out


def test_show_of_an_unknown_id_is_a_usage_error_with_suggestions(capsys: Capture) -> None:
    assert main(["spec", "show", "INPUT-01"]) == 2
    assert "did you mean INPUT-001" in capsys.readouterr().err
    assert main(["spec", "show", "zzz"]) == 2
    assert "roomwire spec list shows them all" in capsys.readouterr().err


def test_validate_lines_from_a_file(tmp_path: Path, capsys: Capture) -> None:
    frames = tmp_path / "frames.jsonl"
    frames.write_bytes(
        b'{"type":"ping"}\r\n\n{"type":"user_msg","content":""}\nnot json\n{"type":"ping","id":"\xff"}\n'
    )
    assert main(["spec", "validate", str(frames)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "line 1: valid"
    assert out[1] == "line 3: INVALID INPUT-003, error bad_frame"
    assert out[2].startswith("    INPUT-003 at '/content': ")
    assert "line 4: INVALID INPUT-001, error bad_json" in out
    assert "line 5: INVALID INPUT-005, close 1007" in out
    assert out[-1] == "4 frame(s), 3 invalid"


def test_validate_a_whole_json_file_as_one_frame(tmp_path: Path, capsys: Capture) -> None:
    frame = tmp_path / "welcome.json"
    frame.write_text(json.dumps({"type": "system", "content": "철수가 퇴장했습니다."}, indent=2), encoding="utf-8")
    assert main(["spec", "validate", "--direction", "server", str(frame)]) == 0
    assert capsys.readouterr().out.splitlines() == ["frame: valid", "1 frame(s), 0 invalid"]


def test_validate_reads_standard_input_and_honours_the_frame_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"type":"user_msg","content":"' + b"x" * 100 + b'"}'))
    )
    assert main(["spec", "validate", "--max-frame-bytes", "50", "-"]) == 1
    assert "INVALID LIMIT-001, close 1009" in capsys.readouterr().out


def test_validate_usage_errors(tmp_path: Path, capsys: Capture) -> None:
    assert main(["spec", "validate", str(tmp_path / "missing.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n", encoding="utf-8")
    assert main(["spec", "validate", str(blank)]) == 2
    assert "no frames in" in capsys.readouterr().err


def test_check_passes_on_the_shipped_spec(capsys: Capture) -> None:
    assert main(["spec", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == ["ok    schemas", "ok    asyncapi", "ok    catalog", "ok    vocabulary", "ok    fixtures"]
    assert out[-1] == "spec check: 5 of 5 checks ok"


def test_check_fails_and_names_the_problem(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    monkeypatch.setitem(selfcheck.CHECKS, "catalog", lambda: ["§15 item 1: X-001 is not a requirement"])
    assert main(["spec", "check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  catalog\n        §15 item 1: X-001 is not a requirement" in out
    assert out.splitlines()[-1] == "spec check: 4 of 5 checks ok; failed: catalog"
