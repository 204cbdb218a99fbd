"""The judgments of checks/exposure.py: the page's policy headers (SEC-009) and the split-key answer (SEC-003)."""

from __future__ import annotations

import json

import httpx
import pytest

from roomwire.conformance.checks.exposure import policy_problems, split_key_answer

GOOD = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self' https://game.example",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def problems(**changes: str | None) -> list[str]:
    headers = {**GOOD, **{k.replace("_", "-"): v for k, v in changes.items()}}
    return policy_problems(httpx.Headers({k: v for k, v in headers.items() if v is not None}))


def test_a_complete_policy_has_no_problem() -> None:
    assert problems() == []
    assert problems(**{"Content-Security-Policy": "frame-ancestors 'none'"}) == []
    assert problems(**{"Referrer-Policy": "unsafe-url, strict-origin-when-cross-origin"}) == []  # the last one known


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"Content-Security-Policy": None}, "no Content-Security-Policy header"),
        ({"Content-Security-Policy": "default-src 'self'"}, "without frame-ancestors"),
        ({"Content-Security-Policy": "frame-ancestors *"}, "lets any site frame"),
        ({"Content-Security-Policy": "frame-ancestors https:"}, "lets any site frame"),
        ({"Content-Security-Policy": "frame-ancestors"}, "lets any site frame"),  # empty: no restriction
        ({"X-Content-Type-Options": None}, "not 'nosniff'"),
        ({"Referrer-Policy": None}, "Referrer-Policy None"),
        ({"Referrer-Policy": "unsafe-url"}, "Referrer-Policy 'unsafe-url'"),
    ],
)
def test_each_missing_or_too_wide_header_is_named(changes: dict[str, str | None], phrase: str) -> None:
    found = problems(**changes)
    assert len(found) == 1 and phrase in found[0], found


def test_the_split_key_answer_holds_the_key_only_across_its_two_chunks() -> None:
    canary = "AIzaCANARY-roomwire-FAKE-test-key-00042"  # FAKE test key
    events = [json.loads(part.removeprefix("data: ")) for part in split_key_answer(canary).split("\r\n\r\n") if part]
    texts = [event["candidates"][0]["content"]["parts"][0]["text"] for event in events]
    assert len(texts) == 2 and all(canary not in text for text in texts) and canary in "".join(texts)
    assert events[-1]["candidates"][0]["finishReason"] == "STOP" and "finishReason" not in events[0]["candidates"][0]
