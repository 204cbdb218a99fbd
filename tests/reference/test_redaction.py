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


CANARY = "AIzaCANARY-roomwire-FAKE-test-key-00013"  # FAKE test key, a canary of Google's shape
PLAIN_CANARY = "roomwire-canary-FAKE-test-secret-13"  # FAKE test key of no known shape


def scrub(pieces: list[str]) -> list[str]:
    scrubber = redaction.AnswerScrubber()
    out = [scrubber.feed(piece) for piece in pieces]
    return [*out, scrubber.flush()]


@pytest.mark.parametrize("secret", [CANARY, PLAIN_CANARY])
def test_a_key_split_anywhere_across_chunks_never_passes(secret: str) -> None:
    redaction.register_secret(secret)
    try:
        answer = f"Here it is: {secret} (keep it safe)."
        for cut in range(1, len(answer)):
            for second in (cut + 3, cut + 17):
                pieces = [answer[:cut], answer[cut:second], answer[second:]]
                out = scrub(pieces)
                joined = "".join(out)
                assert joined == "Here it is: [REDACTED] (keep it safe).", (pieces, out)
                assert all(secret[:8] not in piece for piece in out)
    finally:
        redaction.unregister_secret(secret)


def test_text_that_only_looks_like_a_key_start_is_held_then_sent() -> None:
    assert scrub(["OPERA", "TION done"]) == ["OPER", "ATION done", ""]  # "A" might have begun a key
    assert scrub(["an AIz", "ure sky"]) == ["an ", "AIzure sky", ""]
    assert scrub(["ends with A"]) == ["ends with ", "A"]  # a short tail at the end is text
    assert scrub(["cut at AIzaSyD"]) == ["cut at ", "[REDACTED]"]  # a key's start at the end is masked
    assert scrub(["", "plain"]) == ["", "plain", ""]
