"""The target's log, read once the run's other checks are done: SEC-003 and UP-008 forbid the key and upstream error
text in any log line, and only the log itself can show that.

Where it comes from:
- `--target-log PATH` (repeatable; pytest `--chat-target-log`): a file the target writes (`FileLog`). Only what
  it wrote during this run is judged: reading starts where the file ended when the run began (at its start again
  when it was truncated or replaced meanwhile, which the report says), and lines are numbered as in the file.
- the bundled targets: the suite starts them, so it keeps their log itself: a subprocess's stderr goes to a file
  (a `FileLog` too), a target served in the suite's own process has its records captured (`CapturedLog`).

Reading waits until the file has stopped growing for a moment (a log is often written a little after the event,
or buffered), at most `SETTLE_MAX_S`, and reads at most `MAX_READ_BYTES` of it (the report says when it stopped
there). A finding is reported by file and line number with an excerpt in which every secret the run watches is
masked (`LeakWatch.mask`): a report never carries the key.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

SETTLE_S = 0.5
SETTLE_MAX_S = 3.0
MAX_READ_BYTES = 64 * 1024 * 1024
EXCERPT_CHARS = 60


@dataclass(frozen=True)
class LogLine:
    number: int  # 1-based, as in the file
    text: str


@dataclass
class LogRead:
    """What one log held for this run, or why it could not be read (`unread`); `notes` qualify what was read."""

    name: str
    lines: list[LogLine] = field(default_factory=list)
    unread: str = ""
    notes: list[str] = field(default_factory=list)


class TargetLog(Protocol):
    """A log of the target's: `mark` at the start of a run, `read` what was written since."""

    name: str

    def mark(self) -> None: ...

    async def read(self) -> LogRead: ...


@dataclass
class FileLog:
    """A file the target writes its log to (see the module docstring)."""

    path: Path
    name: str = ""
    _start: tuple[int, int] | None = None  # (inode, size) when the run began

    def __post_init__(self) -> None:
        self.name = self.name or str(self.path)

    def mark(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            self._start = None  # not there yet: all of it will be this run's
            return
        self._start = (stat.st_ino, stat.st_size)

    async def read(self) -> LogRead:
        if not await _settled(self.path):
            return LogRead(self.name, unread=f"{self.path} does not exist (is it the file the target writes?)")
        return await asyncio.to_thread(self._read)

    def _read(self) -> LogRead:
        found = LogRead(self.name)
        try:
            with self.path.open("rb") as file:
                stat = os.fstat(file.fileno())
                offset = 0
                if self._start is not None:
                    inode, size = self._start
                    if stat.st_ino == inode and stat.st_size >= size:
                        offset = size
                    else:
                        found.notes.append("the file was replaced or truncated during the run: read from its start")
                before = _count_lines(file, offset)
                data = file.read(MAX_READ_BYTES + 1)
        except OSError as exc:
            return LogRead(self.name, unread=f"{self.path} could not be read: {exc.strerror or exc}")
        if len(data) > MAX_READ_BYTES:
            data = data[:MAX_READ_BYTES]
            found.notes.append(f"only the first {MAX_READ_BYTES // (1024 * 1024)} MiB written during the run were read")
        text = data.decode("utf-8", errors="replace")
        found.lines = [LogLine(before + n, line) for n, line in enumerate(text.splitlines(), 1)]
        return found


def _count_lines(file: BinaryIO, end: int) -> int:
    """Newlines in the first `end` bytes of an open binary file (left positioned at `end`)."""
    count, done = 0, 0
    file.seek(0)
    while done < end:
        block = file.read(min(1024 * 1024, end - done))
        if not block:
            break
        count += block.count(b"\n")
        done += len(block)
    file.seek(end)
    return count


async def _settled(path: Path, clock: Callable[[], float] = time.monotonic) -> bool:
    """Wait until `path` has kept its size for SETTLE_S (at most SETTLE_MAX_S); False when it does not exist."""
    deadline = clock() + SETTLE_MAX_S
    last = -1
    while True:
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except OSError:
            return False
        if size == last or clock() >= deadline:
            return True
        last = size
        await asyncio.sleep(SETTLE_S)


class _Lines(logging.Handler):
    def __init__(self, prefixes: tuple[str, ...], formatter: logging.Formatter, level: str, lines: list[str]) -> None:
        super().__init__(level)
        self.prefixes = prefixes
        self.setFormatter(formatter)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self.prefixes):
            self.lines.extend(self.format(record).splitlines() or [""])


class CapturedLog:
    """The records of a target served in the suite's own process, as lines (the loggers under `prefixes` only,
    at the target's log level), formatted by `formatter` as the target would write them."""

    def __init__(self, name: str, prefixes: Iterable[str], formatter: logging.Formatter, level: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self._handler = _Lines(tuple(prefixes), formatter, level, self.lines)
        self._start = 0

    def attach(self) -> None:
        logging.getLogger().addHandler(self._handler)

    def detach(self) -> None:
        logging.getLogger().removeHandler(self._handler)

    def mark(self) -> None:
        self._start = len(self.lines)

    async def read(self) -> LogRead:
        lines = self.lines[self._start :]
        return LogRead(self.name, [LogLine(self._start + n, text) for n, text in enumerate(lines, 1)])


@dataclass(frozen=True)
class Finding:
    """One log line that holds something it must not: `what` names it (never the secret itself)."""

    log: str
    line: LogLine
    what: str
    excerpt: str


def search(read: LogRead, needles: Mapping[str, str], mask: Callable[[str], str]) -> list[Finding]:
    """Every line of `read` holding a needle (what -> text), with an excerpt around it; `mask` hides the secrets the
    run watches, in the excerpt and in the needle alike (the excerpt is cut around the masked needle)."""
    found = []
    for line in read.lines:
        for what, needle in needles.items():
            if needle and needle in line.text:
                masked = mask(line.text)
                at = max(0, masked.find(mask(needle)))
                start = max(0, at - EXCERPT_CHARS)
                excerpt = ("…" if start else "") + masked[start : at + len(mask(needle)) + EXCERPT_CHARS]
                found.append(Finding(read.name, line, what, excerpt))
    return found


def describe(findings: list[Finding], limit: int = 3) -> str:
    """How many lines hold something, then for the first few: where, what (all of it) and an excerpt."""
    lines: dict[tuple[str, int], list[Finding]] = {}
    for found in findings:
        lines.setdefault((found.log, found.line.number), []).append(found)
    places = [
        f"{log} line {number} ({', '.join(f.what for f in found)}): {found[0].excerpt!r}"
        for (log, number), found in list(lines.items())[:limit]
    ]
    more = f"; and {len(lines) - limit} more line(s)" if len(lines) > limit else ""
    return f"{len(lines)} line(s): {'; '.join(places)}{more}"
