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
    error_bodies.key_echo_2024(FAKE_API_KEY),
    error_bodies.invalid_key(debug_key=FAKE_API_KEY),
    error_bodies.rate_limited_help_only(),
    error_bodies.rate_limited_per_day("gemini-2.5-flash", 38.2),
    error_bodies.rate_limited_several("gemini-2.0-flash", 7.5),
    error_bodies.internal(),
    error_bodies.internal_encountered(),
    error_bodies.unavailable(),
    error_bodies.unavailable_high_demand(),
    error_bodies.unknown_fields([("a", None), ("b", "generation_config")]),
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


def test_429_variants() -> None:
    help_only = as_json(error_bodies.rate_limited_help_only().body["error"])
    assert [d["@type"].rsplit(".", 1)[-1] for d in help_only["details"]] == ["Help"]
    assert help_only["message"].endswith("https://ai.dev/rate-limit. ") and "retry" not in help_only["message"]
    day = as_json(error_bodies.rate_limited_per_day("gemini-2.5-flash", 38.2).body["error"])
    [violation] = day["details"][1]["violations"]
    assert (
        violation["quotaId"] == "GenerateRequestsPerDayPerProjectPerModel-FreeTier" and violation["quotaValue"] == "20"
    )
    several = as_json(error_bodies.rate_limited_several("gemini-2.0-flash", 7.5).body["error"])
    violations = several["details"][1]["violations"]
    assert len(violations) == 3 == several["message"].count("* Quota exceeded") and "quotaValue" not in violations[0]
    assert several["details"][2] == {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}


def test_unknown_fields_one_line_and_violation_each() -> None:
    error = as_json(error_bodies.unknown_fields([("a", None), ("b", "generation_config")]).body["error"])
    assert error["message"].split("\n") == [
        'Invalid JSON payload received. Unknown name "a": Cannot find field.',
        "Invalid JSON payload received. Unknown name \"b\" at 'generation_config': Cannot find field.",
    ]
    assert [v.get("field") for v in error["details"][0]["fieldViolations"]] == [None, "generation_config"]
