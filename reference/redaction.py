"""Keep API keys out of every log record of the process (SEC-003, UP-008).

The server never logs upstream text on purpose; this is the backstop for what it does not control (a library
that logs a response, an exception message echoing a key). Two shapes are masked: anything that looks like a
Google API key (`AIza` + 35 characters) and the exact values of the keys registered by running apps.

`install()` wraps the process's log-record factory, so a record is clean from the moment it exists, whichever
logger made it and whichever handler (including pytest's caplog) receives it. `RedactingFilter` does the same
for a handler or logger a caller attaches it to.
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
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


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
