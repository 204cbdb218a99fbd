"""Keep API keys out of every log record of the process and out of AI answers (SEC-003, UP-008).

The server never logs upstream text on purpose; this is the backstop for what it does not control (a library
that logs a response, an exception message echoing a key, a model that writes a key into its answer). Two shapes
are masked: anything that looks like a Google API key (`AIza` + 35 characters) and the exact values of the keys
registered by running apps.

`install()` wraps the process's log-record factory, so a record is clean from the moment it exists, whichever
logger made it and whichever handler (including pytest's caplog) receives it. `RedactingFilter` does the same
for a handler or logger a caller attaches it to. A record's exception is rendered then too, as text, with a
one-line summary beside it (`exc_summary`) for handlers that write one line per record (logs.py).

`AnswerScrubber` masks keys in a stream of text pieces (an AI answer's chunks), also when upstream splits a key
across two chunks: it holds back a chunk's tail that could be the start of a key until the next chunk shows
whether it is one.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

GOOGLE_KEY = re.compile(r"AIza[0-9A-Za-z_-]{35}")
#: A proper prefix of a Google-shaped key (what may continue in the next chunk).
_GOOGLE_PREFIX = re.compile(r"A(?:I(?:z(?:a[0-9A-Za-z_-]{0,34})?)?)?")
_GOOGLE_LENGTH = 39
MASK = "[REDACTED]"

_lock = threading.Lock()
_secrets: Counter[str] = Counter()  # registered key values, counted so that two apps may share one
_pattern: re.Pattern[str] = GOOGLE_KEY
_previous_factory: Callable[..., logging.LogRecord] | None = None


def _rebuild() -> None:
    global _pattern
    values = sorted((re.escape(value) for value in _secrets if value), key=len, reverse=True)
    _pattern = re.compile("|".join([GOOGLE_KEY.pattern, *values]))


def register_secret(value: str) -> None:
    """Mask `value` in every record from now on (until `unregister_secret`)."""
    if not value:
        return
    with _lock:
        _secrets[value] += 1
        _rebuild()


def unregister_secret(value: str) -> None:
    with _lock:
        if _secrets[value] <= 1:
            del _secrets[value]
        else:
            _secrets[value] -= 1
        _rebuild()


def redact(text: str) -> str:
    """`text` with every key-shaped substring and every registered secret replaced by `[REDACTED]`."""
    return _pattern.sub(MASK, text)


def redact_record(record: logging.LogRecord) -> None:
    """Render the message and exception of `record` now, redacted, so no formatter can show the raw values."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: keep the template, drop the arguments
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        record.exc_summary = redact(describe_exception(record.exc_info[1]))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def describe_exception(exc: BaseException | None) -> str:
    """`Type: message (at file.py:LINE in function)`: an exception in one line, where it was raised."""
    if exc is None:
        return "None"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if frames:
        last = frames[-1]
        text += f" (at {last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name})"
    return text


class RedactingFilter(logging.Filter):
    """A filter that redacts every record it sees and lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    record = _previous_factory(*args, **kwargs)
    redact_record(record)
    return record


def install(secrets: Iterable[str] = ()) -> None:
    """Redact every record created in this process from now on (idempotent), and register `secrets`."""
    global _previous_factory
    with _lock:
        if _previous_factory is None:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_factory)
    for value in secrets:
        register_secret(value)


def _held_from(text: str) -> int:
    """Where the longest tail of `text` that could be the start of a key begins (`len(text)`: no such tail)."""
    with _lock:
        secrets = [value for value in _secrets if value]
    window = max([_GOOGLE_LENGTH, *(len(value) for value in secrets)]) - 1
    firsts = {"A", *(value[0] for value in secrets)}
    for start in range(max(0, len(text) - window), len(text)):
        if text[start] not in firsts:
            continue
        tail = text[start:]
        if _GOOGLE_PREFIX.fullmatch(tail) or any(len(v) > len(tail) and v.startswith(tail) for v in secrets):
            return start
    return len(text)


def _looks_like_a_key_start(tail: str) -> bool:
    """A held tail at the end of an answer: masked when it is a key's first 4 characters or more."""
    with _lock:
        secrets = [value for value in _secrets if value]
    return len(tail) >= 4 and (tail.startswith("AIza") or any(v.startswith(tail) for v in secrets))


class AnswerScrubber:
    """Masks keys in a stream of text pieces, a key split across pieces included (SEC-003).

    `feed` returns what may be sent now (possibly ""); `flush` what is left at the end of the stream: a held tail
    that is a key's first four characters or more is masked, a shorter one ("A", "AI") is text.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        text = redact(self._held + piece)
        cut = _held_from(text)
        self._held = text[cut:]
        return text[:cut]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return MASK if _looks_like_a_key_start(held) else held
