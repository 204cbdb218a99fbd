"""What the server writes to stderr: one line per record, nothing forged, nothing flooded, no key (SEC-003, SEC-008).

`configure(level)` (called by `roomwire serve`) puts one handler on the root logger, so every record of the
process (ours, Hypercorn's, asyncio's, google-genai's) takes the same path:

- records are redacted when they are made (`redaction.install`): a key never reaches a handler;
- `OneLineFormatter` writes each record as exactly one line. Control characters (C0, DEL, C1, the Unicode line
  and paragraph separators, bidirectional overrides) are escaped (`\\n`, `\\x1b`, `\\u2028`), so text a client or
  upstream put into a message cannot start a line of its own or rewrite one on a terminal. An exception is its
  one-line summary (`RecursionError: ... (at validate.py:88 in _walk)`); its traceback only at DEBUG, escaped onto
  the same line. A line longer than `MAX_LINE` characters is cut, saying how much was cut;
- `RepeatLimiter` lets `burst` records per call site through per `window_s` seconds and counts the others; once
  the window is over, the handler writes one line saying how many were suppressed (and at exit, for what is
  still counted). A client that makes one error path fire 10,000 times a second costs ten lines a minute;
- Python warnings (`warnings.warn`: google-genai's "X is not a valid FinishReason" puts upstream text in one)
  become records of the `py.warnings` logger, so they are redacted, escaped and limited too; google-genai's are
  shown every time rather than remembered per distinct text (the "default" action keeps every text it has
  shown, which an upstream that varies its text makes grow without end);
- exceptions nobody caught (the main thread, other threads, "unraisable" ones in finalizers) become records
  instead of raw text on stderr.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import IO

from roomwire.reference import redaction

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_LINE = 8192
BURST = 10
WINDOW_S = 60.0
#: Call sites remembered by the limiter; the least recently seen is forgotten first.
MAX_SITES = 1024

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

log = logging.getLogger(__name__)


def escape(text: str) -> str:
    """`text` with every character that could end, start or rewrite a line written as an escape."""
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


class OneLineFormatter(logging.Formatter):
    """One line per record (module docstring); `tracebacks` adds the escaped traceback of an exception."""

    def __init__(self, *, tracebacks: bool = False, max_line: int = MAX_LINE) -> None:
        super().__init__(FORMAT)
        self.tracebacks = tracebacks
        self.max_line = max_line

    def format(self, record: logging.LogRecord) -> str:
        redaction.redact_record(record)  # a record made before `install()`: render and redact it now
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        summary = getattr(record, "exc_summary", None) or _last_line(record.exc_text)
        if summary:
            line += f" | {summary}"
        if self.tracebacks and record.exc_text:
            line += f" | {record.exc_text}"
        if self.tracebacks and record.stack_info:
            line += f" | {record.stack_info}"
        line = escape(line)
        if len(line) > self.max_line:
            line = f"{line[: self.max_line]}...[{len(line) - self.max_line} more characters cut]"
        return line


def _last_line(text: str | None) -> str:
    return text.rstrip().rsplit("\n", 1)[-1] if text else ""


@dataclass
class _Site:
    """One call site's current window."""

    start: float
    passed: int = 0
    suppressed: int = 0
    sample: str = ""


class RepeatLimiter(logging.Filter):
    """At most `burst` records per call site (logger, level, file, line) per `window_s` seconds (SEC-008)."""

    def __init__(
        self,
        *,
        burst: int = BURST,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        max_sites: int = MAX_SITES,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window_s = window_s
        self.clock = clock
        self.max_sites = max_sites
        self._sites: dict[tuple[str, int, str, int], _Site] = {}
        self._owed: dict[tuple[str, int, str, int], _Site] = {}  # sites with a suppressed count not yet reported
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.pathname, record.lineno)
        now = self.clock()
        with self._lock:
            site = self._sites.pop(key, None)  # re-inserted last: the dict is ordered by last use
            if site is None:
                site = _Site(start=now)
            elif now - site.start >= self.window_s:  # a new window (an unreported count stays owed)
                site.start, site.passed = now, 0
            self._sites[key] = site
            if len(self._sites) > self.max_sites:
                del self._sites[next(iter(self._sites))]
            if site.passed < self.burst:
                site.passed += 1
                return True
            if not site.suppressed:
                site.sample = f"{record.name}: {str(record.msg)[:120]}"
                self._owed[key] = site
            site.suppressed += 1
            return False

    def due(self, *, everything: bool = False) -> list[tuple[int, str]]:
        """(count, sample) of every suppressed count whose window is over (all of them, with `everything`).

        Only sites that owe a report are looked at, so a flood of one site costs no scan of the others.
        """
        if not self._owed:
            return []
        now = self.clock()
        reports: list[tuple[int, str]] = []
        with self._lock:
            for key, site in list(self._owed.items()):
                if everything or now - site.start >= self.window_s:
                    reports.append((site.suppressed, site.sample))
                    site.suppressed, site.sample = 0, ""
                    del self._owed[key]
        return reports


class OneLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes what its `RepeatLimiter` suppressed when a window is over, and at close."""

    def __init__(self, stream: IO[str] | None = None, *, limiter: RepeatLimiter | None = None) -> None:
        super().__init__(stream)
        self.limiter = limiter if limiter is not None else RepeatLimiter()
        self.addFilter(redaction.RedactingFilter())
        self.addFilter(self.limiter)

    def handle(self, record: logging.LogRecord) -> bool:
        reports = self.limiter.due()
        if reports:
            self.acquire()
            try:
                self._report(reports)
            finally:
                self.release()
        return bool(super().handle(record))

    def close(self) -> None:
        self.acquire()
        try:
            self._report(self.limiter.due(everything=True))
        finally:
            self.release()
        super().close()

    def _report(self, reports: list[tuple[int, str]]) -> None:
        limit = f"{self.limiter.burst} per {self.limiter.window_s:g} s"
        for count, sample in reports:
            text = f"suppressed {count} records like [{sample}] (at most {limit} from one place are written)"
            summary = logging.LogRecord(__name__, logging.WARNING, __file__, 0, text, None, None)
            super().emit(summary)


def configure(level: str, stream: IO[str] | None = None) -> OneLineHandler:
    """Route everything the process writes through one redacting, escaping, limited handler (module docstring)."""
    handler = OneLineHandler(stream)
    handler.setFormatter(OneLineFormatter(tracebacks=level == "DEBUG"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    redaction.install()
    route_warnings()
    route_uncaught()
    return handler


def route_warnings() -> None:
    """Python warnings become log records (redacted, escaped, limited); google-genai's are not remembered."""
    logging.captureWarnings(True)
    warnings.filterwarnings("always", module=r"google\.genai")


def route_uncaught() -> None:
    """Uncaught exceptions of any thread, and unraisable ones, become one record each instead of stderr text."""
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread
    sys.unraisablehook = _unraisable


def _uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    log.critical("uncaught exception", exc_info=(kind, value, tb))


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "?"
    log.error("uncaught exception in thread %s", name, exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    thing = unraisable.object
    where = getattr(thing, "__qualname__", type(thing).__name__) if thing is not None else "?"
    value = unraisable.exc_value
    info = (unraisable.exc_type, value, unraisable.exc_traceback) if value is not None else None
    log.warning("unraisable exception in %s", where, exc_info=info)
