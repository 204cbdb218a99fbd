from __future__ import annotations

import pytest

from roomwire.gemini_double import error_bodies
from roomwire.gemini_double.keys import FAKE_API_KEY
from roomwire.gemini_double.shapes import error_problems

from .helpers import as_json

ALL = [
    error_bodies.rate_limited("gemini-2.5-flash", 10, 58.217843437),
    error_bodies.invalid_key(),
    error_bodies.missing_key(),
    error_bodies.key_echo(FAKE_API_KEY),
    error_bodies.internal(),
    error_bodies.unavailable(),
    error_bodies.model_not_found("gemini-x", "v1", "generateContent"),
    error_bodies.method_not_found(),
    error_bodies.bad_json("{x", 1),
    error_bodies.unknown_field("foo"),
    error_bodies.unknown_field("ref", "tools[0]"),
    error_bodies.invalid_argument("* GenerateContentRequest.contents: contents is not specified\n"),
    error_bodies.body_too_large(10),
    error_bodies.by_code(429),
    error_bodies.by_code(500),
    error_bodies.by_code(503),
    error_bodies.by_code(504),
    error_bodies.by_code(418),
]


@pytest.mark.parametrize("reply", ALL, ids=lambda r: f"{r.status}-{r.google_status}")
def test_every_body_has_googles_envelope(reply: error_bodies.ErrorReply) -> None:
    assert error_problems(reply.body, reply.status) == []


def test_429_matches_the_current_real_form() -> None:
    reply = error_bodies.rate_limited("gemini-2.5-flash", 10, 58.217843437)
    error = as_json(reply.body["error"])
    assert error["message"].endswith("limit: 10, model: gemini-2.5-flash\nPlease retry in 58.217843437s.")
    types = [d["@type"].rsplit(".", 1)[-1] for d in error["details"]]
    assert types == ["Help", "QuotaFailure", "RetryInfo"] and error["details"][2]["retryDelay"] == "58s"
    assert reply.headers == ()
    assert error_bodies.rate_limited("m", 1, 0.2, retry_after_header=True).headers == (("retry-after", "1"),)
    assert error_bodies.rate_limited("m", 1, 2.5, retry_after_header=True).headers == (("retry-after", "3"),)


def test_key_echo_contains_the_key_like_the_real_consumer_suspended() -> None:
    reply = error_bodies.key_echo(FAKE_API_KEY)
    assert f"Consumer 'api_key:{FAKE_API_KEY}' has been suspended." in str(reply.body)
    assert reply.status == 403 and reply.google_status == "PERMISSION_DENIED"


def test_format_seconds() -> None:
    assert error_bodies.format_seconds(58.217843437) == "58.217843437"
    assert error_bodies.format_seconds(30.0) == "30" and error_bodies.format_seconds(-1) == "0"
    assert error_bodies.format_seconds(0.0) == "0"
