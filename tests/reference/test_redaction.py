"""Redaction: every log record, however made, loses key-shaped text and registered secrets (SEC-003)."""

from __future__ import annotations

import logging

import pytest

from roomwire.reference import redaction

SHAPED = "AIza" + "x" * 35  # FAKE test key of Google's shape


def test_redact_masks_google_shaped_keys_and_registered_secrets() -> None:
    redaction.register_secret("s3cret-FAKE-test")
    try:
        assert redaction.redact(f"a {SHAPED} b s3cret-FAKE-test c") == "a [REDACTED] b [REDACTED] c"
        redaction.register_secret("s3cret-FAKE-test")  # two apps, one key
        redaction.unregister_secret("s3cret-FAKE-test")
        assert "s3cret" not in redaction.redact("s3cret-FAKE-test")
    finally:
        redaction.unregister_secret("s3cret-FAKE-test")
    assert redaction.redact("s3cret-FAKE-test") == "s3cret-FAKE-test"
    redaction.register_secret("")  # nothing to mask
    assert redaction.redact("plain") == "plain"


def test_the_filter_renders_and_redacts_messages_exceptions_and_stacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s", (SHAPED,), None, None, f"stack {SHAPED}")
    assert redaction.RedactingFilter().filter(record)
    assert record.getMessage() == "key [REDACTED]" and record.args is None
    assert record.stack_info == "stack [REDACTED]"
    try:
        raise ValueError(SHAPED)
    except ValueError as exc:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, (type(exc), exc, exc.__traceback__))
    redaction.redact_record(failed)
    assert failed.exc_info is None and failed.exc_text is not None and SHAPED not in failed.exc_text
    cached = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None)
    cached.exc_text = SHAPED
    redaction.redact_record(cached)
    assert cached.exc_text == "[REDACTED]"


def test_a_malformed_call_keeps_the_template() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "two %s %s", ("one",), None)
    redaction.redact_record(record)
    assert record.msg == "two %s %s"


def test_install_covers_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    redaction.install()
    redaction.install()  # idempotent
    logging.getLogger("any.library.at.all").warning("upstream said %s", SHAPED)
    assert SHAPED not in caplog.text and "[REDACTED]" in caplog.text
