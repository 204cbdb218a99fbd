"""Class 5: judged from the server's log (a file handler on the in-process server's loggers): held against the
reference, caught against a server that logs client text as it came."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from roomwire.attacks import logs
from roomwire.attacks.report import Verdict
from roomwire.reference.connection import Connection
from roomwire.spec.codes import ErrorCode
from tests.attacks.conftest import target_of
from tests.reference.helpers import serving


class LogsClientText(Connection):
    """Logs every bad frame's text as it came: newlines and all (what issue 13 warns against)."""

    def handle_bad_frame(self, code: ErrorCode, frame: dict[str, Any] | None) -> None:
        text = " ".join(str(value) for value in (frame or {}).values())  # str() of a dict would escape the newline
        logging.getLogger("roomwire.reference").warning("bad frame: %s", text)
        super().handle_bad_frame(code, frame)


@contextmanager
def log_file(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


async def test_without_the_log_the_verdict_is_inconclusive() -> None:
    async with serving() as server:
        report = await logs.run(target_of(server))
    assert report.verdict is Verdict.INCONCLUSIVE and "--server-log" in report.render()


async def test_the_reference_writes_no_forged_line_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    with log_file(path):
        async with serving() as server:
            report = await logs.run(target_of(server, server_log=path))
    assert report.figures["forged_lines"] == 0 and report.figures["tracebacks"] == 0, report.render()
    assert report.figures["log_lines_written"] < report.figures["bad_frames_sent"]


async def test_a_server_that_logs_client_text_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "server.log"
    with log_file(path):
        async with serving(connection_class=LogsClientText) as server:
            report = await logs.run(target_of(server, server_log=path))
    assert report.verdict is Verdict.HURT and report.figures["forged_lines"] > 0, report.render()


def test_the_upstream_answer_is_one_sse_event_with_the_key_and_a_forged_finish_reason() -> None:
    body = logs.upstream_body("t0k", "AIzaCANARY-roomwire-FAKE-test-key-00013")
    assert body.startswith("data: {") and body.endswith("\r\n\r\n") and body.count("data:") == 1
    assert "FAKE-test-key" in body and "FORGED-t0k" in body


def test_a_forged_line_is_one_the_attackers_newline_starts_not_one_that_quotes_it_escaped() -> None:
    forged = logs.forged_line("t0k")
    raw = ["2026-12-07 02:29:24,341 WARNING py.warnings: UserWarning: STOP", forged, "  warnings.warn(...)"]
    escaped = [f"2026-12-07 02:29:24,341 WARNING py.warnings: UserWarning: STOP\\n{forged} is not a valid Reason"]
    assert logs.forged_lines(raw, "t0k") == [forged]
    assert logs.forged_lines(escaped, "t0k") == []
    assert logs.forged_lines(raw, "other") == []
