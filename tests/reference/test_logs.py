"""Log lines nobody can forge, flood or fill with a key: one line per record, escaped, limited (logs.py, SEC-008)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from roomwire.gemini_double import AsyncDoubleControl
from roomwire.reference import logs, redaction
from tests.reference.helpers import Client, double_server
from tests.reference.test_cli import serve_process
from tests.support.timing import UNIT

CANARY = "AIzaCANARY-roomwire-FAKE-test-key-00005"  # FAKE test key, a canary
FORGED = "\n2026-01-01 00:00:00,000 ERROR roomwire.reference: forged by upstream"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, lineno: int = 1, exc: BaseException | None = None) -> logging.LogRecord:
    info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("roomwire.test", logging.ERROR, "/x/connection.py", lineno, msg, args, info)


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_escape_turns_every_line_breaking_or_terminal_character_into_text() -> None:
    assert logs.escape("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert logs.escape("\x1b[31mred\x00\x7f\x85") == "\\x1b[31mred\\x00\\x7f\\x85"
    assert logs.escape("x\u2028y\u2029z\u202eq") == "x\\u2028y\\u2029z\\u202eq"
    assert logs.escape("채팅 plain text 123 \\n") == "채팅 plain text 123 \\n"


def test_a_record_is_one_line_whatever_its_message_and_exception_hold() -> None:
    formatter = logs.OneLineFormatter()
    line = formatter.format(record("upstream said %s", FORGED))
    assert "\n" not in line and LINE.match(line) and "\\n2026-01-01" in line
    failed = record("handling a frame failed", exc=raised(ValueError(f"bad\n{CANARY}")))
    line = formatter.format(failed)
    assert "\n" not in line and "Traceback" not in line and CANARY not in line  # no traceback below DEBUG
    assert re.search(r"\| ValueError: bad\\n\[REDACTED\] \(at test_logs\.py:\d+ in raised\)$", line), line
    verbose = logs.OneLineFormatter(tracebacks=True).format(record("m", exc=raised(KeyError("k"))))
    assert "\n" not in verbose and "Traceback (most recent call last):\\n" in verbose
    long = logs.OneLineFormatter(max_line=100).format(record("x" * 500))
    assert len(long) < 140 and long.endswith("more characters cut]")


def test_repeats_from_one_place_are_limited_and_counted() -> None:
    clock, stream = Clock(), io.StringIO()
    handler = logs.OneLineHandler(stream, limiter=logs.RepeatLimiter(burst=3, window_s=60, clock=clock))
    handler.setFormatter(logs.OneLineFormatter())
    for i in range(1000):
        handler.handle(record("flood %d", i, lineno=7))
    handler.handle(record("another place", lineno=8))
    assert len(stream.getvalue().splitlines()) == 4  # three of the flood, the other place
    clock.now += 61
    handler.handle(record("flood again", lineno=7))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6 and "suppressed 997 records like [roomwire.test: flood 3]" in lines[4]
    assert "flood again" in lines[5] and all(LINE.match(line) for line in lines)
    for _ in range(5):
        handler.handle(record("flood", lineno=7))
    handler.close()  # what is still owed is reported at exit
    assert "suppressed 3 records" in stream.getvalue().splitlines()[-1]


def test_the_limiter_forgets_the_least_recently_seen_place_first() -> None:
    limiter = logs.RepeatLimiter(burst=1, max_sites=2, clock=Clock())
    assert limiter.filter(record("a", lineno=1)) and limiter.filter(record("b", lineno=2))
    assert not limiter.filter(record("a", lineno=1))
    assert limiter.filter(record("c", lineno=3))  # place 2 is forgotten, place 1 was seen last
    assert limiter.filter(record("b", lineno=2)) and limiter.due(everything=True) == [(1, "roomwire.test: a")]


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """`logs.configure` on a stream, with every global it touches put back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, sys.excepthook, threading.excepthook, sys.unraisablehook)
    stream = io.StringIO()
    redaction.register_secret(CANARY)
    with warnings.catch_warnings():
        logs.configure("INFO", stream)
        try:
            yield stream
        finally:
            logging.captureWarnings(False)
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
            sys.excepthook, threading.excepthook, sys.unraisablehook = saved[2:]
            redaction.unregister_secret(CANARY)


def test_warnings_go_through_the_same_redaction_escaping_and_limit(configured: io.StringIO) -> None:
    for _ in range(20):  # google-genai's enum warning carries upstream text
        warnings.warn_explicit(
            f"{CANARY}{FORGED} is not a valid FinishReason", UserWarning, "_common.py", 707, "google.genai._common"
        )
    lines = configured.getvalue().splitlines()
    assert 1 <= len(lines) <= logs.BURST and all(LINE.match(line) for line in lines)
    assert CANARY not in configured.getvalue() and "[REDACTED]\\n2026-01-01" in lines[0]
    assert " WARNING py.warnings: " in lines[0]


def test_uncaught_exceptions_anywhere_become_one_line(configured: io.StringIO) -> None:
    sys.excepthook(ValueError, ValueError(f"main {CANARY}\nforged"), None)
    thread = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError(f"thread {FORGED}")), name="t1")
    thread.start()
    thread.join()

    class Finalizer:
        def __del__(self) -> None:
            raise OSError("in a finalizer")

    Finalizer()
    lines = configured.getvalue().splitlines()
    assert [line.split(": ", 1)[0].split(" ", 2)[2] for line in lines] == [
        "CRITICAL roomwire.reference.logs", "ERROR roomwire.reference.logs", "WARNING roomwire.reference.logs"
    ]  # fmt: skip
    assert "uncaught exception | ValueError: main [REDACTED]\\nforged" in lines[0]
    assert (
        "in thread t1 | RuntimeError: thread \\n2026" in lines[1]
        and "in test_uncaught_exceptions_anywhere_become_one_line.<locals>.Finalizer.__del__ | OSError" in lines[2]
    )
    assert CANARY not in configured.getvalue() and "Traceback" not in configured.getvalue()


def sse(*events: dict[str, object]) -> str:
    return "".join(f"data: {json.dumps(event)}\r\n\r\n" for event in events)


def text_event(text: str, finish: str | None = None) -> dict[str, object]:
    candidate: dict[str, object] = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "modelVersion": "gemini-2.5-flash", "responseId": "hostile"}


@pytest.mark.parametrize("ai_worker", ["inline", "process"])
async def test_a_hostile_upstream_reaches_no_frame_line_or_stderr_with_the_key_or_a_forged_line(
    tmp_path: Path, ai_worker: str
) -> None:
    """Issue 13 finding 5, end to end: `roomwire serve` on the real SDK, a canary key, a hostile double; with the
    SDK in a worker process, the SDK's warnings are that process's log lines, held to the same rules."""
    (tmp_path / ".env").write_text(f"GEMINI_API_KEY={CANARY}\n")
    split = sse(text_event("Your key is AIzaCANARY-roomwire-"), text_event("FAKE-test-key-00005, keep it.", "STOP"))
    forged = sse(text_event("fine", f"{CANARY}{FORGED}"))  # the SDK warns "<finishReason> is not a valid ..."
    blocked = sse({"promptFeedback": {"blockReason": f"{CANARY}{FORGED}"}, "modelVersion": "gemini-2.5-flash"})
    async with double_server(latency="fast") as double, AsyncDoubleControl(double.base_url) as control:
        await control.queue_fault("replay", match="split", body=split)
        await control.queue_fault("replay", match="forge", body=forged, count=3)
        await control.queue_fault("replay", match="block", body=blocked)
        await control.queue_fault("key_echo", match="echo")
        args = ("--gemini", "real", "--gemini-base-url", double.base_url, "--ai-worker", ai_worker)
        async with serve_process(*args, cwd=tmp_path) as (process, url):
            async with Client.connect(url.replace("{room_id}", "r")) as asker:
                await asker.welcome()
                answers = {}
                for n, question in enumerate(
                    ["split", "forge", "forge", "forge", "block", "echo", f"[[echo]] {CANARY}"]
                ):
                    await asker.ask(question, id=f"q{n}")
                    answers[question] = await asker.answer(f"q{n}")
                chunks = [f["content"] for f in asker.frames if f["type"] == "ai_chunk"]
                received = json.dumps(asker.frames)
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), UNIT * 3) == 0
            assert process.stderr is not None
            stderr = (await process.stderr.read()).decode()
    assert answers["split"]["status"] == "ok" and "Your key is [REDACTED], keep it." in "".join(chunks)
    assert answers["block"]["status"] == "blocked" and answers["echo"]["status"] == "error"
    assert CANARY not in received and "[REDACTED]" in received  # SEC-003: not in an ai_chunk either
    assert CANARY not in stderr and "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert all(LINE.match(line) for line in lines), stderr  # no line of upstream's making
    assert "is not a valid FinishReason" in stderr and "\\n2026-01-01 00:00:00,000 ERROR" in stderr
