"""The target's log as the suite reads it: only this run's lines, numbered as in the file, searched with the key
masked in every excerpt; a log that cannot be read says why."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from roomwire.conformance import target_log
from roomwire.conformance.target_log import CapturedLog, FileLog, LogLine, LogRead, describe, search
from roomwire.conformance.transcript import LeakWatch

KEY = "AIzaCANARY-roomwire-test-0000000000000"  # FAKE canary


@pytest.fixture(autouse=True)
def quick_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(target_log, "SETTLE_S", 0.01)


def masker() -> LeakWatch:
    watch = LeakWatch()
    watch.watch("canary key", KEY)
    return watch


async def test_only_lines_written_during_the_run_are_read_and_numbered_as_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    path.write_text(f"old line with {KEY}\nsecond old line\n")
    log = FileLog(path)
    log.mark()
    with path.open("a") as file:
        file.write("new line\nanother new line\n")
    read = await log.read()
    assert [(line.number, line.text) for line in read.lines] == [(3, "new line"), (4, "another new line")]
    assert not read.unread and not read.notes and read.name == str(path)


async def test_a_log_truncated_during_the_run_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    path.write_text("a long line written before the run\n" * 3)
    log = FileLog(path, name="stderr")
    log.mark()
    path.write_text("rotated\n")
    read = await log.read()
    assert [line.text for line in read.lines] == ["rotated"] and read.lines[0].number == 1
    assert "replaced or truncated" in read.notes[0]


async def test_a_log_missing_at_the_start_is_read_whole_and_one_missing_at_the_end_is_unread(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    log = FileLog(path)
    log.mark()
    path.write_text("first\n")
    assert [line.number for line in (await log.read()).lines] == [1]
    path.unlink()
    read = await log.read()
    assert read.lines == [] and "does not exist" in read.unread


async def test_reading_stops_at_the_cap_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(target_log, "MAX_READ_BYTES", 10)
    path = tmp_path / "big.log"
    path.write_text("0123456789abcdef\n")
    read = await FileLog(path).read()
    assert [line.text for line in read.lines] == ["0123456789"] and "only the first" in read.notes[0]


async def test_a_captured_log_keeps_the_targets_loggers_at_its_level_only() -> None:
    captured = CapturedLog("target", ("roomwire.reference",), logging.Formatter("%(levelname)s %(message)s"), "WARNING")
    captured.attach()
    try:
        logging.getLogger("roomwire.reference.relay").warning("before the run")
        captured.mark()
        logging.getLogger("roomwire.reference.relay").warning("upstream said %s", "x")
        logging.getLogger("roomwire.reference.relay").info("below the level")
        logging.getLogger("roomwire.conformance.runner").warning("the suite's own")
    finally:
        captured.detach()
    logging.getLogger("roomwire.reference.relay").warning("after detaching")
    read = await captured.read()
    assert read.lines == [LogLine(2, "WARNING upstream said x")]


def test_findings_name_the_line_and_never_show_the_key() -> None:
    read = LogRead(
        "stderr",
        [
            LogLine(7, "fine"),
            LogLine(8, f"ERROR upstream: Consumer 'api_key:{KEY}' has been suspended. " + "x" * 200),
            LogLine(9, f"DebugInfo Invalid API key: {KEY}"),
        ],
    )
    watch = masker()
    keys = search(read, {"the canary key": KEY}, watch.mask)
    assert [f.line.number for f in keys] == [8, 9]
    text = describe(keys)
    assert text.startswith("2 line(s): stderr line 8 (the canary key)") and "line 9" in text
    assert KEY not in text and KEY[:20] not in text and "«canary key»" in text
    phrases = search(read, {"'has been suspended'": "has been suspended", "'api_key'": "api_key"}, watch.mask)
    assert describe(phrases).startswith("1 line(s): stderr line 8 ('has been suspended', 'api_key')")


def test_describe_says_how_many_more_lines() -> None:
    read = LogRead("log", [LogLine(n, "has been suspended") for n in range(1, 6)])
    found = search(read, {"it": "has been suspended"}, lambda text: text)
    assert describe(found, limit=2).endswith("; and 3 more line(s)")
